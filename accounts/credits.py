"""The credit ledger: every change to a workspace balance goes through here.

Each function runs in one transaction that writes a CreditEntry and moves the cached
`Workspace.credit_balance` with a conditional UPDATE, so concurrent holds can never
overspend: the UPDATE only matches while the balance covers the amount, and the
database check constraint backs it up.
"""

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from accounts.models import CreditEntry, EntryKind, Membership, Workspace, audit


class CreditError(Exception):
    """A change the ledger refuses; the message is shown to the person."""


class InsufficientCredits(CreditError):
    pass


class CapExceeded(CreditError):
    pass


def _move(workspace_id, amount, **entry):
    """Change the balance by `amount` and write its entry, inside the caller's transaction."""
    qs = Workspace.objects.filter(pk=workspace_id)
    if amount < 0:
        qs = qs.filter(credit_balance__gte=-amount)
    if not qs.update(credit_balance=F("credit_balance") + amount):
        balance = Workspace.objects.values_list("credit_balance", flat=True).get(pk=workspace_id)
        raise InsufficientCredits(
            f"This needs {-amount} credits and the workspace has {balance}."
        )
    balance = Workspace.objects.values_list("credit_balance", flat=True).get(pk=workspace_id)
    return CreditEntry.objects.create(
        workspace_id=workspace_id, amount=amount, balance_after=balance, **entry
    )


def _existing(idempotency_key):
    if idempotency_key is None:
        return None
    return CreditEntry.objects.filter(idempotency_key=idempotency_key).first()


def _once(idempotency_key, write):
    """Run `write` unless an entry with this key exists; a racing duplicate returns the winner's."""
    if (entry := _existing(idempotency_key)) is not None:
        return entry
    try:
        with transaction.atomic():
            return write()
    except IntegrityError:
        if (entry := _existing(idempotency_key)) is not None:
            return entry
        raise


def grant(workspace, amount, *, actor=None, note="", kind=EntryKind.GRANT, idempotency_key=None):
    if amount <= 0:
        raise CreditError("A grant must be a positive number of credits.")

    def write():
        entry = _move(
            workspace.pk, amount, kind=kind, actor=actor, note=note,
            idempotency_key=idempotency_key,
        )
        audit(workspace, actor, "credits.grant", workspace, amount=amount, note=note)
        return entry

    return _once(idempotency_key, write)


def adjust(workspace, amount, *, actor, reason, idempotency_key=None):
    """An operator's correction, up or down, always with a reason."""
    if not reason or not reason.strip():
        raise CreditError("An adjustment needs a reason.")
    if amount == 0:
        raise CreditError("An adjustment of zero credits changes nothing.")

    def write():
        entry = _move(
            workspace.pk, amount, kind=EntryKind.ADJUSTMENT, actor=actor, note=reason.strip(),
            idempotency_key=idempotency_key,
        )
        audit(workspace, actor, "credits.adjust", workspace, amount=amount, reason=reason)
        return entry

    return _once(idempotency_key, write)


def month_start(now=None):
    now = timezone.localtime(now or timezone.now())
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def member_spend_this_month(workspace, user):
    """Credits the member has held or been charged this calendar month (released holds excluded)."""
    total = (
        CreditEntry.objects.filter(
            workspace=workspace, member=user, kind=EntryKind.HOLD,
            created_at__gte=month_start(),
        )
        .exclude(settlement__kind=EntryKind.RELEASE)
        .aggregate(total=Sum("amount"))["total"]
    )
    return -(total or 0)


def hold(workspace, amount, *, member, job=None, idempotency_key, note=""):
    """Reserve credits for a job. The same idempotency key returns the first hold."""
    if amount <= 0:
        raise CreditError("A hold must be a positive number of credits.")

    def write():
        if not workspace.personal:
            # Lock the membership row so one member's concurrent holds check the cap in turn.
            membership = (
                Membership.objects.select_for_update()
                .filter(workspace=workspace, user=member)
                .first()
            )
            cap = membership.monthly_cap if membership else None
            if cap is not None:
                spent = member_spend_this_month(workspace, member)
                if spent + amount > cap:
                    raise CapExceeded(
                        f"This needs {amount} credits, and you have {max(cap - spent, 0)} left of "
                        f"your monthly cap of {cap} in this workspace. Ask a workspace admin to "
                        "raise it."
                    )
        return _move(
            workspace.pk, -amount, kind=EntryKind.HOLD, actor=member, member=member, job=job,
            idempotency_key=idempotency_key, note=note,
        )

    return _once(idempotency_key, write)


def _settle(hold_entry, kind, amount, note):
    if hold_entry.kind != EntryKind.HOLD:
        raise CreditError("Only a hold can be captured or released.")
    existing = CreditEntry.objects.filter(settles=hold_entry).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            entry = _move(
                hold_entry.workspace_id, amount, kind=kind, member=hold_entry.member,
                job_id=hold_entry.job_id, settles=hold_entry, note=note,
            )
            return entry, True
    except IntegrityError:
        # Another process settled this hold first; its entry stands.
        existing = CreditEntry.objects.filter(settles=hold_entry).first()
        if existing is None:
            raise
        return existing, False


def capture(hold_entry, note=""):
    """Turn a hold into a charge. Returns (entry, created); a second call changes nothing."""
    return _settle(hold_entry, EntryKind.CAPTURE, 0, note)


def release(hold_entry, note=""):
    """Give held credits back. Returns (entry, created); a second call changes nothing."""
    return _settle(hold_entry, EntryKind.RELEASE, -hold_entry.amount, note)


def ledger_sum(workspace):
    return workspace.credit_entries.aggregate(total=Sum("amount"))["total"] or 0


def disagreements():
    """Every workspace whose cached balance is not the sum of its ledger, as
    (workspace, balance, ledger sum)."""
    rows = Workspace.objects.annotate(ledger=Sum("credit_entries__amount")).order_by("pk")
    return [
        (ws, ws.credit_balance, ws.ledger or 0)
        for ws in rows
        if ws.credit_balance != (ws.ledger or 0)
    ]
