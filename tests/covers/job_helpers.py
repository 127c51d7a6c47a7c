"""Helpers for job tests: a stored clip, and a scripted adapter for unit tests of the state
machine (end-to-end tests use the real adapters against the sandbox instead)."""

import json
import uuid

import httpx
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from covers.models import SourceClip
from covers.providers.base import (
    Adapter,
    ProviderError,
    State,
    TaskResult,
    TrackResult,
)

MP3 = b"ID3" + b"\x00" * 2000
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 500


def make_clip(workspace, user, duration=30.0):
    key = f"workspaces/{workspace.code}/clips/{uuid.uuid4().hex}.mp3"
    default_storage.save(key, ContentFile(MP3))
    return SourceClip.objects.create(
        workspace=workspace, uploaded_by=user, storage_key=key, original_name="demo.mp3",
        format="mp3", content_type="audio/mpeg", size=len(MP3), duration=duration,
        sha256="0" * 64,
    )


def tracks(n=2, audio=True):
    return [
        TrackResult(
            id=f"trk{i}", title=f"Song {i}", tags="lofi", duration=30.0,
            audio_url=f"https://cdn.example/t{i}.mp3" if audio else "",
            stream_url=f"https://cdn.example/s{i}", image_url=f"https://cdn.example/i{i}.png",
        )
        for i in range(1, n + 1)
    ]


class FakeAdapter(Adapter):
    """Scripted provider. Callbacks are JSON {"task_id","state","stage","error_code",
    "audio": bool}; a body with "forged": true is refused like a bad signature."""

    name = "fake"

    def __init__(self):
        self.submitted = []
        self.submit_error = None
        self.status = TaskResult(task_id="task-1", state=State.RUNNING)
        self.polls = 0

    def submit_upload_cover(self, request):
        if self.submit_error:
            raise self.submit_error
        self.submitted.append(request)
        return TaskResult(task_id="task-1", state=State.RUNNING)

    submit_track_cover = submit_upload_cover

    def submit_cover_art(self, request):
        if self.submit_error:
            raise self.submit_error
        self.submitted.append(request)
        return TaskResult(task_id="art-1", state=State.RUNNING)

    def fetch_status(self, task_id, kind):
        self.polls += 1
        if isinstance(self.status, Exception):
            raise self.status
        return self.status

    def parse_callback(self, callback, kind):
        data = json.loads(callback.body)
        if data.get("forged"):
            raise ProviderError("bad signature", permanent=True)
        state = State(data["state"])
        return TaskResult(
            task_id=data.get("task_id", "task-1"), state=state, stage=data.get("stage", ""),
            tracks=tracks(audio=data.get("audio", True)) if state in (
                State.FIRST_READY, State.SUCCEEDED) else [],
            images=["https://cdn.example/a1.png", "https://cdn.example/a2.png"]
            if state == State.SUCCEEDED else [],
            error_code=str(data.get("error_code", "")), error_message=data.get("msg", ""),
            progress=data.get("progress"),
        )

    def import_task(self, task_id):
        return TaskResult(task_id=task_id, state=State.SUCCEEDED, tracks=tracks())


def cdn_transport(fail=()):
    """The files a provider CDN serves: mp3s and pngs; paths in `fail` answer 500."""

    def handler(request):
        path = request.url.path
        if path in fail:
            return httpx.Response(500)
        if path.endswith(".png"):
            return httpx.Response(200, content=PNG, headers={"content-type": "image/png"})
        if path.endswith(".html"):
            return httpx.Response(200, content=b"<html>", headers={"content-type": "text/html"})
        return httpx.Response(200, content=MP3, headers={"content-type": "audio/mpeg"})

    return httpx.MockTransport(handler)


def callback(client, job, **data):
    return client.post(
        f"/hooks/{job.provider}/{job.callback_token}/", data=json.dumps(data),
        content_type="application/json",
    )
