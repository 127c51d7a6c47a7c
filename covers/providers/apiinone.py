"""apiin.one: upload-cover by Suno audio_id, its status, cover art and its status.
Wire contract: ../shared/providers/apiinone.md."""


from covers.providers import catalog
from covers.providers.base import (
    Adapter,
    ProviderError,
    State,
    TaskResult,
    ValidationFailed,
    as_int,
    check_finished,
    parse_track,
    pick,
    read_callback_json,
    read_json,
    validate_source_length,
    validate_text,
)

TRANSIENT_CODES = {429, 455, 500, 502, 503, 504}
# Only `complete` is documented; the feed's stage names and the obvious failures are guesses.
MUSIC_STATES = {
    "pending": State.QUEUED,
    "queued": State.QUEUED,
    "submitted": State.QUEUED,
    "text": State.TEXT_READY,
    "text_success": State.TEXT_READY,
    "first": State.FIRST_READY,
    "first_success": State.FIRST_READY,
    "complete": State.SUCCEEDED,
    "completed": State.SUCCEEDED,
    "success": State.SUCCEEDED,
    "succeeded": State.SUCCEEDED,
    "failed": State.FAILED,
    "fail": State.FAILED,
    "error": State.FAILED,
}
ART_STATES = {
    "PENDING": State.QUEUED,
    "GENERATING": State.RUNNING,
    "SUCCESS": State.SUCCEEDED,
    "COMPLETE": State.SUCCEEDED,
    "FAILED": State.FAILED,
    "ERROR": State.FAILED,
}
REPEAT_ART_MESSAGE = (
    "apiin.one has already made cover art for this music task and does not say which task "
    "holds it; look for the earlier cover-art job."
)


def message_of(payload):
    """apiin.one words its errors as `message`, `msg` or `error.message`."""
    error = payload.get("error")
    if isinstance(error, dict):
        return pick(error, "message", "msg", default="") or ""
    return pick(payload, "message", "msg", default="") or (error if isinstance(error, str) else "")


class ApiinoneAdapter(Adapter):
    name = "apiinone"

    def __init__(self, http):
        self.http = http
        self.info = catalog.APIINONE

    def validate_cover(self, request):
        errors = {}
        if not request.audio_id.strip():
            errors["audio_id"] = "A Suno audio id is required."
        rule = self.info.mode_rules[(request.custom_mode, request.instrumental)]
        for name in sorted(rule.required):
            if not (getattr(request, name) or "").strip():
                errors[name] = "Required in custom mode."
        validate_text(errors, request, self.info.limits)
        validate_source_length(errors, request, self.info.source_seconds)
        if errors:
            raise ValidationFailed(errors)

    def submit_upload_cover(self, request):
        self.validate_cover(request)
        body = {"audio_id": request.audio_id, "custom_mode": request.custom_mode}
        for key in ("prompt", "style", "title"):
            if getattr(request, key):
                body[key] = getattr(request, key)
        body["callback_url"] = request.callback_url
        data = self.envelope(self.http.request(
            "POST", "/audio/music/upload-cover/generate", json_body=body))
        return TaskResult(task_id=str(pick(data, "task_id", "taskId")), state=State.QUEUED)

    submit_track_cover = submit_upload_cover

    def submit_cover_art(self, request):
        # The pages disagree on the field's name: send both.
        body = {"taskId": request.music_task_id, "task_id": request.music_task_id}
        try:
            data = self.envelope(self.http.request(
                "POST", "/audio/music/cover/generate", json_body=body))
        except ProviderError as exc:
            if exc.code in (400, "bad_request", "invalid_request"):
                # A repeat is a 400 without the first task's id; so is an invalid request.
                repeat = "already" in exc.message.lower()
                raise ProviderError(
                    REPEAT_ART_MESSAGE if repeat else f"{exc.message} (apiin.one answers 400 "
                    "this way too when cover art was already made for the task)",
                    permanent=True,
                    code="already_generated" if repeat else exc.code,
                    status_code=exc.status_code,
                ) from exc
            raise
        return TaskResult(task_id=str(pick(data, "taskId", "task_id")), state=State.QUEUED)

    def fetch_status(self, task_id, kind):
        path = ("/audio/music/cover/status" if kind == catalog.COVER_ART
                else "/audio/music/upload-cover/status")
        data = self.envelope(self.http.request("GET", path, params={"task_id": task_id}))
        if kind == catalog.COVER_ART:
            return self.parse_art(data, task_id)
        return self.parse_music(data, task_id)

    def import_task(self, task_id):
        return self.fetch_status(task_id, catalog.UPLOAD_COVER)

    def parse_callback(self, callback, kind):
        # Undocumented body: assumed to mirror the status response (token checked by the hook).
        payload = read_callback_json(callback, "apiin.one callback")
        data = payload.get("data") if isinstance(payload.get("data"), dict) else payload
        code = as_int(payload.get("code"))
        if code not in (None, 200):
            return TaskResult(
                task_id=str(pick(data, "task_id", "taskId", default="")),
                state=State.FAILED,
                error_code=str(code),
                error_message=message_of(payload),
            )
        if kind == catalog.COVER_ART:
            return self.parse_art(data, "")
        return self.parse_music(data, "")

    def envelope(self, response):
        payload = read_json(response, "apiin.one")
        payload = payload if isinstance(payload, dict) else {}
        code = as_int(payload.get("code"))
        if code is None:
            code = 200 if response.status_code < 400 else response.status_code
        if code == 200 and response.status_code < 400 and not payload.get("error"):
            return payload.get("data")
        error = payload.get("error") if isinstance(payload.get("error"), dict) else {}
        status = response.status_code
        raise ProviderError(
            message_of(payload) or f"apiin.one error {code}",
            permanent=code not in TRANSIENT_CODES and status not in TRANSIENT_CODES,
            code=pick(error, "type", "code", default=code) if error else code,
            status_code=status,
        )

    def parse_music(self, data, task_id):
        data = data if isinstance(data, dict) else {}
        status = str(data.get("status") or "")
        failure = pick(data, "fail_message", "error_message", "failMessage", "errorMessage")
        result = TaskResult(
            task_id=str(pick(data, "task_id", "taskId", default=task_id)),
            state=MUSIC_STATES.get(status.lower(), State.RUNNING),
            tracks=[parse_track(c) for c in (pick(data, "clips", "data", default=[]) or [])],
            stage=status,
        )
        if failure or result.state == State.FAILED:
            result.state = State.FAILED
            result.error_code = str(pick(data, "error_code", "errorCode", default="") or "failed")
            result.error_message = failure or ""
        return check_finished(result)

    def parse_art(self, data, task_id):
        data = data if isinstance(data, dict) else {}
        status = str(data.get("status") or "")
        result = TaskResult(
            task_id=str(pick(data, "taskId", "task_id", default=task_id)),
            state=ART_STATES.get(status.upper(), State.RUNNING),
            images=[url for url in (data.get("images") or []) if url],
            stage=status,
        )
        if result.state == State.FAILED:
            result.error_code = "failed"
            result.error_message = message_of(data)
        return check_finished(result, art=True)
