"""Access helpers: every lookup of a workspace-owned object goes through one of these.

Another workspace's object is a 404 (we do not confirm it exists); a role too weak for
the action is a 403.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from accounts.models import Invitation, Membership, Role

SESSION_KEY = "workspace_code"


def membership_for(user, workspace):
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, workspace=workspace).select_related("workspace").first()


def require_role(membership, role):
    if membership is None:
        raise Http404("No such workspace.")
    if not membership.has_role(role):
        raise PermissionDenied(
            f"This needs the {Role(role).label.lower()} role in {membership.workspace.name}."
        )
    return membership


def get_membership(request, workspace_code, role=Role.VIEWER):
    """The user's membership of the workspace with this code, with at least `role`."""
    try:
        membership = (
            Membership.objects.select_related("workspace")
            .filter(user=request.user, workspace__code=workspace_code)
            .first()
        )
    except (ValueError, ValidationError):  # a malformed code is just "not found"
        membership = None
    return require_role(membership, role)


def get_workspace_for_user(request, workspace_code, role=Role.VIEWER):
    return get_membership(request, workspace_code, role).workspace


def get_object_for_user(request, queryset, code, role=Role.VIEWER):
    """A workspace-owned object by its code: 404 outside the user's workspaces, 403 if the role
    is too weak. Returns (object, membership)."""
    try:
        obj = queryset.select_related("workspace").get(code=code)
    except (queryset.model.DoesNotExist, ValueError, ValidationError):
        raise Http404("Not found.") from None
    membership = membership_for(request.user, obj.workspace)
    if membership is None:
        raise Http404("Not found.")
    return obj, require_role(membership, role)


def current_membership(request):
    """The membership of the workspace the user is working in (kept in the session)."""
    user = request.user
    if not user.is_authenticated:
        return None
    memberships = Membership.objects.select_related("workspace").filter(user=user)
    code = request.session.get(SESSION_KEY)
    chosen = memberships.filter(workspace__code=code).first() if code else None
    if chosen is None:
        chosen = memberships.order_by("-workspace__personal", "created_at").first()
        if chosen is not None:
            request.session[SESSION_KEY] = str(chosen.workspace.code)
    return chosen


def get_member_for_user(request, workspace_code, member_code, role=Role.ADMIN):
    """Another membership of a workspace the user belongs to, as (target, actor's membership).
    404 when either code is not the user's to see; 403 when the actor's role is too weak."""
    actor = get_membership(request, workspace_code, role=Role.VIEWER)
    try:
        target = (
            Membership.objects.select_related("user", "workspace")
            .filter(workspace=actor.workspace, code=member_code)
            .first()
        )
    except (ValueError, ValidationError):
        target = None
    if target is None:
        raise Http404("No such member.")
    return target, require_role(actor, role)


def get_invitation_for_user(request, workspace_code, invitation_code, role=Role.ADMIN):
    """An invitation of a workspace the user manages, as (invitation, actor's membership)."""
    actor = get_membership(request, workspace_code, role=Role.VIEWER)
    try:
        invitation = (
            Invitation.objects.select_related("workspace")
            .filter(workspace=actor.workspace, code=invitation_code)
            .first()
        )
    except (ValueError, ValidationError):
        invitation = None
    if invitation is None:
        raise Http404("No such invitation.")
    return invitation, require_role(actor, role)
