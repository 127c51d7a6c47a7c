"""The provider contract: what every adapter offers and the plain results it returns.

Adapters know wire formats only: no Django models, views or credits in here. Results are
dataclasses the job services translate into rows.
"""

import json
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum


class ProviderError(Exception):
    """A request the provider refused or could not take.

    `permanent` errors (bad parameters, bad key, no credits, content refused) are never
    retried; the others (timeouts, 429, 5xx, maintenance) may be.
    """

    def __init__(self, message, *, permanent, code=None, status_code=None, task_id=None):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.code = code  # the provider's own code, e.g. 451 or "invalid_request"
        self.status_code = status_code
        self.task_id = task_id  # set when an error still names a task (Apikley's repeat art)


class ValidationFailed(ProviderError):
    """A request that breaks a provider's documented limits, caught before it is sent.
    `errors` maps a form field name to its message."""

    def __init__(self, errors):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()), permanent=True)


class State(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    TEXT_READY = "text_ready"
    FIRST_READY = "first_ready"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def terminal(self):
        return self in (State.SUCCEEDED, State.FAILED)


@dataclass
class TrackResult:
    id: str = ""
    title: str = ""
    tags: str = ""
    prompt: str = ""
    duration: float | None = None
    audio_url: str = ""
    stream_url: str = ""
    image_url: str = ""


@dataclass
class TaskResult:
    """A provider task as we understand it, from a submit, a poll or a callback."""

    task_id: str
    state: State
    tracks: list[TrackResult] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    progress: int | None = None
    error_code: str = ""
    error_message: str = ""
    refunded: bool = False
    # The stage name as the provider said it (callbackType, event, status), for the timeline.
    stage: str = ""


@dataclass
class CoverRequest:
    """Everything a song-cover submission may carry; each adapter sends what it supports."""

    callback_url: str
    model: str = ""
    upload_url: str = ""  # Apikley: the audio the provider downloads
    audio_id: str = ""  # apiin.one: a Suno audio/clip id
    parent_job_id: str = ""  # Apiframe: the parent job
    track_index: int | None = None  # Apiframe: 1 or 2
    track_id: str = ""  # Apiframe: a parent's track id
    custom_mode: bool = False
    instrumental: bool = False
    prompt: str = ""
    style: str = ""
    title: str = ""
    negative_tags: str = ""
    vocal_gender: str = ""
    style_weight: Decimal | None = None
    weirdness_constraint: Decimal | None = None
    audio_weight: Decimal | None = None
    persona_id: str = ""
    source_seconds: float | None = None  # the source audio's length, checked against limits


@dataclass
class ArtRequest:
    music_task_id: str
    callback_url: str


@dataclass
class Callback:
    """An inbound push, as received: the raw body and headers, before any parsing."""

    body: bytes
    headers: dict[str, str]


class Adapter:
    """What every provider adapter implements. `kind` is "upload_cover", "track_cover" or
    "cover_art" where the method needs to know which task family it is asking about."""

    name = ""

    def validate_cover(self, request: CoverRequest) -> None:
        """Raise ValidationFailed (field -> message) before anything is sent."""
        raise NotImplementedError

    def submit_upload_cover(self, request: CoverRequest) -> TaskResult:
        raise NotImplementedError

    def submit_track_cover(self, request: CoverRequest) -> TaskResult:
        raise NotImplementedError

    def submit_cover_art(self, request: ArtRequest) -> TaskResult:
        raise NotImplementedError

    def fetch_status(self, task_id: str, kind: str) -> TaskResult:
        raise NotImplementedError

    def parse_callback(self, callback: Callback, kind: str) -> TaskResult:
        """Verify (where the provider signs) and parse a push. Raises ProviderError on a
        forged or unreadable one."""
        raise NotImplementedError

    def import_task(self, task_id: str) -> TaskResult:
        raise NotImplementedError


# Helpers the adapters share: reading loosely-typed provider JSON.

def pick(data, *names, default=None):
    """The first present, non-None value among `names` (providers mix camel and snake case)."""
    if not isinstance(data, dict):
        return default
    for name in names:
        if data.get(name) is not None:
            return data[name]
    return default


def as_int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def round_weight(value):
    """0-1 weights go out with at most 2 decimals, rounded half-up (0.125 -> 0.13)."""
    if value is None:
        return None
    from decimal import ROUND_HALF_UP

    return float(Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def parse_track(item):
    """One track from any provider's payload, whatever its casing."""
    duration = pick(item, "duration")
    try:
        duration = float(duration) if duration is not None else None
    except (TypeError, ValueError):
        duration = None
    return TrackResult(
        id=str(pick(item, "id", "audioId", "audio_id", "clip_id", default="")),
        title=pick(item, "title", default="") or "",
        tags=pick(item, "tags", default="") or "",
        prompt=pick(item, "prompt", "lyrics", default="") or "",
        duration=duration,
        audio_url=pick(item, "audio_url", "audioUrl", default="") or "",
        stream_url=pick(item, "stream_audio_url", "streamAudioUrl", "stream_url", default="")
        or "",
        image_url=pick(item, "image_url", "imageUrl", default="") or "",
    )


def check_finished(result, *, art=False):
    """A task reported done without files is a failure ("finished without audio")."""
    if result.state != State.SUCCEEDED:
        return result
    if art and not result.images:
        result.state, result.error_code = State.FAILED, "no_images"
        result.error_message = "The provider reported success but returned no images."
    elif not art and not any(t.audio_url for t in result.tracks):
        result.state, result.error_code = State.FAILED, "no_audio"
        result.error_message = "The provider reported success but returned no audio."
    return result


def read_json(response, provider):
    """The JSON body, or a ProviderError naming what came back instead."""
    try:
        return response.json()
    except ValueError:
        transient = response.status_code >= 500 or response.status_code == 429
        raise ProviderError(
            f"{provider} answered HTTP {response.status_code} without JSON",
            permanent=not transient,
            status_code=response.status_code,
        ) from None


def read_callback_json(callback, what):
    """A pushed body as a JSON object, or a permanent ProviderError ("Unreadable <what>")."""
    try:
        payload = json.loads(callback.body)
    except ValueError:
        raise ProviderError(f"Unreadable {what}", permanent=True) from None
    if not isinstance(payload, dict):
        raise ProviderError(f"Unreadable {what}", permanent=True)
    return payload


def validate_text(errors, request, limits):
    """Length limits: {field: max characters}."""
    for name, limit in limits.items():
        value = getattr(request, name, "") or ""
        if len(value) > limit:
            errors.setdefault(name, f"At most {limit} characters (this has {len(value)}).")


def validate_weights(errors, request, names=("style_weight", "weirdness_constraint",
                                             "audio_weight")):
    for name in names:
        value = getattr(request, name, None)
        if value is not None and not (0 <= Decimal(str(value)) <= 1):
            errors.setdefault(name, "Must be between 0 and 1.")


def validate_source_length(errors, request, window, field="source_seconds"):
    low, high = window
    seconds = request.source_seconds
    if seconds is None:
        return
    if low is not None and seconds < low:
        errors.setdefault(field, f"The source must be at least {low:g} seconds long.")
    if high is not None and seconds > high:
        errors.setdefault(field, f"The source must be at most {high:g} seconds long.")
