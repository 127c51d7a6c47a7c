"""Apikley (a kie.ai-style Suno API): upload-cover, record-info, cover art, callbacks.
Wire contract: ../shared/providers/apikley.md."""

import uuid

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
    round_weight,
    validate_source_length,
    validate_text,
    validate_weights,
)

TRANSIENT_CODES = {429, 455, 500, 502, 503, 504}
REFUNDED_CODE = 531
FETCH_FAILED_CODE = 451

RECORD_STATES = {
    "PENDING": State.QUEUED,
    "TEXT_SUCCESS": State.TEXT_READY,
    "FIRST_SUCCESS": State.FIRST_READY,
    "SUCCESS": State.SUCCEEDED,
    "CREATE_TASK_FAILED": State.FAILED,
    "GENERATE_AUDIO_FAILED": State.FAILED,
    "CALLBACK_EXCEPTION": State.FAILED,
    "SENSITIVE_WORD_ERROR": State.FAILED,
}
CALLBACK_STATES = {
    "text": State.TEXT_READY,
    "first": State.FIRST_READY,
    "complete": State.SUCCEEDED,
    "error": State.FAILED,
}
# Cover art details: upstream sends an integer, the doc text names states.
ART_STATES = {
    0: State.QUEUED,
    1: State.SUCCEEDED,
    2: State.RUNNING,
    3: State.FAILED,
    "PENDING": State.QUEUED,
    "GENERATING": State.RUNNING,
    "SUCCESS": State.SUCCEEDED,
    "CREATE_TASK_FAILED": State.FAILED,
    "GENERATE_COVER_FAILED": State.FAILED,
}
UPLOAD_PATH = "coverlab"
MAX_UPLOAD_BYTES = 200 * 1024 * 1024


class ApikleyAdapter(Adapter):
    name = "apikley"

    def __init__(self, http, *, upload_http=None):
        self.http = http
        self.upload_http = upload_http  # the file-upload host, for the 451 fallback
        self.info = catalog.APIKLEY

    # --- validation -------------------------------------------------------------------

    def validate_cover(self, request):
        errors = {}
        limits = self.info.models.get(request.model)
        if limits is None:
            errors["model"] = f"Choose one of {', '.join(self.info.models)}."
        if not request.upload_url:
            errors["upload_url"] = "A source audio URL is required."
        if not request.callback_url:
            errors["callback_url"] = "A callback URL is required."
        rule = self.info.mode_rules[(request.custom_mode, request.instrumental)]
        mode = "custom mode" if request.custom_mode else "simple mode"
        for name in sorted(rule.required):
            if not (getattr(request, name) or "").strip():
                errors[name] = f"Required in {mode}."
        for name in sorted(rule.empty):
            if getattr(request, name):
                errors[name] = "Only used in custom mode."
        if request.custom_mode and limits:
            validate_text(errors, request,
                          {"prompt": limits.prompt, "style": limits.style, "title": limits.title})
        elif not request.custom_mode:
            validate_text(errors, request, {"prompt": self.info.limits["non_custom_prompt"]})
        if request.vocal_gender and request.vocal_gender not in ("m", "f"):
            errors["vocal_gender"] = "Use m or f."
        validate_weights(errors, request)
        validate_source_length(errors, request, catalog.source_window("apikley", request.model))
        if errors:
            raise ValidationFailed(errors)

    # --- requests ---------------------------------------------------------------------

    def cover_body(self, request):
        body = {
            "uploadUrl": request.upload_url,
            "customMode": request.custom_mode,
            "instrumental": request.instrumental,
            "model": request.model,
            "callBackUrl": request.callback_url,
            "prompt": request.prompt,
        }
        if request.custom_mode:
            body["style"] = request.style
            body["title"] = request.title
            if request.vocal_gender:
                body["vocalGender"] = request.vocal_gender
            if request.persona_id:
                body["personaId"] = request.persona_id
        if request.negative_tags:
            body["negativeTags"] = request.negative_tags
        for key, value in (
            ("styleWeight", request.style_weight),
            ("weirdnessConstraint", request.weirdness_constraint),
            ("audioWeight", request.audio_weight),
        ):
            if value is not None:
                body[key] = round_weight(value)
        return body

    def submit_upload_cover(self, request):
        self.validate_cover(request)
        body = self.cover_body(request)
        try:
            return self._submit_cover(body)
        except ProviderError as exc:
            if exc.code != FETCH_FAILED_CODE or self.upload_http is None:
                raise
        # The provider could not fetch our URL: hand the file to its own upload host.
        body["uploadUrl"] = self.upload_file(request.upload_url)
        return self._submit_cover(body)

    submit_track_cover = submit_upload_cover

    def _submit_cover(self, body):
        data = self.envelope(self.http.request("POST", "/api/v1/generate/upload-cover",
                                               json_body=body))
        return TaskResult(task_id=str(pick(data, "taskId", "task_id")), state=State.QUEUED)

    def upload_file(self, url):
        """Download `url` and POST it to the file-upload host; return its downloadUrl."""
        from covers.providers import http as provider_http

        with provider_http.client() as client, client.stream("GET", url) as response:
            if response.status_code != 200:
                raise ProviderError(
                    f"Could not read the source audio for upload (HTTP {response.status_code})",
                    permanent=False,
                )
            content = bytearray()
            for chunk in response.iter_bytes():
                content += chunk
                if len(content) > MAX_UPLOAD_BYTES:
                    raise ProviderError("The source audio is too large to upload", permanent=True)
            content_type = response.headers.get("content-type", "audio/mpeg").split(";")[0]
        suffix = {"audio/wav": ".wav", "audio/x-wav": ".wav", "audio/flac": ".flac",
                  "audio/mp4": ".m4a", "audio/ogg": ".ogg"}.get(content_type, ".mp3")
        file_name = f"{uuid.uuid4().hex}{suffix}"
        fields = {"uploadPath": UPLOAD_PATH, "fileName": file_name}
        response = self.upload_http.request(
            "POST",
            "/api/file-stream-upload",
            data=fields,
            files={"file": (file_name, bytes(content), content_type)},
            record_body={**fields, "file": f"<{len(content)} bytes>"},
        )
        data = self.envelope(response)
        download_url = pick(data, "downloadUrl", "download_url", "fileUrl", "url")
        if not download_url:
            raise ProviderError("The upload host returned no downloadUrl", permanent=False)
        return download_url

    def submit_cover_art(self, request):
        body = {"taskId": request.music_task_id, "callBackUrl": request.callback_url}
        try:
            data = self.envelope(self.http.request("POST", "/api/v1/suno/cover/generate",
                                                   json_body=body))
        except ProviderError as exc:
            # Art is made once per music task: a repeat is a 400 carrying the first taskId.
            if exc.code == 400 and exc.task_id:
                return TaskResult(task_id=exc.task_id, state=State.QUEUED, stage="existing")
            raise
        return TaskResult(task_id=str(pick(data, "taskId", "task_id")), state=State.QUEUED)

    def fetch_status(self, task_id, kind):
        if kind == catalog.COVER_ART:
            response = self.http.request("GET", "/api/v1/suno/cover/record-info",
                                         params={"taskId": task_id})
            return self.parse_art_record(self.envelope(response), task_id)
        response = self.http.request("GET", "/api/v1/generate/record-info",
                                     params={"taskId": task_id})
        return self.parse_music_record(self.envelope(response), task_id)

    def import_task(self, task_id):
        return self.fetch_status(task_id, catalog.UPLOAD_COVER)

    def parse_callback(self, callback, kind):
        # No signature is documented: the per-job token in the URL is checked by the hook,
        # and terminal states are confirmed with record-info by the services.
        payload = read_callback_json(callback, "Apikley callback")
        if kind == catalog.COVER_ART:
            return self.parse_art_callback(payload)
        return self.parse_music_callback(payload)

    # --- parsing ----------------------------------------------------------------------

    def envelope(self, response):
        """`data` of a `{code, msg, data}` envelope; a ProviderError for any other code."""
        payload = read_json(response, "Apikley")
        payload = payload if isinstance(payload, dict) else {}
        code = as_int(payload.get("code"))
        if code is None:
            code = 200 if response.status_code < 400 else response.status_code
        if code == 200 and response.status_code < 400:
            return payload.get("data")
        data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
        message = pick(payload, "msg", "message", default="") or f"Apikley error {code}"
        transient = code in TRANSIENT_CODES or response.status_code >= 500
        if code == 429 and "credit" in message.lower():
            transient = False  # upstream also says 429 for "no credits left": never retry that
        raise ProviderError(
            message,
            permanent=not transient,
            code=code,
            status_code=response.status_code,
            task_id=pick(data, "taskId", "task_id"),
        )

    def parse_music_callback(self, payload):
        code = as_int(payload.get("code")) or 200
        inner = payload.get("data") if isinstance(payload.get("data"), dict) else {}
        stage = pick(inner, "callbackType", "callback_type", default="") or ""
        result = TaskResult(
            task_id=str(pick(inner, "task_id", "taskId", default="")),
            state=CALLBACK_STATES.get(stage, State.RUNNING),
            tracks=[parse_track(item) for item in (inner.get("data") or [])],
            stage=stage,
        )
        if code != 200 or stage == "error":
            result.state = State.FAILED
            result.error_code = str(code)
            result.error_message = pick(payload, "msg", "message", default="") or ""
            result.refunded = code == REFUNDED_CODE
        return check_finished(result)

    def parse_music_record(self, data, task_id):
        data = data if isinstance(data, dict) else {}
        status = str(data.get("status") or "")
        response = data.get("response") if isinstance(data.get("response"), dict) else {}
        items = pick(response, "sunoData", "suno_data", "data", default=[]) or []
        error_code = as_int(pick(data, "errorCode", "error_code"))
        result = TaskResult(
            task_id=str(pick(data, "taskId", "task_id", default=task_id)),
            state=RECORD_STATES.get(status, State.RUNNING),
            tracks=[parse_track(item) for item in items],
            stage=status,
        )
        if result.state == State.FAILED:
            result.error_code = str(error_code or status)
            result.error_message = pick(data, "errorMessage", "error_message", default="") or ""
            result.refunded = error_code == REFUNDED_CODE
        return check_finished(result)

    def parse_art_callback(self, payload):
        code = as_int(payload.get("code")) or 200
        inner = payload.get("data") if isinstance(payload.get("data"), dict) else {}
        result = TaskResult(
            task_id=str(pick(inner, "taskId", "task_id", default="")),
            state=State.SUCCEEDED if code == 200 else State.FAILED,
            images=[url for url in (inner.get("images") or []) if url],
            stage="complete" if code == 200 else "error",
        )
        if code != 200:
            result.error_code = str(code)
            result.error_message = pick(payload, "msg", "message", default="") or ""
        return check_finished(result, art=True)

    def parse_art_record(self, data, task_id):
        data = data if isinstance(data, dict) else {}
        flag = data.get("successFlag", data.get("success_flag"))
        key = as_int(flag) if as_int(flag) is not None else str(flag or "").upper()
        response = data.get("response") if isinstance(data.get("response"), dict) else {}
        result = TaskResult(
            task_id=str(pick(data, "taskId", "task_id", default=task_id)),
            state=ART_STATES.get(key, State.RUNNING),
            images=[url for url in (pick(response, "images", default=[]) or []) if url],
            stage=str(flag),
        )
        if result.state == State.FAILED:
            result.error_code = str(pick(data, "errorCode", "error_code", default="") or "failed")
            result.error_message = pick(data, "errorMessage", "error_message", default="") or ""
        return check_finished(result, art=True)
