import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Workspace


def _random_key(workspace, folder, suffix):
    """A storage key that never contains the user's filename: random, namespaced by workspace."""
    return f"workspaces/{workspace.code}/{folder}/{uuid.uuid4().hex}{suffix}"


def track_audio_key(instance, filename):
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return _random_key(instance.job.workspace, "tracks", suffix)


def track_image_key(instance, filename):
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return _random_key(instance.job.workspace, "images", suffix)


def art_image_key(instance, filename):
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return _random_key(instance.job.workspace, "art", suffix)


class Provider(models.TextChoices):
    APIKLEY = "apikley", "Apikley"
    APIINONE = "apiinone", "apiin.one"
    APIFRAME = "apiframe", "Apiframe"


class SourceClip(models.Model):
    """An audio clip a member uploaded (or trimmed from another clip)."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="clips")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+"
    )
    # Random and namespaced by workspace; never derived from the user's filename.
    storage_key = models.CharField(max_length=300, unique=True)
    original_name = models.CharField(max_length=255)
    # What the library shows; starts as the uploaded filename, changed by renaming.
    name = models.CharField(max_length=200, blank=True)
    format = models.CharField(max_length=16)
    content_type = models.CharField(max_length=100)
    size = models.BigIntegerField()
    duration = models.FloatField()
    sample_rate = models.PositiveIntegerField(null=True, blank=True)
    channels = models.PositiveSmallIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64)
    # Loudness outline (0..1) for the trim page's waveform, so browsers need not decode it.
    peaks = models.JSONField(default=list, blank=True)
    parent = models.ForeignKey(
        "self", models.SET_NULL, null=True, blank=True, related_name="trims"
    )
    trim_start = models.FloatField(null=True, blank=True)
    trim_end = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Set when a clip that finished jobs still point at is deleted: the file goes, the row
    # stays for their history, and the library no longer lists it.
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self):
        return self.name or self.original_name

    @property
    def duration_label(self):
        minutes, seconds = divmod(int(round(self.duration or 0)), 60)
        return f"{minutes}:{seconds:02d}"


class JobKind(models.TextChoices):
    UPLOAD_COVER = "upload_cover", "Cover"
    TRACK_COVER = "track_cover", "Track cover"
    COVER_ART = "cover_art", "Cover art"


class JobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    SUBMITTED = "submitted", "Sent to provider"
    TEXT_READY = "text_ready", "Lyrics ready"
    FIRST_READY = "first_ready", "First track ready"
    SUCCEEDED = "succeeded", "Done"
    FAILED = "failed", "Failed"


# Forward-only order of states; FAILED is reachable from any non-terminal state.
STATE_ORDER = {
    JobState.QUEUED: 0,
    JobState.SUBMITTED: 1,
    JobState.TEXT_READY: 2,
    JobState.FIRST_READY: 3,
    JobState.SUCCEEDED: 4,
    JobState.FAILED: 4,
}
TERMINAL_STATES = (JobState.SUCCEEDED, JobState.FAILED)


def new_callback_token():
    return secrets.token_urlsafe(32)


class CoverJob(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    workspace = models.ForeignKey(Workspace, models.CASCADE, related_name="jobs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=JobKind.choices)
    provider = models.CharField(max_length=16, choices=Provider.choices)
    sandbox = models.BooleanField(default=False, help_text="Served by the built-in sandbox.")
    model = models.CharField(max_length=20, blank=True)

    # Request parameters, as the creator gave them.
    custom_mode = models.BooleanField(default=False)
    instrumental = models.BooleanField(default=False)
    prompt = models.TextField(blank=True)
    style = models.TextField(blank=True)
    title = models.CharField(max_length=200, blank=True)
    negative_tags = models.CharField(max_length=500, blank=True)
    vocal_gender = models.CharField(max_length=1, blank=True)
    style_weight = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    weirdness_constraint = models.DecimalField(
        max_digits=3, decimal_places=2, null=True, blank=True
    )
    audio_weight = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    persona_id = models.CharField(max_length=100, blank=True)
    audio_id = models.CharField(max_length=100, blank=True, help_text="apiin.one's Suno audio id.")

    # Source: an uploaded clip, a generated track, or (cover art) a finished music job.
    source_clip = models.ForeignKey(
        SourceClip, models.PROTECT, null=True, blank=True, related_name="jobs"
    )
    source_track = models.ForeignKey(
        "Track", models.PROTECT, null=True, blank=True, related_name="covers"
    )
    parent_job = models.ForeignKey(
        "self", models.PROTECT, null=True, blank=True, related_name="children"
    )
    imported = models.BooleanField(default=False, help_text="Imported from the provider by id.")

    state = models.CharField(
        max_length=16, choices=JobState.choices, default=JobState.QUEUED, db_index=True
    )
    progress = models.PositiveSmallIntegerField(null=True, blank=True)
    provider_task_id = models.CharField(max_length=100, blank=True, db_index=True)
    callback_token = models.CharField(max_length=64, unique=True, default=new_callback_token)
    credits_held = models.PositiveIntegerField(default=0)
    credits_charged = models.PositiveIntegerField(default=0)
    error_code = models.CharField(max_length=20, blank=True)
    error_message = models.TextField(blank=True)
    provider_refunded = models.BooleanField(default=False)
    idempotency_key = models.CharField(max_length=100)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    next_poll_at = models.DateTimeField(null=True, blank=True, db_index=True)
    poll_count = models.PositiveIntegerField(default=0)
    deadline_at = models.DateTimeField(null=True, blank=True)
    # Submissions tried (transient provider errors are retried by the sweeper, a few times).
    submit_attempts = models.PositiveSmallIntegerField(default=0)
    # Results copied into our storage (then, and only then, the hold is captured).
    results_stored_at = models.DateTimeField(null=True, blank=True)
    copy_attempts = models.PositiveSmallIntegerField(default=0)
    # Deleted from the library by a person: its files are gone, its row stays for the ledger.
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "idempotency_key"], name="one_job_per_idempotency_key"
            )
        ]
        # The library's order, to the tie-breaker: its pages read the index, never sort.
        indexes = [models.Index(fields=["workspace", "-created_at", "-id"],
                                name="coverjob_library_order")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.code}"

    @property
    def is_terminal(self):
        return self.state in TERMINAL_STATES


class Track(models.Model):
    """One of the two tracks a song job makes."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    job = models.ForeignKey(CoverJob, models.CASCADE, related_name="tracks")
    position = models.PositiveSmallIntegerField()
    provider_track_id = models.CharField(max_length=100, blank=True)
    title = models.CharField(max_length=200, blank=True)
    tags = models.TextField(blank=True)
    prompt = models.TextField(blank=True)
    duration = models.FloatField(null=True, blank=True)
    audio = models.FileField(upload_to=track_audio_key, max_length=300, blank=True)
    image = models.FileField(upload_to=track_image_key, max_length=300, blank=True)
    audio_url = models.URLField(max_length=1000, blank=True)
    stream_url = models.URLField(max_length=1000, blank=True)
    image_url = models.URLField(max_length=1000, blank=True)
    provider_urls_expire_at = models.DateTimeField(null=True, blank=True)
    favourite = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["job", "position"]
        constraints = [
            models.UniqueConstraint(fields=["job", "position"], name="one_track_per_position")
        ]

    def __str__(self):
        return self.title or f"Track {self.position}"

    @property
    def workspace(self):
        return self.job.workspace


class ArtImage(models.Model):
    """One of the two images a cover-art job makes."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    job = models.ForeignKey(CoverJob, models.CASCADE, related_name="images")
    position = models.PositiveSmallIntegerField()
    image = models.FileField(upload_to=art_image_key, max_length=300, blank=True)
    url = models.URLField(max_length=1000, blank=True)
    url_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["job", "position"]
        constraints = [
            models.UniqueConstraint(fields=["job", "position"], name="one_image_per_position")
        ]


class JobEvent(models.Model):
    """The timeline a creator sees on the job page."""

    job = models.ForeignKey(CoverJob, models.CASCADE, related_name="events")
    state = models.CharField(max_length=16, choices=JobState.choices, blank=True)
    message = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]


class ProviderEvent(models.Model):
    """A raw callback or poll payload, kept whether it was applied or ignored."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPLIED = "applied", "Applied"
        IGNORED = "ignored", "Ignored"
        ERROR = "error", "Error"

    provider = models.CharField(max_length=16, choices=Provider.choices)
    job = models.ForeignKey(
        CoverJob, models.CASCADE, null=True, blank=True, related_name="provider_events"
    )
    source = models.CharField(max_length=10, default="callback")  # callback | poll
    dedupe_key = models.CharField(max_length=300, unique=True)
    headers = models.JSONField(default=dict, blank=True)
    body = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    note = models.CharField(max_length=300, blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]


class ProviderCall(models.Model):
    """One outbound request to a provider. Keys and tokens are redacted before saving."""

    provider = models.CharField(max_length=16, choices=Provider.choices)
    job = models.ForeignKey(
        CoverJob, models.SET_NULL, null=True, blank=True, related_name="provider_calls"
    )
    method = models.CharField(max_length=8)
    endpoint = models.CharField(max_length=500)
    attempt = models.PositiveSmallIntegerField(default=1)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    request_body = models.JSONField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
