"""Clip library pages. Views look clips up through covers.clips.get_clip_for_user and leave
every change to the services in covers.clips."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from accounts.access import require_role
from accounts.models import Role
from covers import clips, files
from covers.clip_forms import DirectUploadForm, RenameForm, TrimForm, UploadForm, VerifyUploadForm
from lib import audio

LIST = "covers/clip_list.html"
DETAIL = "covers/clip_detail.html"
PER_PAGE = 20


def _current(request, role=Role.VIEWER):
    membership = request.membership
    if not membership:
        raise Http404("No workspace.")
    return require_role(membership, role)


def direct_upload_enabled():
    return files.is_s3() and getattr(settings, "S3_DIRECT_UPLOAD", False)


def _list_context(request, membership):
    workspace = membership.workspace
    queryset = (
        clips.live_clips().filter(workspace=workspace).select_related("uploaded_by", "parent")
    )
    page = Paginator(queryset, PER_PAGE).get_page(request.GET.get("page"))
    return {
        "workspace": workspace,
        "page": page,
        "can_edit": membership.has_role(Role.MEMBER),
        "form": UploadForm(),
        "max_bytes": settings.UPLOAD_MAX_BYTES,
        "max_size": clips.human_size(settings.UPLOAD_MAX_BYTES),
        "direct_upload": direct_upload_enabled(),
    }


@login_required
@vary_on_headers("HX-Request")
def clip_list(request):
    membership = _current(request)
    context = _list_context(request, membership)
    return render(request, f"{LIST}#clip-list" if request.htmx else LIST, context)


@login_required
def clip_detail(request, code):
    clip, membership = clips.get_clip_for_user(request, code)
    return render(request, DETAIL, _detail_context(clip, membership))


def _detail_context(clip, membership, rename_form=None):
    return {
        "clip": clip,
        "can_edit": membership.has_role(Role.MEMBER),
        "rename_form": rename_form or RenameForm(initial={"name": clip.display_name}),
        "trims": clips.live_clips().filter(parent=clip),
        "running_jobs": clips.running_jobs(clip).count(),
    }


@login_required
@never_cache  # each visit signs a fresh link; a cached redirect would outlive it
def clip_play(request, code):
    """Members (viewers too) get a short-lived signed link to the file."""
    clip, _ = clips.get_clip_for_user(request, code)
    return redirect(files.playback_url(clip.storage_key))


@login_required
@never_cache
def clip_download(request, code):
    clip, _ = clips.get_clip_for_user(request, code)
    suffix = audio.FORMATS.get(clip.format, ("", "", ""))[2]
    name = clip.display_name
    if suffix and not name.lower().endswith(suffix):
        name += suffix
    return redirect(files.playback_url(clip.storage_key, download_name=name))


class CappedUploadHandler(FileUploadHandler):
    """Drops a file as soon as it passes UPLOAD_MAX_BYTES, so an oversize upload fills neither
    memory nor disk; the view then explains the limit."""

    too_large = False

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > settings.UPLOAD_MAX_BYTES:
            self.too_large = True
            raise SkipFile()
        return raw_data

    def file_complete(self, file_size):
        return None


@login_required
@require_POST
@csrf_exempt  # CSRF is checked by _clip_upload, after the upload handlers are in place
def clip_upload(request):
    capped = CappedUploadHandler(request)
    request.upload_handlers.insert(0, capped)
    return _clip_upload(request, capped)


@csrf_protect
def _clip_upload(request, capped):
    membership = _current(request, Role.MEMBER)
    form = UploadForm(request.POST, request.FILES)
    try:
        if capped.too_large:
            raise clips.ClipRefused(clips._too_large_message(), "too_large")
        if not form.is_valid():
            raise clips.ClipRefused("Choose an audio file to upload.", "no_file")
        clip = clips.create_clip(membership.workspace, request.user, form.cleaned_data["file"])
    except clips.ClipRefused as refused:
        return _upload_refused(request, membership, refused)
    return _upload_accepted(request, membership, clip)


def _upload_refused(request, membership, refused):
    if request.htmx:
        response = render(
            request, "covers/_clip_alert.html", {"error": refused.message}, status=400
        )
        response["HX-Retarget"] = "#upload-status"
        response["HX-Reswap"] = "innerHTML"
        return response
    context = {**_list_context(request, membership), "upload_error": refused.message}
    return render(request, LIST, context, status=400)


def _upload_accepted(request, membership, clip):
    if request.htmx:
        return render(
            request, "covers/_clip_row.html", {"clip": clip, "can_edit": True, "new": True},
            status=201,
        )
    messages.success(request, f"Added “{clip.display_name}”.")
    return redirect("clip_list")


@login_required
@require_POST
def clip_upload_direct(request):
    """S3: a presigned POST so the browser sends the file straight to the bucket."""
    membership = _current(request, Role.MEMBER)
    form = DirectUploadForm(request.POST)
    if not direct_upload_enabled() or not form.is_valid():
        return JsonResponse({"error": "Direct upload is not available."}, status=400)
    post = clips.start_direct_upload(
        membership.workspace, request.user, form.cleaned_data["filename"],
        form.cleaned_data["content_type"] or "audio/mpeg",
    )
    return JsonResponse(post)


@login_required
@require_POST
def clip_upload_verify(request):
    """S3: the browser says its direct upload is done; check the object, keep or delete it."""
    membership = _current(request, Role.MEMBER)
    form = VerifyUploadForm(request.POST)
    try:
        if not form.is_valid():
            raise clips.ClipRefused("This upload link is not valid.", "bad_ticket")
        key, name = clips.read_ticket(membership.workspace, form.cleaned_data["ticket"])
        clip = clips.verify_direct_upload(membership.workspace, request.user, key, name)
    except clips.ClipRefused as refused:
        return _upload_refused(request, membership, refused)
    return _upload_accepted(request, membership, clip)


@login_required
@require_POST
@vary_on_headers("HX-Request")
def clip_rename(request, code):
    clip, membership = clips.get_clip_for_user(request, code, Role.MEMBER)
    form = RenameForm(request.POST)
    if form.is_valid():
        try:
            clips.rename_clip(clip, request.user, form.cleaned_data["name"])
        except clips.ClipRefused as refused:
            form.add_error("name", refused.message)
    context = _detail_context(clip, membership, form if form.errors else None)
    status = 400 if form.errors else 200
    if request.htmx:
        return render(request, f"{DETAIL}#clip-name", context, status=status)
    if form.errors:
        return render(request, DETAIL, context, status=status)
    messages.success(request, f"Renamed to “{clip.display_name}”.")
    return redirect("clip_detail", clip.code)


@login_required
@require_POST
@vary_on_headers("HX-Request")
def clip_delete(request, code):
    clip, _ = clips.get_clip_for_user(request, code, Role.MEMBER)
    try:
        clips.delete_clip(clip, request.user)
    except clips.ClipRefused as refused:
        if request.htmx:
            response = render(request, "covers/_clip_alert.html", {"error": refused.message},
                              status=409)
            response["HX-Retarget"] = "#clip-alerts"
            response["HX-Reswap"] = "innerHTML"
            return response
        messages.error(request, refused.message)
        return redirect("clip_detail", clip.code)
    if request.htmx:
        return HttpResponse("")  # the row swaps itself out
    messages.success(request, f"Deleted “{clip.display_name}”.")
    return redirect("clip_list")


@login_required
@vary_on_headers("HX-Request")
def clip_trim(request, code):
    clip, membership = clips.get_clip_for_user(request, code, Role.MEMBER)
    initial = {"start": 0, "end": round(min(clip.duration, 60), 2)}
    if request.method == "GET" and request.GET.get("preset"):
        try:
            start = float(request.GET.get("start") or 0)
        except ValueError:
            start = 0.0
        window = clips.preset_window(request.GET["preset"], start, clip.duration)
        if window:
            initial = {"start": window[0], "end": window[1]}
    form = TrimForm(request.POST or None, duration=clip.duration, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                new = clips.trim_clip(clip, request.user, form.cleaned_data["start"],
                                      form.cleaned_data["end"])
            except clips.ClipRefused as refused:
                form.add_error(None, refused.message)
            else:
                messages.success(request, f"Made “{new.display_name}”.")
                if request.htmx:
                    return HttpResponseClientRedirect(reverse("clip_list"))
                return redirect("clip_list")
        status = 400
    context = {"clip": clip, "form": form, "presets": clips.TRIM_PRESETS, "peaks": clip.peaks}
    return render(request, "covers/clip_trim.html", context, status=status)
