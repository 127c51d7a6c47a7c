from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.vary import vary_on_headers

from accounts import invitations, services
from accounts.access import SESSION_KEY, membership_for
from accounts.forms import ProfileForm, SignupForm
from accounts.models import User


def landing(request):
    if request.user.is_authenticated:
        return redirect("home")
    return render(request, "landing.html")


def signup(request):
    if request.user.is_authenticated:
        return redirect("home")
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    form = SignupForm(request.POST or None, initial={"email": request.GET.get("email", "")})
    if request.method == "POST" and form.is_valid():
        user = services.sign_up(form.cleaned_data["email"], form.cleaned_data["password"])
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome to Coverlab. Your workspace is ready.")
        return redirect(next_url or "home")
    return render(request, "accounts/signup.html", {"form": form, "next": next_url})


HOME_ROWS = 5


@login_required
def home(request):
    """The current workspace at a glance: its balance, its latest jobs and clips, and what to
    do next."""
    from covers.clips import live_clips
    from covers.models import CoverJob

    membership = request.membership or None
    jobs = clips = []
    if membership is not None:
        jobs = list(
            CoverJob.objects.filter(workspace=membership.workspace, deleted_at__isnull=True)
            .select_related("parent_job", "source_track", "source_clip")
            .order_by("-created_at")[:HOME_ROWS]
        )
        clips = list(
            live_clips().filter(workspace=membership.workspace).order_by("-created_at")[:HOME_ROWS]
        )
    return render(request, "home.html", {"jobs": jobs, "clips": clips})


@login_required
@vary_on_headers("HX-Request")
def profile(request):
    user = request.user
    form = ProfileForm(
        request.POST or None,
        initial={"name": user.get_full_name(), "notify_by_email": user.notify_by_email},
    )
    saved = False
    if request.method == "POST" and form.is_valid():
        services.update_profile(
            user, name=form.cleaned_data["name"],
            notify_by_email=form.cleaned_data["notify_by_email"],
        )
        if not request.htmx:
            messages.success(request, "Your profile was saved.")
            return redirect("profile")
        saved = True
    template = "accounts/profile.html"
    return render(
        request, f"{template}#profile-form" if request.htmx else template,
        {"form": form, "saved": saved},
    )


def invitation_accept(request, token):
    """GET shows the invitation (and how to accept it); POST accepts it."""
    try:
        invitation = invitations.invitation_from_token(token)
    except invitations.InvalidLink as error:
        return render(
            request, "accounts/invitation_invalid.html",
            {"message": str(error), "invitation": error.invitation}, status=error.status,
        )
    user = request.user
    workspace = invitation.workspace
    context = {"invitation": invitation, "workspace": workspace, "path": request.path}
    if not user.is_authenticated:
        context["has_account"] = User.objects.filter(email__iexact=invitation.email).exists()
        return render(request, "accounts/invitation.html", context)
    if user.email.lower() != invitation.email.lower():
        return render(request, "accounts/invitation.html", {**context, "wrong_user": True}, status=403)
    if invitation.accepted_at:
        if membership_for(user, workspace) is None:
            return render(
                request, "accounts/invitation_invalid.html",
                {"message": "This invitation was already used. Ask for a new one to rejoin.",
                 "invitation": invitation},
                status=410,
            )
        return redirect("workspace_detail", workspace.code)
    if request.method == "POST":
        services.accept_invitation(user, invitation)
        request.session[SESSION_KEY] = str(workspace.code)
        messages.success(request, f"Welcome to {workspace.name}.")
        return redirect("workspace_detail", workspace.code)
    return render(request, "accounts/invitation.html", context)
