import hashlib
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import Exists, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce, NullIf
from django.http import Http404, HttpResponse, HttpResponseNotAllowed
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from accounts import credits
from accounts.access import membership_for, require_role
from accounts.models import Membership, Role
from covers import clips, services
from covers.clip_forms import RenameForm
from covers.forms import CoverForm, ImportForm, LibraryFilterForm, Source, new_idempotency_key
from covers.models import (
    TERMINAL_STATES,
    CoverJob,
    JobEvent,
    JobKind,
    JobState,
    Track,
)
from covers.providers import catalog
from covers.providers.base import ProviderError
from covers.templatetags.jobs import job_title

PER_PAGE = 25
STAGES = [JobState.QUEUED, JobState.SUBMITTED, JobState.TEXT_READY, JobState.FIRST_READY,
          JobState.SUCCEEDED]
ART_STAGES = [JobState.QUEUED, JobState.SUBMITTED, JobState.SUCCEEDED]


# --- access helpers ----------------------------------------------------------------------


def get_job_for_user(request, code, role=Role.VIEWER):
    """(job, membership): 404 outside the user's workspaces, 403 when the role is too weak."""
    try:
        job = CoverJob.objects.select_related(
            "workspace", "created_by", "source_clip", "source_track", "parent_job"
        ).get(code=code, deleted_at__isnull=True)
    except (CoverJob.DoesNotExist, ValueError, ValidationError):
        raise Http404("Not found.") from None
    membership = membership_for(request.user, job.workspace)
    if membership is None:
        raise Http404("Not found.")
    return job, require_role(membership, role)


def get_track_for_user(request, code, role=Role.VIEWER):
    try:
        track = Track.objects.select_related("job__workspace").get(
            code=code, job__deleted_at__isnull=True
        )
    except (Track.DoesNotExist, ValueError, ValidationError):
        raise Http404("Not found.") from None
    membership = membership_for(request.user, track.job.workspace)
    if membership is None:
        raise Http404("Not found.")
    return track, require_role(membership, role)


def status_snapshot(request, code, grant=None):
    """The job, its timeline, tracks, images and the user's role in as few queries as we can:
    one for the events with their job (and the role, unless a poll grant carries it), one for
    tracks and one for images (only for cover art). 404 outside the user's workspaces."""
    try:
        events = JobEvent.objects.filter(job__code=code, job__deleted_at__isnull=True).select_related(
            "job__created_by", "job__workspace"
        )
    except (ValueError, ValidationError):
        raise Http404("Not found.") from None
    # The role is read on every call, so a member who was removed or demoted loses access at
    # once; a poll grant only saves looking up who the user is.
    user_id = grant["u"] if grant else request.user.pk
    role = Membership.objects.filter(
        workspace=OuterRef("job__workspace"), user_id=user_id
    ).values("role")[:1]
    events = events.annotate(my_role=Subquery(role)).filter(my_role__isnull=False)
    try:
        events = list(events)
    except (ValueError, ValidationError):
        raise Http404("Not found.") from None
    if events:
        job = events[0].job
        my_role = events[0].my_role
    elif grant is None:  # a job always has a first event; be safe anyway
        job, membership = get_job_for_user(request, code)
        my_role = membership.role
    else:
        raise Http404("Not found.")
    return job, events, Membership(role=my_role, user_id=user_id)


# --- new cover -----------------------------------------------------------------------------


def _settings_of_failed_job(source, code):
    """The settings of a failed job on the same source, to try again with (empty when `code`
    names no such job: another workspace's job, another source, a job that did not fail)."""
    try:
        job = CoverJob.objects.filter(
            code=code, state=JobState.FAILED, workspace=source.workspace, deleted_at__isnull=True,
            source_clip=source.clip, source_track=source.track,
        ).first()
    except (ValueError, ValidationError):
        job = None
    if job is None:
        return {}
    initial = {name: getattr(job, name) for name in services.REQUEST_FIELDS}
    initial["provider"] = job.provider
    return {name: value for name, value in initial.items() if value not in (None, "")}


def _cover_form_view(request, source):
    membership = require_role(membership_for(request.user, source.workspace), Role.MEMBER)
    again = request.GET.get("again") if request.method == "GET" else None
    initial = _settings_of_failed_job(source, again) if again else {}
    form = CoverForm(request.POST or None, source=source, initial=initial)
    workspace = source.workspace
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            job, _ = services.create_job(
                workspace, request.user, kind=source.kind, provider=data["provider"],
                price=data["price"], idempotency_key=data["idempotency_key"],
                params=form.job_params(), source_clip=source.clip, source_track=source.track,
            )
        except credits.CreditError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("job_detail", job.code)
    price = form.price()
    cap_left = None
    if membership.monthly_cap is not None and not workspace.personal:
        spent = credits.member_spend_this_month(workspace, request.user)
        cap_left = max(membership.monthly_cap - spent, 0)
    return render(request, "covers/cover_new.html", {
        "membership": membership, "cap_left": cap_left,
        "form": form, "source": source, "workspace": workspace, "again": bool(initial),
        "price": price, "refused": source.refused(),
        "balance_after": None if price is None else workspace.credit_balance - price,
    }, status=200 if request.method == "GET" or not form.errors else 400)


@login_required
def cover_new(request):
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    clip_code = request.GET.get("clip") or request.POST.get("clip")
    track_code = request.GET.get("track") or request.POST.get("track")
    if clip_code:
        clip, _ = clips.get_clip_for_user(request, clip_code, Role.MEMBER)
        return _cover_form_view(request, Source(clip=clip))
    if track_code:
        track, _ = get_track_for_user(request, track_code, Role.MEMBER)
        return _cover_form_view(request, Source(track=track))
    return redirect("clip_list")


@login_required
def clip_cover(request, code):
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    clip, _ = clips.get_clip_for_user(request, code, Role.MEMBER)
    return _cover_form_view(request, Source(clip=clip))


@login_required
def track_cover(request, code):
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    track, _ = get_track_for_user(request, code, Role.MEMBER)
    return _cover_form_view(request, Source(track=track))


# --- the job page --------------------------------------------------------------------------


def _status_context(job, events, membership, request):
    tracks = list(job.tracks.all()) if job.kind != JobKind.COVER_ART else []
    images = list(job.images.all()) if job.kind == JobKind.COVER_ART else []
    art_price = None
    if job.kind != JobKind.COVER_ART and catalog.info(job.provider).cover_art:
        art_price = catalog.price(job.provider, JobKind.COVER_ART)
    return {
        "job": job, "events": events, "tracks": tracks, "images": images,
        "membership": membership, "can_create": membership.has_role(Role.MEMBER),
        "can_delete": can_delete(job, membership),
        "stages": ART_STAGES if job.kind == JobKind.COVER_ART else STAGES, "art_price": art_price, "csrf_token": get_token(request),
        "art_key": new_idempotency_key(), "live": services.is_live(job),
        "version": version_of(job.updated_at),
        "copy_gave_up": job.state == JobState.SUCCEEDED and job.results_stored_at is None
        and not services.is_live(job),
        "poll_url": reverse("job_status", args=[job.code]) + "?t="
        + poll_token(request, job, membership),
    }


@login_required
@vary_on_headers("HX-Request")
def job_detail(request, code):
    job, events, membership = status_snapshot(request, code)
    context = _status_context(job, events, membership, request)
    if request.htmx:
        return job_status_response(context)
    context["art_job"] = services.existing_art_job(job) if job.kind != JobKind.COVER_ART else None
    return render(request, "covers/job_detail.html", context)


def job_status_response(context):
    # Rendered without context processors: the poll stays at a handful of queries.
    html = render_to_string("covers/job_detail.html#status", context)
    if context["live"]:
        return HttpResponse(html)
    # 286 tells htmx to stop polling (the terminal partial has no trigger either); the job's
    # outcome is a new notification, so the top bar's badge refreshes itself.
    return HttpResponse(html, status=286, headers={"HX-Trigger": "notifications"})


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def version_of(moment):
    """A job's updated_at as an exact integer (microseconds), the same on every backend."""
    if isinstance(moment, str):  # SQLite hands raw columns back as text (UTC)
        moment = parse_datetime(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return str((moment - EPOCH) // timedelta(microseconds=1))


def stored_version(code, user_id):
    """The job's version, if `user_id` is still a member of its workspace, in one plain
    query. The ORM would build the same SELECT in ten times the time, and this runs on every
    poll of every open job page."""
    field = CoverJob._meta.get_field("code")
    try:
        value = field.get_db_prep_value(field.to_python(code), connection)
    except ValidationError:
        return None
    quote = connection.ops.quote_name
    job_table = quote(CoverJob._meta.db_table)
    member_table = quote(Membership._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT j.{quote('updated_at')} FROM {job_table} j "
            f"JOIN {member_table} m ON m.{quote('workspace_id')} = j.{quote('workspace_id')} "
            f"WHERE j.{quote(field.column)} = %s AND m.{quote('user_id')} = %s "
            f"AND j.{quote('deleted_at')} IS NULL",
            [value, user_id],
        )
        row = cursor.fetchone()
    return version_of(row[0]) if row else None


POLL_SALT = "covers.job-status-poll"
POLL_MAX_AGE = 15 * 60


def _session_tag(request):
    cookie = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
    return hashlib.sha256(cookie.encode()).hexdigest()[:16]


def poll_token(request, job, membership):
    """A short-lived grant to poll this job's status, for this user in this browser session.
    Issued only after the access check; lets each poll skip the session and user lookups.
    Membership is still checked on every poll (see stored_version and status_snapshot)."""
    return signing.dumps(
        {"j": str(job.code), "u": membership.user_id, "s": _session_tag(request)},
        salt=POLL_SALT,
    )


def read_poll_token(request, token, code):
    try:
        grant = signing.loads(token, salt=POLL_SALT, max_age=POLL_MAX_AGE)
    except signing.BadSignature:
        return None
    if grant.get("j") != str(code) or grant.get("s") != _session_tag(request):
        return None
    return grant


@vary_on_headers("HX-Request", "X-Status-Version")
def job_status(request, code):
    """The live status partial. With a valid poll token and an unchanged version it answers
    204 after one small query; otherwise it renders the partial (as the session allows)."""
    grant = read_poll_token(request, request.GET.get("t", ""), code)
    if grant is None:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        job, events, membership = status_snapshot(request, code)
        return job_status_response(_status_context(job, events, membership, request))
    version = request.headers.get("X-Status-Version")
    if version:
        current = stored_version(code, grant["u"])
        if current is None:
            raise Http404("Not found.")
        if version == current:
            return HttpResponse(status=204)
    job, events, membership = status_snapshot(request, code, grant)
    return job_status_response(_status_context(job, events, membership, request))


@login_required
@require_POST
def job_art(request, code):
    job, membership = get_job_for_user(request, code, Role.MEMBER)
    if not catalog.info(job.provider).cover_art or job.kind == JobKind.COVER_ART:
        messages.error(request, f"{job.get_provider_display()} does not make cover art.")
        return redirect("job_detail", job.code)
    try:
        art, created = services.create_art_job(
            job, request.user, price=catalog.price(job.provider, JobKind.COVER_ART),
            idempotency_key=request.POST.get("idempotency_key") or new_idempotency_key(),
        )
    except (services.JobError, credits.CreditError) as exc:
        messages.error(request, str(exc))
        return redirect("job_detail", job.code)
    if not created:
        messages.info(request, "Cover art was already made for this cover: here it is.")
    return redirect("job_detail", art.code)


def can_delete(job, membership):
    """Admins delete any job of the workspace; members the jobs they made."""
    return membership.has_role(Role.ADMIN) or (
        membership.has_role(Role.MEMBER) and job.created_by_id == membership.user_id
    )


@login_required
@require_POST
def job_rename(request, code):
    job, _ = get_job_for_user(request, code, Role.MEMBER)
    form = RenameForm(request.POST)
    try:
        if not form.is_valid():
            raise services.JobError("Give the job a name of up to 200 characters.")
        services.rename_job(job, request.user, form.cleaned_data["name"])
    except services.JobError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Renamed to “{job.title}”.")
    return redirect("job_detail", job.code)


@login_required
@require_POST
def job_delete(request, code):
    job, membership = get_job_for_user(request, code, Role.MEMBER)
    if not can_delete(job, membership):
        raise PermissionDenied("Only its creator or a workspace admin can delete this job.")
    try:
        services.delete_job(job, request.user)
    except services.JobError as exc:
        messages.error(request, str(exc))
        return redirect("job_detail", job.code)
    messages.success(request, f"Deleted “{job_title(job)}” and its files.")
    return redirect("job_list")


@login_required
@require_POST
def track_favourite(request, code):
    track, _ = get_track_for_user(request, code, Role.MEMBER)
    services.set_favourite(track, request.user, request.POST.get("favourite") != "0")
    if request.htmx:
        return render(request, "covers/_favourite.html", {"track": track,
                                                          "can_create": True})
    return redirect("job_detail", track.job.code)


# --- import ----------------------------------------------------------------------------------


@login_required
def job_import(request):
    membership = require_role(request.membership or None, Role.MEMBER)
    form = ImportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            job, created = services.import_job(
                membership.workspace, request.user, form.cleaned_data["provider"],
                form.cleaned_data["task_id"],
            )
        except (services.JobError, ProviderError) as exc:
            form.add_error("task_id", getattr(exc, "message", str(exc)))
        else:
            if not created:
                messages.info(request, "That task is already in your library.")
            return redirect("job_detail", job.code)
    return render(request, "covers/job_import.html", {"form": form})


# --- library ---------------------------------------------------------------------------------


class LibraryPage:
    """Newer/older pages without a COUNT(*): the page reads one row more than it shows to know
    whether an older page exists, so a big library costs the same as a small one."""

    def __init__(self, queryset, number):
        try:
            self.number = max(int(number or 1), 1)
        except ValueError:
            self.number = 1
        start = (self.number - 1) * PER_PAGE
        rows = list(queryset[start:start + PER_PAGE + 1])
        self.object_list = rows[:PER_PAGE]
        self.has_next = len(rows) > PER_PAGE
        self.has_previous = self.number > 1
        self.has_other_pages = self.has_next or self.has_previous

    def next_page_number(self):
        return self.number + 1

    def previous_page_number(self):
        return self.number - 1


def library_queryset(workspace, filters):
    # Only the names a row shows from the source, as columns: no model per relation per row.
    jobs = CoverJob.objects.filter(workspace=workspace, deleted_at__isnull=True).select_related(
        "created_by"
    ).annotate(
        clip_label=Coalesce(NullIf("source_clip__name", Value("")),
                            "source_clip__original_name"),
        track_label=F("source_track__title"),
        parent_label=F("parent_job__title"),
        has_favourite=Exists(Track.objects.filter(job=OuterRef("pk"), favourite=True)),
    )
    data = filters.cleaned_data if filters.is_valid() else {}
    if q := data.get("q"):
        jobs = jobs.filter(Q(title__icontains=q) | Q(style__icontains=q) | Q(prompt__icontains=q))
    state = data.get("state")
    if state == "running":
        jobs = jobs.exclude(state__in=TERMINAL_STATES)
    elif state:
        jobs = jobs.filter(state=state)
    if kind := data.get("kind"):
        jobs = jobs.filter(kind=kind)
    if provider := data.get("provider"):
        jobs = jobs.filter(provider=provider)
    if member := data.get("member"):
        jobs = jobs.filter(created_by_id=filters.members[member])
    if data.get("favourite"):
        jobs = jobs.filter(has_favourite=True)
    return jobs


@login_required
@vary_on_headers("HX-Request")
def job_list(request):
    membership = request.membership or None
    if membership is None:
        raise Http404("No workspace.")
    workspace = membership.workspace
    members = Membership.objects.filter(workspace=workspace).select_related("user")
    filters = LibraryFilterForm(request.GET or None, members=members)
    page = LibraryPage(library_queryset(workspace, filters), request.GET.get("page"))
    jobs = page.object_list
    running = any(not j.is_terminal for j in jobs)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page, "jobs": jobs, "filters": filters, "running": running,
        "query": query.urlencode(), "workspace": workspace,
        "can_create": membership.has_role(Role.MEMBER),
        "filtered": any(v for k, v in request.GET.items() if k != "page"),
    }
    if request.htmx:
        response = render(request, "covers/job_list.html#rows", context)
        if not running and request.headers.get("HX-Trigger") == "library-rows":
            response.status_code = 286
        return response
    return render(request, "covers/job_list.html", context)
