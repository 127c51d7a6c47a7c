"""The sandbox's HTTP face: each provider's paths, auth headers, validation and error
envelopes. The work itself happens in sandbox.tasks."""

import json
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from functools import wraps

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from covers.files import content_type_for
from covers.providers.apiframe import ApiframeAdapter
from covers.providers.apikley import ApikleyAdapter
from covers.providers.base import CoverRequest, ValidationFailed
from covers.providers.registry import sandbox_key, uses_sandbox
from sandbox import faults, payloads
from sandbox.models import SandboxTask
from sandbox.tasks import enqueue, find_track

S = SandboxTask.Status
Kind = SandboxTask.Kind
# The field names each provider uses on the wire, mapped to ours (for the shared validation).
APIKLEY_FIELDS = {"uploadUrl": "upload_url", "callBackUrl": "callback_url", "model": "model",
                  "customMode": "custom_mode", "instrumental": "instrumental",
                  "prompt": "prompt", "style": "style", "title": "title",
                  "negativeTags": "negative_tags", "vocalGender": "vocal_gender",
                  "styleWeight": "style_weight", "weirdnessConstraint": "weirdness_constraint",
                  "audioWeight": "audio_weight", "personaId": "persona_id"}
APIFRAME_FIELDS = {"parentJobId": "parent_job_id", "index": "track_index", "trackId": "track_id",
                   "prompt": "prompt", "title": "title", "style": "style",
                   "negative_tags": "negative_tags", "audio_weight": "audio_weight",
                   "webhookUrl": "callback_url"}
APIFRAME_MODELS = {"V4", "V4_5", "V4_5ALL", "V4_5PLUS", "V5", "V5_5"}


def sandboxed(provider):
    """Only answer for a provider the sandbox serves; API views skip CSRF like a real API."""

    def decorate(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not uses_sandbox(provider):
                raise Http404("This provider is not served by the sandbox.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def read_body(request):
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


TEXT_FIELDS = {"upload_url", "callback_url", "model", "prompt", "style", "title",
               "negative_tags", "vocal_gender", "persona_id", "parent_job_id", "track_id"}


def wire_request(body, names):
    """The wire body as a CoverRequest, so the adapters' own validation can judge it."""
    values = {ours: body[theirs] for theirs, ours in names.items() if body.get(theirs) is not None}
    wrong = {name: "Must be a string." for name in sorted(TEXT_FIELDS & values.keys())
             if not isinstance(values[name], str)}
    if wrong:
        raise ValidationFailed(wrong)
    values.setdefault("callback_url", "")
    return CoverRequest(**values)


def bad_weight(body, names):
    """The first weight that is not a number with at most 2 decimals (the real APIs refuse
    more, which is why the adapters round)."""
    for name in names:
        value = body.get(name)
        if value is None:
            continue
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return name
        if isinstance(value, bool) or number != number.quantize(Decimal("0.01")):
            return name
    return None


def submit_fault(task_faults):
    return next((f for f in task_faults if f in faults.SUBMIT), None)


# --- Apikley -----------------------------------------------------------------------------


def apikley_reply(code, msg, data=None, *, status=200):
    return JsonResponse({"code": code, "msg": msg, "data": data}, status=status)


def apikley_refusal(request, fault, body=None):
    """Auth and submit faults, in Apikley's words (errors travel in a 200 body)."""
    if request.headers.get("Authorization") != f"Bearer {sandbox_key()}":
        return apikley_reply(401, "Unauthorized: invalid or missing API key", status=401)
    if fault == "down":
        return HttpResponse("Service Unavailable", status=503, content_type="text/plain")
    if fault == "429":
        return apikley_reply(429, "Rate limited: request limit exceeded")
    if fault == "455":
        return apikley_reply(455, "Service unavailable: system maintenance")
    if fault == "402":
        return apikley_reply(402, "Insufficient credits")
    if fault == "451" and body is not None:
        upload_host = f"{settings.PUBLIC_BASE_URL}/sandbox/apikley/file-upload/"
        if not str(body.get("uploadUrl", "")).startswith(upload_host):
            return apikley_reply(451, "File fetch failed: could not download uploadUrl")
    return None


@sandboxed("apikley")
@require_POST
def apikley_upload_cover(request):
    body = read_body(request)
    task_faults = faults.for_request(" ".join(str(body.get(k, "")) for k in (
        "title", "style", "prompt")) if body else "")
    refusal = apikley_refusal(request, submit_fault(task_faults), body or {})
    if refusal:
        return refusal
    if body is None:
        return apikley_reply(422, "Validation error: the body is not a JSON object")
    for key in ("uploadUrl", "customMode", "instrumental", "model", "callBackUrl"):
        if key not in body:
            return apikley_reply(422, f"Validation error: {key} is required")
    if not isinstance(body["customMode"], bool) or not isinstance(body["instrumental"], bool):
        return apikley_reply(422, "Validation error: customMode and instrumental are booleans")
    weight = bad_weight(body, ("styleWeight", "weirdnessConstraint", "audioWeight"))
    if weight:
        return apikley_reply(422, f"Validation error: {weight} must be a number with at most "
                                  "2 decimals")
    try:
        ApikleyAdapter(None).validate_cover(wire_request(body, APIKLEY_FIELDS))
    except ValidationFailed as exc:
        return apikley_reply(422, f"Validation error: {exc.message}")
    task = SandboxTask.objects.create(
        provider="apikley", kind=Kind.COVER, request=body, source_url=body["uploadUrl"],
        callback_url=body["callBackUrl"], faults=task_faults,
    )
    enqueue(task)
    return apikley_reply(200, "success", {"taskId": task.task_id})


@sandboxed("apikley")
@require_GET
def apikley_record_info(request):
    refusal = apikley_refusal(request, None)
    if refusal:
        return refusal
    task = SandboxTask.objects.filter(
        provider="apikley", task_id=request.GET.get("taskId", ""),
        kind=Kind.COVER).first()
    if task is None:
        return apikley_reply(404, "Task not found")
    return apikley_reply(200, "success", payloads.apikley_record(task))


@sandboxed("apikley")
@require_POST
def apikley_cover_generate(request):
    body = read_body(request) or {}
    music = SandboxTask.objects.filter(provider="apikley", kind=Kind.COVER,
                                       task_id=str(body.get("taskId", ""))).first()
    task_faults = faults.for_request(music.text if music else "", prefix="art-")
    refusal = apikley_refusal(request, submit_fault(task_faults))
    if refusal:
        return refusal
    if not body.get("taskId") or not body.get("callBackUrl"):
        return apikley_reply(422, "Validation error: taskId and callBackUrl are required")
    if music is None:
        return apikley_reply(404, "Music task not found")
    if music.status != S.COMPLETE:
        return apikley_reply(422, "Validation error: the music task has not finished")
    existing = music.children.filter(kind=Kind.ART).first()
    if existing:
        return apikley_reply(400, "Cover already generated for this task",
                             {"taskId": existing.task_id})
    task = SandboxTask.objects.create(
        provider="apikley", kind=Kind.ART, parent=music, request=body,
        callback_url=body["callBackUrl"], faults=task_faults,
    )
    enqueue(task)
    return apikley_reply(200, "success", {"taskId": task.task_id})


@sandboxed("apikley")
@require_GET
def apikley_cover_record_info(request):
    refusal = apikley_refusal(request, None)
    if refusal:
        return refusal
    task = SandboxTask.objects.filter(provider="apikley", kind=Kind.ART,
                                      task_id=request.GET.get("taskId", "")).first()
    if task is None:
        return apikley_reply(404, "Cover task not found")
    return apikley_reply(200, "success", payloads.apikley_art_record(task))


@sandboxed("apikley")
@require_GET
def apikley_credit(request):
    return apikley_refusal(request, None) or apikley_reply(200, "success", 10000)


UPLOAD_PREFIX = "sandbox/uploads"


@sandboxed("apikley")
@require_POST
def apikley_file_stream_upload(request):
    refusal = apikley_refusal(request, None)
    if refusal:
        return refusal
    upload = request.FILES.get("file")
    folder = request.POST.get("uploadPath", "").strip("/")
    name = request.POST.get("fileName", "") or (upload.name if upload else "")
    if not upload or not folder or "/" in name or ".." in folder or not name:
        return apikley_reply(400, "file, uploadPath and fileName are required")
    key = f"{UPLOAD_PREFIX}/{folder}/{name}"
    default_storage.delete(key)  # reusing a fileName overwrites, as upstream does
    default_storage.save(key, ContentFile(upload.read()))
    url = f"{settings.PUBLIC_BASE_URL}/sandbox/apikley/file-upload/files/{folder}/{name}"
    return JsonResponse({"success": True, "code": 200, "msg": "File uploaded successfully",
                         "data": {"fileName": name, "filePath": f"{folder}/{name}",
                                  "downloadUrl": url, "fileSize": upload.size,
                                  "mimeType": content_type_for(name),
                                  "uploadedAt": timezone.now().isoformat()}})


@sandboxed("apikley")
@require_GET
def apikley_uploaded_file(request, path):
    key = f"{UPLOAD_PREFIX}/{path}"
    if ".." in path or not default_storage.exists(key):
        raise Http404
    ttl = timedelta(seconds=getattr(settings, "SANDBOX_UPLOAD_TTL_SECONDS", 3 * 86400))
    if default_storage.get_modified_time(key) + ttl < timezone.now():
        raise Http404("expired")
    return FileResponse(default_storage.open(key, "rb"), content_type=content_type_for(key))


# --- apiin.one ---------------------------------------------------------------------------


def apiinone_error(status, kind, message):
    return JsonResponse({"code": status, "error": {"type": kind, "message": message}},
                        status=status)


def apiinone_refusal(request, fault):
    if request.headers.get("Authorization") != f"Bearer {sandbox_key()}":
        return apiinone_error(401, "authentication_error", "Invalid or missing API key.")
    if fault == "down":
        return apiinone_error(503, "service_unavailable", "Service temporarily unavailable.")
    if fault == "429":
        return apiinone_error(429, "rate_limit_error", "Too many requests.")
    if fault == "455":
        return JsonResponse({"code": 455, "msg": "System maintenance", "data": None})
    if fault == "402":
        return apiinone_error(402, "insufficient_credits", "Not enough credits.")
    return None


@sandboxed("apiinone")
@require_POST
def apiinone_upload_cover(request):
    body = read_body(request)
    task_faults = faults.for_request(" ".join(str(body.get(k, "")) for k in (
        "title", "style", "prompt")) if body else "")
    refusal = apiinone_refusal(request, submit_fault(task_faults))
    if refusal:
        return refusal
    audio_id = str((body or {}).get("audio_id") or "")
    if not audio_id:
        return apiinone_error(400, "invalid_request", "audio_id is required.")
    if body.get("custom_mode") and not body.get("prompt"):
        return apiinone_error(400, "invalid_request", "prompt is required in custom mode.")
    if audio_id.startswith("missing"):
        return apiinone_error(404, "not_found", "Audio ID not found.")
    found = find_track(audio_id)
    if found and not 6 <= (found[1]["duration"] or 0) <= 60:
        return apiinone_error(400, "invalid_request",
                              "Uploaded audio length does not meet guidelines (6-60s).")
    task = SandboxTask.objects.create(
        provider="apiinone", kind=Kind.COVER, request=body,
        callback_url=body.get("callback_url") or "", faults=task_faults,
    )
    enqueue(task)
    return JsonResponse({"code": 200, "message": "success", "data": {"task_id": task.task_id}})


@sandboxed("apiinone")
@require_GET
def apiinone_upload_cover_status(request):
    refusal = apiinone_refusal(request, None)
    if refusal:
        return refusal
    task = SandboxTask.objects.filter(provider="apiinone", kind=Kind.COVER,
                                      task_id=request.GET.get("task_id", "")).first()
    if task is None:
        return apiinone_error(404, "not_found", "Task ID not found.")
    return JsonResponse(payloads.apiinone_status(task))


@sandboxed("apiinone")
@require_POST
def apiinone_cover_generate(request):
    body = read_body(request) or {}
    music_id = str(body.get("taskId") or body.get("task_id") or "")
    music = SandboxTask.objects.filter(provider="apiinone", kind=Kind.COVER,
                                       task_id=music_id).first()
    task_faults = faults.for_request(music.text if music else "", prefix="art-")
    refusal = apiinone_refusal(request, submit_fault(task_faults))
    if refusal:
        return refusal
    if not music_id:
        return JsonResponse({"code": 400, "msg": "taskId is required", "data": None},
                            status=400)
    if music is None or music.status != S.COMPLETE:
        return apiinone_error(404, "not_found", "Original music task not found.")
    if music.children.filter(kind=Kind.ART).exists():
        # Unlike Apikley, no id of the first cover-art task comes back.
        return JsonResponse({"code": 400, "msg": "Cover already generated for this task",
                             "data": None}, status=400)
    task = SandboxTask.objects.create(
        provider="apiinone", kind=Kind.ART, parent=music, request=body,
        callback_url=body.get("callback_url") or "", faults=task_faults,
    )
    enqueue(task)
    return JsonResponse({"code": 200, "msg": "success", "data": {"taskId": task.task_id}})


@sandboxed("apiinone")
@require_GET
def apiinone_cover_status(request):
    refusal = apiinone_refusal(request, None)
    if refusal:
        return refusal
    task = SandboxTask.objects.filter(provider="apiinone", kind=Kind.ART,
                                      task_id=request.GET.get("task_id", "")).first()
    if task is None:
        return apiinone_error(404, "not_found", "Cover task not found.")
    return JsonResponse(payloads.apiinone_art_status(task))


# --- Apiframe ----------------------------------------------------------------------------


def apiframe_error(status, message):
    return JsonResponse({"error": message}, status=status)


def apiframe_refusal(request, fault):
    if request.headers.get("X-API-Key") != sandbox_key():
        return apiframe_error(401, "Invalid API key")
    if fault in ("down", "455"):
        return apiframe_error(503, "Queue unavailable")
    if fault == "429":
        return apiframe_error(429, "Too many requests")
    if fault == "402":
        return apiframe_error(402, "Insufficient credits")
    return None


def apiframe_queued(task):
    enqueue(task)
    return JsonResponse({"jobId": task.task_id, "status": "QUEUED"}, status=202)


def new_job_id():
    import uuid

    return str(uuid.uuid4())


@sandboxed("apiframe")
@require_POST
def apiframe_generate(request):
    body = read_body(request)
    params = (body or {}).get("sunoParams") or {}
    task_faults = faults.for_request(" ".join(str(v) for v in (
        (body or {}).get("prompt"), params.get("title"), params.get("style")) if v))
    refusal = apiframe_refusal(request, submit_fault(task_faults))
    if refusal:
        return refusal
    if body is None or body.get("model") != "suno" or not isinstance(params, dict):
        return apiframe_error(400, "model must be \"suno\" with sunoParams")
    limits = {"title": 80, "style": 1000, "negative_tags": 500}
    for name, limit in limits.items():
        if len(str(params.get(name) or "")) > limit:
            return apiframe_error(400, f"sunoParams.{name} is longer than {limit} characters")
    if params.get("model_version", "V5") not in APIFRAME_MODELS:
        return apiframe_error(400, "Unknown sunoParams.model_version")
    task = SandboxTask.objects.create(
        task_id=new_job_id(), provider="apiframe", kind=Kind.GENERATE, request=body,
        callback_url=body.get("webhookUrl") or "", faults=task_faults,
    )
    return apiframe_queued(task)


@sandboxed("apiframe")
@require_POST
def apiframe_action(request):
    body = read_body(request)
    task_faults = faults.for_request(" ".join(str((body or {}).get(k, "")) for k in (
        "title", "style", "prompt")))
    refusal = apiframe_refusal(request, submit_fault(task_faults))
    if refusal:
        return refusal
    if body is None or body.get("action") != "cover":
        return apiframe_error(400, "The sandbox supports action \"cover\" only")
    if bad_weight(body, ("audio_weight",)):
        return apiframe_error(400, "audio_weight must be a number with at most 2 decimals")
    try:
        ApiframeAdapter(None, api_key="").validate_cover(wire_request(body, APIFRAME_FIELDS))
    except ValidationFailed as exc:
        return apiframe_error(400, exc.message)
    parent = SandboxTask.objects.filter(
        provider="apiframe", task_id=str(body["parentJobId"]),
        kind__in=(Kind.GENERATE, Kind.COVER)).first()
    if parent is None:
        return apiframe_error(404, "Parent job not found")
    if parent.status != S.COMPLETE:
        return apiframe_error(400, "Parent job is not completed")
    if body.get("trackId") and body["trackId"] not in {t["id"] for t in parent.tracks}:
        return apiframe_error(400, "trackId is not one of the parent's tracks")
    task = SandboxTask.objects.create(
        task_id=new_job_id(), provider="apiframe", kind=Kind.COVER, parent=parent,
        request=body, callback_url=body.get("webhookUrl") or "", faults=task_faults,
    )
    return apiframe_queued(task)


@sandboxed("apiframe")
@require_GET
def apiframe_job(request, job_id):
    refusal = apiframe_refusal(request, None)
    if refusal:
        return refusal
    task = SandboxTask.objects.filter(provider="apiframe", task_id=job_id).exclude(
        kind=Kind.ART).first()
    if task is None:
        return apiframe_error(404, "Job not found")
    return JsonResponse(payloads.apiframe_job(task))


# --- files -------------------------------------------------------------------------------


@require_GET
def task_file(request, task_id, name):
    """A result file; like the providers' CDNs it stops answering after a while."""
    task = SandboxTask.objects.filter(task_id=task_id).first()
    if task is None or not uses_sandbox(task.provider):
        raise Http404
    names = [t[k] for t in task.tracks for k in ("audio", "image")] + list(task.images)
    key = next((n for n in names if n.rsplit("/", 1)[-1] == name), None)
    if key is None:
        raise Http404
    ttl = timedelta(seconds=getattr(settings, "SANDBOX_FILE_TTL_SECONDS", 15 * 86400))
    if task.finished_at and task.finished_at + ttl < timezone.now():
        raise Http404("expired")
    return FileResponse(default_storage.open(key, "rb"), content_type=content_type_for(key))
