"""The sandbox worker: does a task's work and calls back stage by stage.

`run(pk)` is the django-q2 task (enqueued by `enqueue` on commit) and is safe to run twice:
it claims the task with a conditional update. Tests call `run(pk)` or `run_pending()`.
"""

import json
import logging
import time

import httpx
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from covers.providers import http as provider_http
from covers.providers.apiframe import sign
from covers.providers.registry import sandbox_key
from sandbox import faults, payloads, render
from sandbox.models import SandboxTask

log = logging.getLogger(__name__)
S = SandboxTask.Status
MAX_SOURCE_BYTES = 100 * 1024 * 1024
CALLBACK_TRIES = 3


class SourceError(Exception):
    pass


def enqueue(task):
    def send():
        from django_q.tasks import async_task

        async_task("sandbox.tasks.run", task.pk, task_name=f"sandbox-{task.task_id}",
                   timeout=240)

    transaction.on_commit(send)


def run_pending():
    """Run every task still pending, oldest first (parents before their children)."""
    for pk in SandboxTask.objects.filter(status=S.PENDING).order_by("id").values_list(
            "pk", flat=True):
        run(pk)


def run(pk):
    if not SandboxTask.objects.filter(pk=pk, status=S.PENDING).update(status=S.RUNNING):
        return  # already taken by another run
    task = SandboxTask.objects.get(pk=pk)
    outbox = Outbox(task)
    try:
        if task.kind == SandboxTask.Kind.ART:
            make_art(task, outbox)
        else:
            make_tracks(task, outbox)
    except SourceError as exc:
        fail(task, outbox, "451", f"{faults.MESSAGES['451']} ({exc})")
    except Exception as exc:  # any crash is a provider-side failure, reported as one
        log.exception("sandbox task %s failed", task.task_id)
        fail(task, outbox, "500", f"{faults.MESSAGES['500']} ({exc})")
    outbox.flush()


def make_tracks(task, outbox):
    failure = faults.generation_failure(task.faults)
    if failure:
        return fail(task, outbox, *failure)
    source = load_source(task)
    advance(task, outbox, S.TEXT, progress=30)
    takes = render.render_variants(source, task.style)
    tracks = []
    for n, audio in enumerate(takes, start=1):
        tracks.append({
            "id": f"{task.task_id}-{n}",
            "title": task.title,
            "tags": task.style,
            "prompt": task.request.get("prompt") or f"[Instrumental] {task.title}",
            "duration": render.duration(audio),
            "audio": store(task, f"track-{n}.mp3", audio),
            "image": store(task, f"track-{n}.png", render.cover_art(task.title, task.style, n)),
        })
    task.tracks = tracks
    task.save(update_fields=["tracks"])
    advance(task, outbox, S.FIRST, progress=60)
    advance(task, outbox, S.COMPLETE, progress=100)


def make_art(task, outbox):
    failure = faults.generation_failure(task.faults)
    if failure:
        return fail(task, outbox, *failure)
    parent = task.parent
    task.images = [store(task, f"art-{n}.png", render.cover_art(parent.title, parent.style, n))
                   for n in (1, 2)]
    task.save(update_fields=["images"])
    advance(task, outbox, S.COMPLETE, progress=100)


def advance(task, outbox, status, *, progress):
    if "slow" in task.faults:
        time.sleep(getattr(settings, "SANDBOX_SLOW_SECONDS", 20))
    task.status, task.progress = status, progress
    fields = ["status", "progress"]
    if status == S.COMPLETE:
        task.finished_at = timezone.now()
        fields.append("finished_at")
    task.save(update_fields=fields)
    outbox.stage(status)


def fail(task, outbox, code, message):
    task.status, task.error_code, task.error_message = S.FAILED, code, message[:300]
    task.finished_at = timezone.now()
    task.save(update_fields=["status", "error_code", "error_message", "finished_at"])
    outbox.stage(S.FAILED)


def store(task, name, content):
    return default_storage.save(f"sandbox/{task.task_id}/{name}", ContentFile(content))


def load_source(task):
    """The audio to cover: fetched from the URL given (Apikley), a sandbox track (apiin.one
    audio_id, Apiframe parent), or a made-up tune (Apiframe generation, unknown audio_id)."""
    seconds = getattr(settings, "SANDBOX_TUNE_SECONDS", 20)
    if task.kind == SandboxTask.Kind.GENERATE:
        return render.melody(seconds)
    if task.provider == "apikley":
        return fetch(task.source_url)
    if task.provider == "apiframe":
        return read_track(task.parent, track_of(task.parent, task.request))
    track = find_track(task.request.get("audio_id", ""))
    return read_track(*track) if track else render.melody(seconds)


def fetch(url):
    try:
        with provider_http.client() as client, client.stream("GET", url) as response:
            if response.status_code != 200:
                raise SourceError(f"HTTP {response.status_code}")
            data = bytearray()
            for chunk in response.iter_bytes():
                data += chunk
                if len(data) > MAX_SOURCE_BYTES:
                    raise SourceError("too large")
            return bytes(data)
    except httpx.HTTPError as exc:
        raise SourceError(type(exc).__name__) from exc


def track_of(parent, body):
    """The parent's track an Apiframe cover names by `index` or `trackId`."""
    if body.get("trackId"):
        return next(t for t in parent.tracks if t["id"] == body["trackId"])
    return parent.tracks[int(body.get("index", 1)) - 1]


def find_track(track_id):
    """(task, track) for a sandbox track id "<task_id>-<n>", or None."""
    task_id, _, _ = track_id.rpartition("-")
    task = SandboxTask.objects.filter(task_id=task_id, status=S.COMPLETE).first()
    track = next((t for t in task.tracks if t["id"] == track_id), None) if task else None
    return (task, track) if track else None


def read_track(task, track):
    with default_storage.open(track["audio"], "rb") as f:
        return f.read()


class Outbox:
    """Collects the callbacks of a task's stages and delivers them, honouring the delivery
    faults: lost (none), duplicate (each twice), out-of-order (last stage first)."""

    def __init__(self, task):
        self.task = task
        self.pending = []

    def stage(self, status):
        message = callback_for(self.task, status)
        if message is None:
            return
        if "out-of-order" in self.task.faults:
            self.pending.append(message)
        else:
            self.send(message)

    def flush(self):
        for message in reversed(self.pending):
            self.send(message)
        self.pending = []

    def send(self, message):
        if "lost" in self.task.faults or not self.task.callback_url:
            return
        for _ in range(2 if "duplicate" in self.task.faults else 1):
            deliver(self.task, *message)


def callback_for(task, status):
    """(stage, body, headers) of the callback a provider sends at `status`, or None."""
    provider, art = task.provider, task.kind == SandboxTask.Kind.ART
    if provider == "apikley":
        if art:
            return (status, payloads.apikley_art_callback(task), {}) if status in (
                S.COMPLETE, S.FAILED) else None
        return status, payloads.apikley_callback(task, status), {}
    if provider == "apiinone":
        if status not in (S.COMPLETE, S.FAILED):
            return None
        body = payloads.apiinone_art_status(task) if art else payloads.apiinone_status(task)
        return status, body, {}
    event = {S.COMPLETE: "completed", S.FAILED: "failed"}.get(status, "progress")
    if event not in task.request.get("webhookEvents", ["completed", "failed"]):
        return None
    return event, payloads.apiframe_webhook(task, event), {"X-Webhook-Event": event}


def deliver(task, stage, body, headers):
    """POST one callback, retried a little like the providers do; log the outcome."""
    content = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **headers}
    if task.provider == "apiframe":
        headers["X-Webhook-Signature"] = sign(sandbox_key(), content)
    outcome = None
    for attempt in range(1, CALLBACK_TRIES + 1):
        try:
            with provider_http.client() as client:
                outcome = client.post(task.callback_url, content=content,
                                      headers=headers).status_code
        except httpx.HTTPError as exc:
            outcome = type(exc).__name__
        if isinstance(outcome, int) and outcome < 300:
            break
        time.sleep(getattr(settings, "SANDBOX_CALLBACK_RETRY_SECONDS", 1) * attempt)
    task.callbacks = [*task.callbacks, {"stage": stage, "status": outcome, "attempts": attempt}]
    task.save(update_fields=["callbacks"])
