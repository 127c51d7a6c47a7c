"""Signed, expiring links to stored files, and the view that serves them on local storage.

One mechanism for everyone who reads a stored file: a provider fetching a clip through
`uploadUrl`, and a member's browser playing it. On S3 the link is a presigned GET straight to
the bucket; on local storage it is `/files/<token>/`, where the token is a Django signature over
the storage name and an expiry, so the link works without a session (providers have none) and
stops working when it expires or when a byte of it is changed.

Access checks happen *before* a link is made: views look the object up with
accounts.access.get_object_for_user and only then call signed_file_url().
"""

import logging
import mimetypes
import re
import time
from pathlib import PurePosixPath

from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage
from django.http import HttpResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_http_methods

log = logging.getLogger(__name__)

SALT = "covers.files.signed"
# Long enough for a member to sit on the trim page and still seek; short enough that a
# copied link soon dies. Pages point players at /clips/<code>/play/, which signs afresh.
PLAYBACK_MAX_AGE = 60 * 60
CHUNK_SIZE = 64 * 1024

CONTENT_TYPES = {
    ".mp3": "audio/mpeg",
    ".wav": "audio/wav",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
    ".flac": "audio/flac",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
}


def is_s3(storage=None):
    """True when `storage` (default: the default storage) is django-storages' S3 backend."""
    storage = storage or default_storage
    try:
        from storages.backends.s3 import S3Storage
    except ImportError:  # pragma: no cover - django-storages is a dependency
        return False
    return isinstance(storage, S3Storage)  # LazyObject proxies __class__


def content_type_for(name):
    suffix = PurePosixPath(name).suffix.lower()
    return CONTENT_TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def signed_file_url(name, *, expires_in=None, download_name=None, absolute=False):
    """A link that serves the stored file `name` until `expires_in` seconds from now
    (default settings.SIGNED_URL_MAX_AGE). With `download_name`, the response asks the
    browser to save it under that name. `absolute` builds local links on PUBLIC_BASE_URL
    (S3 links are always absolute)."""
    expires_in = int(expires_in or settings.SIGNED_URL_MAX_AGE)
    if is_s3():
        params = {}
        if download_name:
            params["ResponseContentDisposition"] = content_disposition_header(
                True, download_name
            )
        return default_storage.url(name, parameters=params, expire=expires_in)
    payload = {"n": name, "x": int(time.time()) + expires_in}
    if download_name:
        payload["d"] = download_name
    token = signing.dumps(payload, salt=SALT, compress=True)
    path = reverse("signed_file", args=[token])
    return settings.PUBLIC_BASE_URL + path if absolute else path


def provider_url(clip):
    """The absolute URL a provider may fetch `clip` from (valid SIGNED_URL_MAX_AGE seconds)."""
    return signed_file_url(clip.storage_key, expires_in=settings.SIGNED_URL_MAX_AGE, absolute=True)


def playback_url(name, *, download_name=None):
    """A short-lived link for a member's browser (the caller has checked access)."""
    return signed_file_url(name, expires_in=PLAYBACK_MAX_AGE, download_name=download_name)


class LinkRefused(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def read_token(token, *, now=None):
    """The payload of a valid, unexpired token; LinkRefused otherwise."""
    try:
        payload = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        raise LinkRefused(404, "This link is not valid.") from None
    if not isinstance(payload, dict) or "n" not in payload or "x" not in payload:
        raise LinkRefused(404, "This link is not valid.")
    if (now or time.time()) > payload["x"]:
        raise LinkRefused(403, "This link has expired. Open the page again for a fresh one.")
    return payload


RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


class BadRange(Exception):
    pass


def parse_range(header, size):
    """(start, end) inclusive for a single `bytes=` range, None to serve the whole file.
    Raises BadRange for a range that cannot be satisfied."""
    if not header:
        return None
    header = header.strip()
    if not header.startswith("bytes="):
        return None  # another unit: ignore it, as RFC 9110 allows
    if "," in header:
        return None  # multipart ranges: the whole file is a valid answer
    match = RANGE_RE.match(header.replace(" ", ""))
    if not match or (match[1] == "" and match[2] == ""):
        raise BadRange()
    if match[1] == "":  # suffix: the last N bytes
        length = int(match[2])
        if length == 0 or size == 0:
            raise BadRange()
        return max(size - length, 0), size - 1
    start = int(match[1])
    end = int(match[2]) if match[2] else size - 1
    if start >= size or end < start:
        raise BadRange()
    return start, min(end, size - 1)


def _chunks(storage, name, start, length):
    handle = storage.open(name, "rb")
    try:
        if start:
            handle.seek(start)
        remaining = length
        while remaining > 0:
            data = handle.read(min(CHUNK_SIZE, remaining))
            if not data:
                break
            remaining -= len(data)
            yield data
    finally:
        handle.close()


def _plain(status, message):
    response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "HEAD"])
def serve_signed_file(request, token):
    """Stream a stored file to whoever holds a valid link (a provider or a member's player)."""
    try:
        payload = read_token(token)
    except LinkRefused as refused:
        return _plain(refused.status, refused.message)
    name, storage = payload["n"], default_storage
    try:
        size = storage.size(name)
    except (FileNotFoundError, OSError):
        return _plain(404, "This file is no longer available.")

    headers = {
        "Content-Type": content_type_for(name),
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, max-age=300",
        "X-Content-Type-Options": "nosniff",
    }
    if payload.get("d"):
        headers["Content-Disposition"] = content_disposition_header(True, payload["d"])
    try:
        byte_range = parse_range(request.headers.get("Range"), size)
    except BadRange:
        response = _plain(416, "The requested range is outside the file.")
        response["Content-Range"] = f"bytes */{size}"
        return response

    if byte_range is None:
        start, length, status = 0, size, 200
    else:
        start, end = byte_range
        length, status = end - start + 1, 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(length)

    if request.method == "HEAD":
        response = HttpResponse(status=status)
    else:
        response = StreamingHttpResponse(_chunks(storage, name, start, length), status=status)
    for key, value in headers.items():
        response[key] = value
    return response


def presigned_post(key, *, max_bytes, content_type_prefix="audio/", expires_in=900):
    """S3 only: fields for a browser to POST one file straight to the bucket under `key`,
    no larger than `max_bytes`, with a Content-Type starting `content_type_prefix`.
    Returns {"url": ..., "fields": {...}}."""
    storage = default_storage
    client = storage.connection.meta.client
    return client.generate_presigned_post(
        Bucket=storage.bucket_name,
        Key=storage._normalize_name(key),
        Fields={},
        Conditions=[
            ["content-length-range", 1, int(max_bytes)],
            ["starts-with", "$Content-Type", content_type_prefix],
        ],
        ExpiresIn=expires_in,
    )


def download_to(name, fileobj):
    """Copy the stored file `name` into the open binary `fileobj`, chunk by chunk (S3Storage's
    own reader would buffer the whole object in memory first)."""
    storage = default_storage
    if is_s3(storage):
        storage.bucket.download_fileobj(storage._normalize_name(name), fileobj)
    else:
        with storage.open(name, "rb") as handle:
            for chunk in iter(lambda: handle.read(CHUNK_SIZE), b""):
                fileobj.write(chunk)
    fileobj.flush()
    return fileobj


def discard(*names):
    """Delete stored files, as cleanup: a file that cannot be deleted is logged, not raised
    (it must not hide the error being handled, nor undo what was committed)."""
    for name in names:
        try:
            default_storage.delete(name)
        except Exception:  # noqa: BLE001
            log.warning("Could not delete %s from storage", name, exc_info=True)


def set_content_type(name, content_type):
    """S3: give the stored object `content_type` (copied onto itself), when it differs."""
    storage = default_storage
    if not is_s3(storage):
        return
    key = storage._normalize_name(name)
    client = storage.connection.meta.client
    head = client.head_object(Bucket=storage.bucket_name, Key=key)
    if head.get("ContentType") == content_type:
        return
    client.copy_object(
        Bucket=storage.bucket_name, Key=key, CopySource={"Bucket": storage.bucket_name, "Key": key},
        ContentType=content_type, MetadataDirective="REPLACE",
    )
