from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from accounts import credits, invitations, services
from accounts.access import (
    SESSION_KEY,
    get_invitation_for_user,
    get_member_for_user,
    get_membership,
)
from accounts.forms import (
    CapForm,
    DefaultsForm,
    InviteForm,
    ProviderKeyForm,
    RoleForm,
    WorkspaceNameForm,
)
from accounts.models import Role

PAGE = "accounts/workspace_detail.html"


@login_required
def workspace_list(request):
    memberships = request.user.memberships.select_related("workspace").order_by(
        "-workspace__personal", "workspace__name"
    )
    return render(
        request,
        "accounts/workspace_list.html",
        {"memberships": memberships, "form": WorkspaceNameForm()},
    )


@login_required
@require_POST
def workspace_create(request):
    form = WorkspaceNameForm(request.POST)
    if not form.is_valid():
        memberships = request.user.memberships.select_related("workspace")
        return render(
            request, "accounts/workspace_list.html", {"memberships": memberships, "form": form}
        )
    workspace = services.create_workspace(request.user, form.cleaned_data["name"])
    request.session[SESSION_KEY] = str(workspace.code)
    messages.success(request, f"{workspace.name} is ready. Invite your team below.")
    return redirect("workspace_detail", workspace.code)


@login_required
@require_POST
def workspace_switch(request):
    membership = get_membership(request, request.POST.get("workspace", ""))
    request.session[SESSION_KEY] = str(membership.workspace.code)
    next_url = request.POST.get("next") or request.headers.get("Referer") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    return redirect(next_url or "home")


def _member_rows(actor):
    workspace = actor.workspace
    rows = []
    for m in workspace.memberships.select_related("user").order_by("created_at"):
        editable = (
            actor.can_manage_members
            and m.pk != actor.pk
            and (m.role != Role.OWNER or actor.role == Role.OWNER)
        )
        roles = [
            (value, label) for value, label in Role.choices
            if value != Role.OWNER or actor.role == Role.OWNER
        ]
        rows.append({
            "membership": m,
            "spend": credits.member_spend_this_month(workspace, m.user),
            "editable": editable,
            "role_choices": roles,
        })
    return rows


# How the settings page words each audited action, after the actor's name.
ACTIVITY_WORDS = {
    "workspace.create": "created the workspace",
    "workspace.rename": "renamed the workspace to",
    "workspace.transfer": "handed ownership to",
    "member.role": "changed the role of",
    "member.cap": "set the monthly cap of",
    "member.remove": "removed",
    "member.leave": "left",
    "invitation.create": "invited",
    "invitation.resend": "sent a new invitation link to",
    "invitation.revoke": "withdrew the invitation to",
    "invitation.accept": "accepted the invitation:",
    "credits.grant": "added credits",
    "credits.adjust": "adjusted credits",
    "workspace.defaults": "set the default provider for new covers:",
    "provider_key.set": "added the workspace's key for",
    "provider_key.replace": "replaced the workspace's key for",
    "provider_key.remove": "removed the workspace's key for",
}


def _activity(workspace):
    logs = workspace.audit_logs.select_related("actor")[:15]
    return [
        {"log": log, "words": ACTIVITY_WORDS.get(log.action, log.action)} for log in logs
    ]


def _key_rows(workspace, forms=None):
    """One row per provider: the workspace's live key (last 4 only) and what new jobs use."""
    from covers.providers import catalog, registry

    live = {k.provider: k for k in workspace.provider_keys.filter(retired_at=None)
            .select_related("set_by")}
    sandboxed = registry.sandboxed_providers(workspace)
    rows = []
    for name, info in catalog.PROVIDERS.items():
        key = live.get(name)
        if key is not None and name not in sandboxed:
            uses = "your key"
        elif name in sandboxed:
            uses = "the sandbox"
        else:
            uses = "the site's key"
        form = (forms or {}).get(name) or ProviderKeyForm(initial={"provider": name},
                                                          prefix=name)
        form.fields["api_key"].label = f"{info.label} API key"
        rows.append({"provider": name, "label": info.label, "key": key, "uses": uses,
                     "form": form})
    return rows


def _page_context(actor, **extra):
    workspace = actor.workspace
    pending = workspace.invitations.filter(accepted_at=None, revoked_at=None).order_by(
        "-sent_at"
    )
    return {
        "workspace": workspace,
        "membership": actor,
        "name_form": WorkspaceNameForm(initial={"name": workspace.name}),
        "invite_form": InviteForm(),
        "members": _member_rows(actor),
        "invitations": [
            {"invitation": i, "link": invitations.url_for(i)} for i in pending
        ] if actor.can_manage_members else [],
        "activity": _activity(workspace) if actor.can_manage_members else [],
        "defaults_form": DefaultsForm(initial={
            "default_provider": workspace.default_provider,
            "default_model": workspace.default_model,
        }),
        "keys": _key_rows(workspace, extra.pop("key_forms", None)),
        **extra,
    }


def _after_change(request, actor, section, notice="", error="", **extra):
    """HTMX: the changed section of the settings page. Otherwise: back to the page."""
    if request.htmx:
        context = _page_context(actor, notice=notice, error=error, **extra)
        return render(request, f"{PAGE}#{section}", context)
    if error:
        messages.error(request, error)
    elif notice:
        messages.success(request, notice)
    return redirect("workspace_detail", actor.workspace.code)


@login_required
@vary_on_headers("HX-Request")
def workspace_detail(request, code):
    actor = get_membership(request, code)
    return render(request, PAGE, _page_context(actor))


@login_required
@require_POST
@vary_on_headers("HX-Request")
def workspace_rename(request, code):
    actor = get_membership(request, code, Role.ADMIN)
    form = WorkspaceNameForm(request.POST)
    if not form.is_valid():
        context = _page_context(actor, name_form=form)
        return render(request, f"{PAGE}#name" if request.htmx else PAGE, context)
    services.rename_workspace(actor, form.cleaned_data["name"])
    return _after_change(request, actor, "name", notice="Workspace renamed.")


@login_required
@require_POST
@vary_on_headers("HX-Request")
def invitation_create(request, code):
    actor = get_membership(request, code, Role.ADMIN)
    form = InviteForm(request.POST)
    if not form.is_valid():
        context = _page_context(actor, invite_form=form)
        return render(request, f"{PAGE}#invitations" if request.htmx else PAGE, context)
    try:
        invitation = services.invite(actor, form.cleaned_data["email"], form.cleaned_data["role"])
    except services.WorkspaceError as error:
        return _after_change(request, actor, "invitations", error=str(error))
    return _after_change(
        request, actor, "invitations",
        notice=f"Invitation sent to {invitation.email}. You can also copy the link below.",
    )


@login_required
@require_POST
@vary_on_headers("HX-Request")
def invitation_resend(request, code, invitation_code):
    invitation, actor = get_invitation_for_user(request, code, invitation_code)
    try:
        services.resend_invitation(actor, invitation)
    except services.WorkspaceError as error:
        return _after_change(request, actor, "invitations", error=str(error))
    return _after_change(
        request, actor, "invitations",
        notice=f"A new link was sent to {invitation.email}; the old one no longer works.",
    )


@login_required
@require_POST
@vary_on_headers("HX-Request")
def invitation_revoke(request, code, invitation_code):
    invitation, actor = get_invitation_for_user(request, code, invitation_code)
    try:
        services.revoke_invitation(actor, invitation)
    except services.WorkspaceError as error:
        return _after_change(request, actor, "invitations", error=str(error))
    return _after_change(
        request, actor, "invitations", notice=f"The invitation to {invitation.email} was withdrawn."
    )


def _member_change(request, code, member_code, change, notice, role=Role.ADMIN):
    target, actor = get_member_for_user(request, code, member_code, role)
    try:
        change(actor, target)
    except services.WorkspaceError as error:
        return _after_change(request, actor, "members", error=str(error))
    actor.refresh_from_db()
    return _after_change(request, actor, "members", notice=notice(target))


@login_required
@require_POST
@vary_on_headers("HX-Request")
def member_role(request, code, member_code):
    form = RoleForm(request.POST, prefix=str(member_code))
    if not form.is_valid():
        target, actor = get_member_for_user(request, code, member_code)
        return _after_change(request, actor, "members", error="Choose one of the roles.")
    role = form.cleaned_data["role"]
    return _member_change(
        request, code, member_code,
        lambda actor, target: services.change_role(actor, target, role),
        lambda target: f"{target.user.display_name} is now {Role(role).label.lower()}.",
    )


@login_required
@require_POST
@vary_on_headers("HX-Request")
def member_cap(request, code, member_code):
    form = CapForm(request.POST, prefix=str(member_code))
    if not form.is_valid():
        target, actor = get_member_for_user(request, code, member_code)
        return _after_change(
            request, actor, "members", error="A cap is a whole number of credits, or empty."
        )
    cap = form.cleaned_data["monthly_cap"]
    return _member_change(
        request, code, member_code,
        lambda actor, target: services.set_monthly_cap(actor, target, cap),
        lambda target: (
            f"{target.user.display_name} may spend {cap} credits a month."
            if cap is not None else f"{target.user.display_name} has no monthly cap."
        ),
    )


@login_required
@require_POST
@vary_on_headers("HX-Request")
def member_remove(request, code, member_code):
    return _member_change(
        request, code, member_code, services.remove_member,
        lambda target: f"{target.user.display_name} was removed from the workspace.",
    )


@login_required
@require_POST
@vary_on_headers("HX-Request")
def member_transfer(request, code, member_code):
    return _member_change(
        request, code, member_code, services.transfer_ownership,
        lambda target: f"{target.user.display_name} now owns the workspace; you are an admin.",
        role=Role.OWNER,
    )


@login_required
@require_POST
def workspace_leave(request, code):
    membership = get_membership(request, code)
    try:
        services.leave_workspace(membership)
    except services.WorkspaceError as error:
        return _after_change(request, membership, "members", error=str(error))
    if request.session.get(SESSION_KEY) == str(membership.workspace.code):
        del request.session[SESSION_KEY]
    messages.success(request, f"You left {membership.workspace.name}.")
    if request.htmx:
        return HttpResponseClientRedirect("/workspaces/")
    return redirect("workspace_list")


@login_required
@require_POST
@vary_on_headers("HX-Request")
def workspace_defaults(request, code):
    actor = get_membership(request, code, Role.ADMIN)
    form = DefaultsForm(request.POST)
    if not form.is_valid():
        context = _page_context(actor, defaults_form=form)
        return render(request, f"{PAGE}#defaults" if request.htmx else PAGE, context,
                      status=400)
    services.set_defaults(
        actor, form.cleaned_data["default_provider"], form.cleaned_data["default_model"]
    )
    return _after_change(request, actor, "defaults", notice="New covers start with these now.")


def _key_provider(provider):
    from covers.providers import catalog

    if provider not in catalog.PROVIDERS:
        raise Http404("No such provider.")
    return catalog.info(provider)


@sensitive_post_parameters()  # error reports never carry the key
@login_required
@require_POST
@vary_on_headers("HX-Request")
def provider_key_set(request, code, provider):
    actor = get_membership(request, code, Role.OWNER)
    info = _key_provider(provider)
    form = ProviderKeyForm(request.POST, prefix=provider)
    if not form.is_valid() or form.cleaned_data["provider"] != provider:
        context = _page_context(actor, key_forms={provider: form})
        return render(request, f"{PAGE}#keys" if request.htmx else PAGE, context, status=400)
    key = services.set_provider_key(actor, provider, form.cleaned_data["api_key"])
    return _after_change(
        request, actor, "keys",
        notice=f"Saved the {info.label} key ending in {key.last4}. New {info.label} jobs in "
        f"{actor.workspace.name} use it.",
    )


@login_required
@require_POST
@vary_on_headers("HX-Request")
def provider_key_remove(request, code, provider):
    actor = get_membership(request, code, Role.OWNER)
    info = _key_provider(provider)
    try:
        services.remove_provider_key(actor, provider)
    except services.WorkspaceError as error:
        return _after_change(request, actor, "keys", error=str(error))
    return _after_change(
        request, actor, "keys",
        notice=f"Removed the {info.label} key. Jobs already running finish with it; new ones "
        "use the site's key or the sandbox.",
    )
