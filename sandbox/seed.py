"""Ready-made sandbox tasks, for tests and demos: Apiframe covers need a completed parent job
and Apiframe takes no audio upload, so the sandbox can make one here (or over HTTP with its
POST /v2/music/generate)."""

import uuid

from sandbox import tasks
from sandbox.models import SandboxTask


def apiframe_parent(title="Sandbox parent", style="pop", *, run=True):
    """A completed (when `run`) Apiframe generation job with two tracks; returns the task.
    Its `task_id` is the parentJobId to cover, or to import."""
    task = SandboxTask.objects.create(
        task_id=str(uuid.uuid4()), provider="apiframe", kind=SandboxTask.Kind.GENERATE,
        request={"prompt": title, "model": "suno",
                 "sunoParams": {"title": title, "style": style, "custom_mode": False,
                                "instrumental": True, "model_version": "V5"}},
    )
    if run:
        tasks.run(task.pk)
        task.refresh_from_db()
    return task
