"""State changes for people and workspaces. Each runs in one transaction with its audit row."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accounts import credits, crypto, invitations
from accounts.models import Invitation, Membership, ProviderKey, Role, User, Workspace, audit


class WorkspaceError(Exception):
    """A change the workspace rules refuse; the message is shown to the person."""


@transaction.atomic
def sign_up(email, password, *, name=""):
    """A new user with a personal workspace and the starter grant of credits."""
    user = User.objects.create_user(email=email, password=password, first_name=name)
    workspace = Workspace.objects.create(name="Personal", personal=True)
    Membership.objects.create(user=user, workspace=workspace, role=Role.OWNER)
    audit(workspace, user, "account.signup", user.email)
    if settings.STARTER_CREDITS > 0:
        credits.grant(
            workspace, settings.STARTER_CREDITS, note="Starter credits",
            idempotency_key=f"starter:{workspace.code}",
        )
    return user


@transaction.atomic
def update_profile(user, *, name, notify_by_email):
    user.first_name = name.strip()
    user.last_name = ""
    user.notify_by_email = notify_by_email
    user.save(update_fields=["first_name", "last_name", "notify_by_email"])
    audit(None, user, "account.profile", user.email, notify_by_email=notify_by_email)
    return user


@transaction.atomic
def create_workspace(user, name):
    workspace = Workspace.objects.create(name=name.strip())
    Membership.objects.create(user=user, workspace=workspace, role=Role.OWNER)
    audit(workspace, user, "workspace.create", workspace.name)
    return workspace


@transaction.atomic
def rename_workspace(actor, name):
    """`actor` is the membership of the person acting (admin or owner)."""
    workspace = actor.workspace
    old, workspace.name = workspace.name, name.strip()
    workspace.save(update_fields=["name"])
    audit(workspace, actor.user, "workspace.rename", workspace.name, old=old)
    return workspace


# Members ----------------------------------------------------------------------------------

def _owner_count(workspace):
    return Membership.objects.filter(workspace=workspace, role=Role.OWNER).count()


def _lock_owners(workspace):
    """Lock the workspace's owner rows so two owners cannot both step down at once."""
    list(Membership.objects.select_for_update().filter(workspace=workspace, role=Role.OWNER))


def _check_can_manage(actor, target):
    if not actor.can_manage_members:
        raise PermissionDenied("Only admins and owners manage members.")
    if target.role == Role.OWNER and actor.role != Role.OWNER:
        raise PermissionDenied("Only an owner can change another owner.")


@transaction.atomic
def change_role(actor, target, role):
    role = Role(role)
    _check_can_manage(actor, target)
    if role == Role.OWNER and actor.role != Role.OWNER:
        raise PermissionDenied("Only an owner can make someone an owner.")
    if target.workspace.personal:
        raise WorkspaceError("A personal workspace has only its owner.")
    _lock_owners(target.workspace)
    if target.role == Role.OWNER and role != Role.OWNER and _owner_count(target.workspace) == 1:
        raise WorkspaceError(
            "A workspace always keeps an owner. Make someone else an owner first."
        )
    old, target.role = target.role, role
    target.save(update_fields=["role"])
    audit(target.workspace, actor.user, "member.role", target.user.email, old=old, new=role)
    return target


@transaction.atomic
def transfer_ownership(actor, target):
    """The acting owner hands ownership to `target` and becomes an admin."""
    if actor.role != Role.OWNER:
        raise PermissionDenied("Only an owner can transfer ownership.")
    if actor.workspace.personal:
        raise WorkspaceError("A personal workspace cannot be handed over.")
    if target.pk == actor.pk:
        raise WorkspaceError("You already own this workspace.")
    target.role = Role.OWNER
    target.save(update_fields=["role"])
    actor.role = Role.ADMIN
    actor.save(update_fields=["role"])
    audit(actor.workspace, actor.user, "workspace.transfer", target.user.email)
    return target


@transaction.atomic
def set_monthly_cap(actor, target, cap):
    """`cap` None means no cap."""
    _check_can_manage(actor, target)
    old, target.monthly_cap = target.monthly_cap, cap
    target.save(update_fields=["monthly_cap"])
    audit(target.workspace, actor.user, "member.cap", target.user.email, old=old, new=cap)
    return target


@transaction.atomic
def remove_member(actor, target):
    _check_can_manage(actor, target)
    if target.pk == actor.pk:
        raise WorkspaceError("To remove yourself, leave the workspace instead.")
    if target.workspace.personal:
        raise WorkspaceError("A personal workspace has only its owner.")
    _lock_owners(target.workspace)
    if target.role == Role.OWNER and _owner_count(target.workspace) == 1:
        raise WorkspaceError("A workspace always keeps an owner.")
    target.delete()
    audit(target.workspace, actor.user, "member.remove", target.user.email, role=target.role)


@transaction.atomic
def leave_workspace(membership):
    workspace = membership.workspace
    if workspace.personal:
        raise WorkspaceError("You cannot leave your personal workspace.")
    _lock_owners(workspace)
    if membership.role == Role.OWNER and _owner_count(workspace) == 1:
        raise WorkspaceError(
            "You are the only owner. Transfer ownership to another member before you leave."
        )
    membership.delete()
    audit(workspace, membership.user, "member.leave", membership.user.email)


# Invitations ------------------------------------------------------------------------------

INVITABLE_ROLES = [Role.ADMIN, Role.MEMBER, Role.VIEWER]


def _send_invitation(invitation):
    context = {
        "invitation": invitation,
        "workspace": invitation.workspace,
        "inviter": invitation.invited_by,
        "url": invitations.url_for(invitation),
        "max_age_days": settings.INVITATION_MAX_AGE_DAYS,
    }
    send_mail(
        render_to_string("emails/invitation_subject.txt", context).strip(),
        render_to_string("emails/invitation.txt", context),
        None,
        [invitation.email],
    )


def _sign_now(invitation):
    invitation.sent_at = timezone.now().replace(microsecond=0)
    invitation.expires_at = invitation.sent_at + invitations.max_age()


@transaction.atomic
def invite(actor, email, role):
    workspace = actor.workspace
    if not actor.can_manage_members:
        raise PermissionDenied("Only admins and owners invite people.")
    if workspace.personal:
        raise WorkspaceError(
            "A personal workspace cannot be shared. Create a team workspace to invite people."
        )
    if Role(role) not in INVITABLE_ROLES:
        raise WorkspaceError("Invite as an admin, member or viewer; make owners from members.")
    email = email.strip().lower()
    if workspace.memberships.filter(user__email__iexact=email).exists():
        raise WorkspaceError(f"{email} is already a member of {workspace.name}.")
    pending = workspace.invitations.filter(
        email__iexact=email, accepted_at=None, revoked_at=None, expires_at__gt=timezone.now()
    )
    if pending.exists():
        raise WorkspaceError(f"{email} already has a pending invitation. Resend it instead.")
    invitation = Invitation(workspace=workspace, email=email, role=role, invited_by=actor.user)
    _sign_now(invitation)
    invitation.save()
    audit(workspace, actor.user, "invitation.create", email, role=role)
    transaction.on_commit(lambda: _send_invitation(invitation))
    return invitation


@transaction.atomic
def resend_invitation(actor, invitation):
    """A new link (the old one stops working) with a fresh expiry, emailed again."""
    if invitation.accepted_at or invitation.revoked_at:
        raise WorkspaceError("Only a pending invitation can be resent.")
    _sign_now(invitation)
    invitation.save(update_fields=["sent_at", "expires_at"])
    audit(invitation.workspace, actor.user, "invitation.resend", invitation.email)
    transaction.on_commit(lambda: _send_invitation(invitation))
    return invitation


@transaction.atomic
def revoke_invitation(actor, invitation):
    if invitation.accepted_at:
        raise WorkspaceError("This invitation was already accepted; remove the member instead.")
    if invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit(invitation.workspace, actor.user, "invitation.revoke", invitation.email)
    return invitation


@transaction.atomic
def accept_invitation(user, invitation):
    """Join the workspace. Accepting twice, or when already a member, changes nothing."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if user.email.lower() != invitation.email.lower():
        raise PermissionDenied("This invitation is for another email address.")
    if invitation.revoked_at:
        raise WorkspaceError("This invitation was withdrawn.")
    if invitation.accepted_at is None and invitation.is_expired:
        raise WorkspaceError("This invitation has expired.")
    membership, created = Membership.objects.get_or_create(
        user=user, workspace=invitation.workspace, defaults={"role": invitation.role}
    )
    if invitation.accepted_at is None:
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
    if created:
        audit(invitation.workspace, user, "invitation.accept", user.email, role=invitation.role)
    return membership


# Workspace settings: defaults for new covers, and the workspace's own provider keys ----------


@transaction.atomic
def set_defaults(actor, provider, model):
    """The provider and model the new-cover form preselects ("" for the catalog's first)."""
    if not actor.can_manage_members:
        raise PermissionDenied("Only admins and owners change the workspace defaults.")
    workspace = actor.workspace
    old = (workspace.default_provider, workspace.default_model)
    workspace.default_provider, workspace.default_model = provider, model
    workspace.save(update_fields=["default_provider", "default_model"])
    label = workspace.get_default_provider_display() if provider else "the first that fits"
    audit(workspace, actor.user, "workspace.defaults", " ".join(filter(None, (label, model))),
          provider=provider, model=model, was=" ".join(filter(None, old)))
    return workspace


def _retire_keys(workspace, provider, now):
    """Retire the live key and forget retired ones no running job can still need."""
    retired = ProviderKey.objects.filter(
        workspace=workspace, provider=provider, retired_at=None
    ).update(retired_at=now)
    purge_retired_keys(workspace, now)
    return retired


def purge_retired_keys(workspace=None, now=None):
    """Delete retired keys older than the job deadline (of one workspace, or all): every job
    they submitted is over. Returns how many."""
    now = now or timezone.now()
    grace = timedelta(minutes=settings.JOB_DEADLINE_MINUTES + 60)
    old = ProviderKey.objects.filter(retired_at__lt=now - grace)
    if workspace is not None:
        old = old.filter(workspace=workspace)
    return old.delete()[0]


@sensitive_variables("api_key")
@transaction.atomic
def set_provider_key(actor, provider, api_key):
    """Set or replace the workspace's key for `provider`. Encrypted; never logged or audited."""
    if not actor.can_manage_billing:
        raise PermissionDenied("Only owners manage the workspace's provider keys.")
    workspace = actor.workspace
    api_key = api_key.strip()
    now = timezone.now()
    # Lock the workspace row so two owners saving at once cannot both keep a live key.
    Workspace.objects.select_for_update().filter(pk=workspace.pk).first()
    replaced = _retire_keys(workspace, provider, now)
    row = ProviderKey.objects.create(
        workspace=workspace, provider=provider, encrypted_key=crypto.encrypt(api_key),
        last4=api_key[-4:], set_by=actor.user, set_at=now,
    )
    audit(workspace, actor.user, "provider_key.replace" if replaced else "provider_key.set",
          row.get_provider_display(), provider=provider, last4=row.last4)
    return row


@transaction.atomic
def remove_provider_key(actor, provider):
    """Forget the workspace's key for `provider`; new jobs use the site's key or the sandbox.
    Jobs already submitted with it finish with it."""
    if not actor.can_manage_billing:
        raise PermissionDenied("Only owners manage the workspace's provider keys.")
    workspace = actor.workspace
    Workspace.objects.select_for_update().filter(pk=workspace.pk).first()
    if not _retire_keys(workspace, provider, timezone.now()):
        raise WorkspaceError("This workspace has no key for that provider.")
    from covers.models import Provider

    audit(workspace, actor.user, "provider_key.remove", Provider(provider).label,
          provider=provider)
