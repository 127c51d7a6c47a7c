"""Source clips: every change to a clip goes through these services.

A clip is accepted only after its bytes were checked (lib.audio.probe): a refused upload
leaves no file in storage and no row. Files are stored under a random key namespaced by the
workspace; the creator's filename is metadata. Each service runs in one transaction with its
AuditLog row; a file written before a transaction that then fails is deleted, and a file
whose row is deleted goes only once the deletion has committed.
"""

import hashlib
import os
import re
import shutil
import tempfile

from django.conf import settings
from django.core import signing
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.access import get_object_for_user
from accounts.models import Role, audit
from covers import files
from covers.models import TERMINAL_STATES, CoverJob, SourceClip, _random_key
from covers.providers import catalog
from lib import audio
from lib.text import clean_label

# The longest source any provider accepts for a cover of an uploaded clip (Apikley: 8 min).
MAX_CLIP_SECONDS = max(
    catalog.source_window(p.name)[1] or 0 for p in catalog.providers_for(catalog.UPLOAD_COVER)
)
CHUNK_SIZE = 1024 * 1024
DIRECT_UPLOAD_SALT = "covers.clips.direct-upload"
DIRECT_UPLOAD_MAX_AGE = 3600


def _window_label(low, high):
    def amount(seconds):
        if seconds >= 120 and seconds % 60 == 0:
            return f"{seconds // 60:g} min"
        return f"{seconds:g} s"

    if low:
        return f"{low:g}–{amount(high)}"
    return f"up to {amount(high)}"


def _presets():
    """The trim page's presets, from the provider catalog: (key, label, min s, max s)."""
    windows = [
        ("apiinone", "apiin.one", catalog.source_window("apiinone")),
        ("apikley_v45all", "Apikley V4_5ALL", catalog.source_window("apikley", "V4_5ALL")),
        ("any", "Apikley, Sandbox", catalog.source_window("apikley")),
    ]
    return [
        (key, f"{name}: {_window_label(low or 0, high)}", low or 0, high)
        for key, name, (low, high) in windows
    ]


TRIM_PRESETS = _presets()


def preset_window(key, start, duration):
    """(start, end) for preset `key`: as long as the window allows from `start`, moved back
    when the clip ends before the window's minimum."""
    for preset_key, _label, low, high in TRIM_PRESETS:
        if preset_key == key:
            start = max(0.0, min(float(start or 0), duration))
            end = min(duration, start + high)
            if end - start < low:
                start = max(0.0, end - low)
            return round(start, 2), round(end, 2)
    return None


class ClipRefused(Exception):
    """Shown to the creator as is."""

    def __init__(self, message, code="invalid"):
        super().__init__(message)
        self.message = message
        self.code = code


def live_clips():
    return SourceClip.objects.filter(deleted_at__isnull=True)


def get_clip_for_user(request, code, role=Role.VIEWER):
    """(clip, membership): 404 outside the user's workspaces or once deleted, 403 when the
    role is too weak."""
    return get_object_for_user(request, live_clips(), code, role)


def clean_name(name, fallback="Untitled clip"):
    """A filename made fit to show: no folders, no control or invisible characters, bounded.
    HTML in it stays text (templates escape it)."""
    name = re.split(r"[\\/]", str(name or ""))[-1]
    return clean_label(name) or fallback


def _too_large_message(size=None):
    limit = settings.UPLOAD_MAX_BYTES
    got = f" ({human_size(size)})" if size else ""
    return f"This file is too large{got}. The limit is {human_size(limit)}."


def human_size(num):
    num = float(num or 0)
    for unit in ("bytes", "KB", "MB", "GB"):
        if num < 1024 or unit == "GB":
            return f"{int(num)} bytes" if unit == "bytes" else f"{num:.1f} {unit}"
        num /= 1024
    return f"{num:.1f} GB"


def _sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_SIZE), b""):
            digest.update(chunk)
    return digest.hexdigest()


class _LocalCopy:
    """A path on local disk holding the upload's bytes: Django's temporary file when it made
    one, else a temporary copy written in chunks. Removed on exit if we made it."""

    def __init__(self, uploaded_file):
        self.uploaded_file = uploaded_file
        self.path = None
        self.owned = False

    def __enter__(self):
        getter = getattr(self.uploaded_file, "temporary_file_path", None)
        if getter:
            self.path = getter()
            return self.path
        handle = tempfile.NamedTemporaryFile(prefix="clip-", delete=False)
        self.path, self.owned = handle.name, True
        with handle:
            for chunk in self.uploaded_file.chunks(CHUNK_SIZE):
                handle.write(chunk)
        return self.path

    def __exit__(self, *exc):
        if self.owned and self.path:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass


def _check(path, size):
    if size == 0:
        raise ClipRefused("This file is empty (0 bytes).", "empty")
    if size > settings.UPLOAD_MAX_BYTES:
        raise ClipRefused(_too_large_message(size), "too_large")
    try:
        return audio.probe(path, size=size, max_seconds=MAX_CLIP_SECONDS)
    except audio.AudioRefused as refused:
        raise ClipRefused(refused.message, refused.code) from None


def _store(path, key, content_type):
    """Save the local file at `path` under `key`, streamed; returns the name storage used."""
    with open(path, "rb") as handle:
        content = File(handle, name=os.path.basename(key))
        content.content_type = content_type  # S3 sets the object's Content-Type from this
        return default_storage.save(key, content)


def _create_row(workspace, user, *, stored, info, size, sha256, original_name, action, **extra):
    """The row and its audit entry in one transaction; the stored file goes if it fails."""
    try:
        with transaction.atomic():
            clip = SourceClip.objects.create(
                workspace=workspace,
                uploaded_by=user if user is not None and user.is_authenticated else None,
                storage_key=stored,
                original_name=original_name[:255],
                name=extra.pop("name", original_name)[:200],
                format=info.format,
                content_type=info.content_type,
                size=size,
                duration=info.duration,
                sample_rate=info.sample_rate,
                channels=info.channels,
                sha256=sha256,
                peaks=list(info.peaks),
                **extra,
            )
            audit(workspace, user, action, clip.code, name=clip.display_name, size=size,
                  duration=info.duration, format=info.format)
    except IntegrityError:
        if action == "clip.upload" and SourceClip.objects.filter(storage_key=stored).exists():
            # A direct upload verified twice at once: the other request's clip owns the file.
            raise ClipRefused("This upload was already added.", "duplicate") from None
        files.discard(stored)
        raise
    except BaseException:
        files.discard(stored)
        raise
    return clip


def create_clip(workspace, user, uploaded_file):
    """Check an uploaded file and keep it as a clip of `workspace`. Raises ClipRefused (with a
    message for the creator) and then nothing is kept."""
    original_name = clean_name(getattr(uploaded_file, "name", ""))
    size = uploaded_file.size or 0
    if size == 0:
        raise ClipRefused("This file is empty (0 bytes).", "empty")
    if size > settings.UPLOAD_MAX_BYTES:
        raise ClipRefused(_too_large_message(size), "too_large")
    with _LocalCopy(uploaded_file) as path:
        info = _check(path, size)
        sha256 = _sha256_of(path)
        stored = _store(path, _random_key(workspace, "clips", info.suffix), info.content_type)
    return _create_row(
        workspace, user, stored=stored, info=info, size=size, sha256=sha256,
        original_name=original_name, action="clip.upload",
    )


# Direct upload to S3: the browser POSTs to the bucket with a presigned form, then tells us
# the ticket; only then is the object checked and turned into a clip.

def start_direct_upload(workspace, user, filename, content_type="audio/mpeg"):
    """S3 only: a presigned POST for one file, and a signed ticket naming the key it may
    create. Returns {"url", "fields", "ticket"}."""
    if not files.is_s3():
        raise ClipRefused("Direct upload needs S3 storage.", "not_s3")
    # No suffix: what the file is gets decided by its bytes once it has arrived.
    key = _random_key(workspace, "clips", "")
    post = files.presigned_post(key, max_bytes=settings.UPLOAD_MAX_BYTES,
                                expires_in=DIRECT_UPLOAD_MAX_AGE)
    ticket = signing.dumps(
        {"k": key, "w": str(workspace.code), "u": user.pk, "n": clean_name(filename)},
        salt=DIRECT_UPLOAD_SALT,
    )
    return {"url": post["url"], "fields": post["fields"], "ticket": ticket}


def read_ticket(workspace, ticket):
    """(key, original name) from a ticket made for this workspace; ClipRefused otherwise."""
    try:
        data = signing.loads(ticket, salt=DIRECT_UPLOAD_SALT, max_age=DIRECT_UPLOAD_MAX_AGE)
    except signing.BadSignature:
        raise ClipRefused("This upload link is not valid any more. Upload the file again.",
                          "bad_ticket") from None
    if data.get("w") != str(workspace.code):
        raise ClipRefused("This upload belongs to another workspace.", "bad_ticket")
    return data["k"], data.get("n") or "Untitled clip"


def verify_direct_upload(workspace, user, key, original_name):
    """Accept the object the browser put at `key` (S3) as a clip: it must exist, fit the size
    limit and pass the same checks as an upload through us. A refused object is deleted."""
    prefix = f"workspaces/{workspace.code}/clips/"
    if not key.startswith(prefix) or ".." in key:
        raise ClipRefused("This upload belongs to another workspace.", "bad_key")
    if live_clips().filter(storage_key=key).exists():
        raise ClipRefused("This upload was already added.", "duplicate")
    try:
        size = default_storage.size(key)
    except Exception:  # noqa: BLE001 - botocore raises ClientError(404) for a missing key
        raise ClipRefused("The upload did not arrive. Try again.", "missing") from None
    try:
        with tempfile.NamedTemporaryFile(prefix="clip-") as handle:
            if 0 < size <= settings.UPLOAD_MAX_BYTES:
                files.download_to(key, handle)
            info = _check(handle.name, size)
            sha256 = _sha256_of(handle.name)
    except ClipRefused:
        files.discard(key)
        raise
    # The browser chose the object's Content-Type; providers fetching it get the probed one.
    files.set_content_type(key, info.content_type)
    return _create_row(
        workspace, user, stored=key, info=info, size=size, sha256=sha256,
        original_name=clean_name(original_name), action="clip.upload",
        )


DIRECT_KEY = re.compile(r"^workspaces/[0-9a-f-]{36}/clips/[0-9a-f]{32}$")


def sweep_unclaimed_uploads(*, now=None, grace=DIRECT_UPLOAD_MAX_AGE + 3600):
    """S3: delete direct uploads nobody verified (the tab was closed between the bucket POST
    and our check). Only keys of the direct-upload shape (no suffix), older than the ticket's
    life plus `grace` margin, and with no clip row are touched. Returns how many went.
    Safe to run at any time and twice; meant for a periodic schedule."""
    if not files.is_s3():
        return 0
    now = now or timezone.now()
    candidates = [
        obj.key
        for obj in default_storage.bucket.objects.filter(Prefix="workspaces/")
        if DIRECT_KEY.match(obj.key) and (now - obj.last_modified).total_seconds() > grace
    ]
    claimed = set(
        SourceClip.objects.filter(storage_key__in=candidates).values_list("storage_key", flat=True)
    )
    unclaimed = [key for key in candidates if key not in claimed]
    for key in unclaimed:
        files.discard(key)
    return len(unclaimed)


def rename_clip(clip, user, name):
    name = clean_name(name, "")
    if not name:
        raise ClipRefused("Give the clip a name.", "blank")
    with transaction.atomic():
        old = clip.display_name
        SourceClip.objects.filter(pk=clip.pk).update(name=name)
        clip.name = name
        audit(clip.workspace, user, "clip.rename", clip.code, old=old, new=name)
    return clip


def running_jobs(clip):
    return CoverJob.objects.filter(source_clip=clip).exclude(state__in=TERMINAL_STATES)


def delete_clip(clip, user):
    """Delete the clip and its file. Refused while a job that has not finished uses it. A clip
    finished jobs point at keeps its row (marked deleted) for their history; its file goes."""
    with transaction.atomic():
        locked = SourceClip.objects.select_for_update().get(pk=clip.pk)
        if locked.deleted_at is not None:
            return
        if running_jobs(locked).exists():
            raise ClipRefused(
                "A cover is being made from this clip. Delete it once that job has finished.",
                "in_use",
            )
        key = locked.storage_key
        if CoverJob.objects.filter(source_clip=locked).exists():
            SourceClip.objects.filter(pk=locked.pk).update(deleted_at=timezone.now())
        else:
            locked.delete()
        audit(clip.workspace, user, "clip.delete", clip.code, name=clip.display_name)
        transaction.on_commit(lambda: files.discard(key))


def trim_clip(clip, user, start, end):
    """Cut [start, end] seconds of `clip` into a new clip that records its parent; the
    original is kept."""
    start, end = round(float(start), 3), round(float(end), 3)
    if start < 0 or end <= start:
        raise ClipRefused("The end must come after the start.", "bad_range")
    if start >= clip.duration:
        raise ClipRefused(
            f"The start is past the end of the clip ({audio.format_duration(clip.duration)}).",
            "bad_range",
        )
    end = min(end, clip.duration)
    if end - start < 1:
        raise ClipRefused("Select at least one second.", "bad_range")
    if end - start > MAX_CLIP_SECONDS:
        raise ClipRefused(
            f"Select at most {audio.format_duration(MAX_CLIP_SECONDS)}: no provider accepts more.",
            "too_long",
        )
    fmt = clip.format if clip.format in audio.ENCODERS else "mp3"
    suffix = audio.FORMATS[fmt][2]
    folder = tempfile.mkdtemp(prefix="trim-")
    try:
        source = os.path.join(folder, "source" + suffix)
        with open(source, "wb") as handle:
            files.download_to(clip.storage_key, handle)
        cut = audio.trim(source, os.path.join(folder, "cut" + suffix), start, end, fmt)
        size = os.path.getsize(cut)
        info = _check(cut, size)
        sha256 = _sha256_of(cut)
        stored = _store(cut, _random_key(clip.workspace, "clips", suffix), info.content_type)
    except audio.AudioRefused as refused:
        raise ClipRefused(refused.message, refused.code) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    label = f"{audio.format_duration(start)}–{audio.format_duration(end)}"
    return _create_row(
        clip.workspace, user, stored=stored, info=info, size=size, sha256=sha256,
        original_name=clip.original_name, name=f"{clip.display_name} ({label})"[:200],
        action="clip.trim", parent=clip, trim_start=start, trim_end=end,
    )
