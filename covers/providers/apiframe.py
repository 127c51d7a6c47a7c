"""Apiframe v2: `action: cover` on a completed Suno job, GET /v2/jobs/:id, signed webhooks.
Wire contract: ../shared/providers/apiframe.md."""

import base64
import hashlib
import hmac

from covers.providers import catalog
from covers.providers.base import (
    Adapter,
    ProviderError,
    State,
    TaskResult,
    ValidationFailed,
    check_finished,
    parse_track,
    pick,
    read_callback_json,
    read_json,
    round_weight,
    validate_text,
    validate_weights,
)

JOB_STATES = {
    "QUEUED": State.QUEUED,
    "PROCESSING": State.RUNNING,
    "COMPLETED": State.SUCCEEDED,
    "FAILED": State.FAILED,
}
WEBHOOK_EVENTS = ["progress", "completed", "failed"]
SIGNATURE_HEADER = "x-webhook-signature"


def signing_key(api_key):
    """Webhooks are signed with SHA-256 of the API key (its raw digest)."""
    return hashlib.sha256(api_key.encode()).digest()


def sign(api_key, body):
    """The hex signature the sandbox sends (and the first form we accept)."""
    return hmac.new(signing_key(api_key), body, hashlib.sha256).hexdigest()


def signature_ok(api_key, body, signature):
    """Constant-time check of hex or base64 HMAC-SHA256 over the raw body. Which form Apiframe
    sends, and whether the key is the digest or its hex text, is not documented: accept all."""
    signature = (signature or "").strip()
    if signature.lower().startswith("sha256="):
        signature = signature[7:]
    if not signature or not api_key:
        return False
    ok = False
    digest_key = signing_key(api_key)
    for key in (digest_key, digest_key.hex().encode()):
        mac = hmac.new(key, body, hashlib.sha256).digest()
        for expected in (mac.hex(), base64.b64encode(mac).decode()):
            ok |= hmac.compare_digest(expected.encode(), signature.encode())
    return ok


def error_message(payload):
    error = payload.get("error")
    if isinstance(error, dict):
        return pick(error, "message", "msg", default="") or ""
    return error if isinstance(error, str) and error else (pick(payload, "message", "msg") or "")


class ApiframeAdapter(Adapter):
    name = "apiframe"

    def __init__(self, http, *, api_key):
        self.http = http
        self.api_key = api_key
        self.info = catalog.APIFRAME

    def validate_cover(self, request):
        errors = {}
        limits = self.info.limits
        if not request.parent_job_id:
            errors["parent_job_id"] = "Choose a finished Apiframe job to cover."
        if (request.track_index is None) == (not request.track_id):
            errors["track_index"] = "Choose exactly one of the track number or the track id."
        elif request.track_index is not None and request.track_index not in limits["track_index"]:
            errors["track_index"] = "The track number is 1 or 2."
        validate_text(errors, request, {k: limits[k] for k in
                                        ("prompt", "title", "style", "negative_tags")})
        validate_weights(errors, request, names=("audio_weight",))
        if errors:
            raise ValidationFailed(errors)

    def submit_upload_cover(self, request):
        raise ProviderError("Apiframe cannot cover an uploaded clip (its API takes no audio "
                            "upload).", permanent=True, code="unsupported")

    def submit_track_cover(self, request):
        self.validate_cover(request)
        body = {"parentJobId": request.parent_job_id, "action": "cover"}
        if request.track_index is not None:
            body["index"] = request.track_index
        else:
            body["trackId"] = request.track_id
        for key, value in (("prompt", request.prompt), ("title", request.title),
                           ("style", request.style), ("negative_tags", request.negative_tags)):
            if value:
                body[key] = value
        if request.audio_weight is not None:
            body["audio_weight"] = round_weight(request.audio_weight)
        if request.callback_url:
            body["webhookUrl"] = request.callback_url
            body["webhookEvents"] = WEBHOOK_EVENTS
        payload = self.check(self.http.request("POST", "/v2/music/suno/action", json_body=body))
        return TaskResult(
            task_id=str(pick(payload, "jobId", "job_id", "id")),
            state=JOB_STATES.get(str(payload.get("status") or "QUEUED"), State.QUEUED),
        )

    def submit_cover_art(self, request):
        raise ProviderError("Apiframe does not make cover art.", permanent=True,
                            code="unsupported")

    def fetch_status(self, task_id, kind=catalog.TRACK_COVER):
        return self.parse_job(self.check(self.http.request("GET", f"/v2/jobs/{task_id}")))

    def import_task(self, task_id):
        return self.fetch_status(task_id)

    def parse_callback(self, callback, kind=catalog.TRACK_COVER):
        headers = {k.lower(): v for k, v in callback.headers.items()}
        if not signature_ok(self.api_key, callback.body, headers.get(SIGNATURE_HEADER)):
            raise ProviderError("Apiframe webhook signature does not match", permanent=True,
                                code="bad_signature")
        payload = read_callback_json(callback, "Apiframe webhook")
        result = self.parse_job(payload)
        result.task_id = str(pick(payload, "jobId", "job_id", "id", default=""))
        event = payload.get("event") or headers.get("x-webhook-event", "")
        result.stage = event or result.stage
        if event == "failed":
            result.state = State.FAILED
        elif event == "completed":
            result.state = State.SUCCEEDED
        elif event == "progress" and result.state not in (State.FAILED, State.SUCCEEDED):
            result.state = State.RUNNING
        return self.finish(result, error_message(payload))

    def check(self, response):
        payload = read_json(response, "Apiframe")
        payload = payload if isinstance(payload, dict) else {}
        status = response.status_code
        if status < 400:
            return payload
        raise ProviderError(
            error_message(payload) or f"Apiframe answered HTTP {status}",
            permanent=status not in (429, 500, 502, 503, 504),
            code=status,
            status_code=status,
        )

    def parse_job(self, payload):
        status = str(payload.get("status") or "")
        result_data = payload.get("result") if isinstance(payload.get("result"), dict) else {}
        result = TaskResult(
            task_id=str(pick(payload, "id", "jobId", default="")),
            state=JOB_STATES.get(status.upper(), State.RUNNING),
            tracks=[parse_track(t) for t in (result_data.get("tracks") or [])],
            progress=payload.get("progress") if isinstance(payload.get("progress"), int) else None,
            stage=status,
        )
        return self.finish(result, error_message(payload))

    def finish(self, result, message=""):
        if result.state == State.FAILED:
            result.error_code = result.error_code or "failed"
            result.error_message = result.error_message or message
            result.refunded = True  # a failed Apiframe job costs 0 credits (doc)
        return check_finished(result)
