import uuid

from django.db import models
from django.utils import timezone


def new_task_id():
    return uuid.uuid4().hex


class SandboxTask(models.Model):
    """One task the sandbox accepted, in any provider's dialect."""

    class Kind(models.TextChoices):
        COVER = "cover", "Cover (two tracks)"
        GENERATE = "generate", "Generation (Apiframe parent)"
        ART = "art", "Cover art (two images)"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        TEXT = "text", "Lyrics ready"
        FIRST = "first", "First track ready"
        COMPLETE = "complete", "Complete"
        FAILED = "failed", "Failed"

    task_id = models.CharField(max_length=64, unique=True, default=new_task_id)
    provider = models.CharField(max_length=16)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    parent = models.ForeignKey(
        "self", models.SET_NULL, null=True, blank=True, related_name="children"
    )
    request = models.JSONField(default=dict)  # the body as received
    source_url = models.URLField(max_length=1000, blank=True)
    callback_url = models.URLField(max_length=1000, blank=True)
    faults = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(default=0)
    error_code = models.CharField(max_length=20, blank=True)
    error_message = models.CharField(max_length=300, blank=True)
    # [{"id", "title", "tags", "prompt", "duration", "audio", "image"}]; audio/image are
    # storage names under sandbox/.
    tracks = models.JSONField(default=list)
    images = models.JSONField(default=list)  # storage names of cover-art PNGs
    callbacks = models.JSONField(default=list)  # what was delivered: [{"stage", "status"}]
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.provider} {self.kind} {self.task_id}"

    @property
    def text(self):
        """Everything a creator typed: where fault markers are looked for."""
        body = self.request
        params = body.get("sunoParams") or {}
        return " ".join(str(v) for v in (
            body.get("title"), body.get("style"), body.get("prompt"), params.get("title"),
            params.get("style"),
        ) if v)

    @property
    def title(self):
        body = self.request
        return (body.get("title") or (body.get("sunoParams") or {}).get("title")
                or (self.parent.title if self.parent_id else "") or "Sandbox song")

    @property
    def style(self):
        body = self.request
        return (body.get("style") or (body.get("sunoParams") or {}).get("style")
                or (self.parent.style if self.parent_id else "") or body.get("prompt") or "")
