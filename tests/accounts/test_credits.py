import pytest
from django.db import IntegrityError, transaction

from accounts import credits
from accounts.models import CreditEntry, EntryKind, Role, Workspace
from tests.base import set_role

pytestmark = pytest.mark.django_db


def test_signup_grants_starter_credits(cast, settings):
    ws = cast.alice_personal
    assert ws.credit_balance == settings.STARTER_CREDITS
    entry = ws.credit_entries.get()
    assert entry.kind == EntryKind.GRANT
    assert entry.balance_after == settings.STARTER_CREDITS
    assert credits.ledger_sum(ws) == ws.credit_balance


def test_hold_takes_credits_and_capture_keeps_them(cast):
    team = cast.team
    h = credits.hold(team, 30, member=cast.bob, idempotency_key="job-1")
    team.refresh_from_db()
    assert team.credit_balance == 470
    entry, created = credits.capture(h)
    assert created and entry.kind == EntryKind.CAPTURE and entry.amount == 0
    team.refresh_from_db()
    assert team.credit_balance == 470
    assert credits.ledger_sum(team) == 470


def test_release_returns_credits_exactly_once(cast):
    team = cast.team
    h = credits.hold(team, 30, member=cast.bob, idempotency_key="job-1")
    first, created = credits.release(h, note="provider failed")
    again, created_again = credits.release(h)
    team.refresh_from_db()
    assert created and not created_again and first == again
    assert team.credit_balance == 500
    assert team.credit_entries.filter(kind=EntryKind.RELEASE).count() == 1


def test_capture_after_release_changes_nothing(cast):
    h = credits.hold(cast.team, 30, member=cast.bob, idempotency_key="job-1")
    credits.release(h)
    entry, created = credits.capture(h)
    assert not created and entry.kind == EntryKind.RELEASE
    cast.team.refresh_from_db()
    assert cast.team.credit_balance == 500


def test_hold_with_same_key_is_one_hold(cast):
    a = credits.hold(cast.team, 30, member=cast.bob, idempotency_key="job-1")
    b = credits.hold(cast.team, 30, member=cast.bob, idempotency_key="job-1")
    assert a == b
    cast.team.refresh_from_db()
    assert cast.team.credit_balance == 470


def test_hold_refused_when_balance_too_low(cast):
    with pytest.raises(credits.InsufficientCredits, match="needs 501 credits .* has 500"):
        credits.hold(cast.team, 501, member=cast.bob, idempotency_key="big")
    cast.team.refresh_from_db()
    assert cast.team.credit_balance == 500
    assert not cast.team.credit_entries.filter(kind=EntryKind.HOLD).exists()


def test_member_cap_refuses_with_a_message(cast):
    membership = cast.membership(cast.bob)
    membership.monthly_cap = 50
    membership.save()
    credits.hold(cast.team, 40, member=cast.bob, idempotency_key="a")
    with pytest.raises(credits.CapExceeded, match="10 left of your monthly cap of 50"):
        credits.hold(cast.team, 11, member=cast.bob, idempotency_key="b")
    # Alice has no cap and is not affected by Bob's.
    credits.hold(cast.team, 100, member=cast.alice, idempotency_key="c")


def test_released_holds_do_not_count_toward_the_cap(cast):
    membership = cast.membership(cast.bob)
    membership.monthly_cap = 50
    membership.save()
    h = credits.hold(cast.team, 50, member=cast.bob, idempotency_key="a")
    credits.release(h)
    credits.hold(cast.team, 50, member=cast.bob, idempotency_key="b")


def test_adjust_needs_a_reason_and_can_go_down(cast):
    with pytest.raises(credits.CreditError, match="needs a reason"):
        credits.adjust(cast.team, -10, actor=cast.alice, reason=" ")
    entry = credits.adjust(cast.team, -10, actor=cast.alice, reason="Refund reversal")
    assert entry.kind == EntryKind.ADJUSTMENT and entry.balance_after == 490
    with pytest.raises(credits.InsufficientCredits):
        credits.adjust(cast.team, -1000, actor=cast.alice, reason="too much")


def test_entries_are_append_only(cast):
    entry = cast.team.credit_entries.first()
    entry.amount = 1_000_000
    with pytest.raises(ValueError, match="append-only"):
        entry.save()
    with pytest.raises(ValueError, match="append-only"):
        entry.delete()


def test_database_refuses_a_negative_balance(cast):
    with pytest.raises(IntegrityError), transaction.atomic():
        Workspace.objects.filter(pk=cast.team.pk).update(credit_balance=-1)


def test_disagreements_lists_tampered_workspaces(cast):
    assert credits.disagreements() == []
    Workspace.objects.filter(pk=cast.team.pk).update(credit_balance=7)
    [(ws, balance, ledger)] = credits.disagreements()
    assert (ws, balance, ledger) == (cast.team, 7, 500)


def test_viewer_role_helpers(cast):
    set_role(cast.bob, cast.team, Role.VIEWER)
    m = cast.membership(cast.bob)
    assert not m.can_create_jobs and not m.can_manage_members
    assert CreditEntry.objects.filter(workspace=cast.team).count() == 1
