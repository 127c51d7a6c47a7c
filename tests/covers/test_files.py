"""Signed links on local storage: /files/<token>/ streams the file with Range support."""

import time

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from covers import files

BODY = bytes(range(256)) * 40  # 10240 bytes, every offset distinguishable


@pytest.fixture
def local(settings, tmp_path):
    """Local storage whatever STORAGE_BACKEND says: these tests are about the local view."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "files", "base_url": "/media/"},
        },
    }
    return default_storage.save("workspaces/x/clips/abc.mp3", ContentFile(BODY))


def test_signed_url_serves_the_whole_file(client, local):
    url = files.signed_file_url(local)
    assert url.startswith("/files/")
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == BODY
    assert response["Content-Type"] == "audio/mpeg"
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Length"] == str(len(BODY))
    assert "Content-Disposition" not in response


def test_absolute_url_is_built_on_public_base_url(local, settings):
    settings.PUBLIC_BASE_URL = "https://coverlab.example"
    assert files.signed_file_url(local, absolute=True).startswith("https://coverlab.example/files/")


@pytest.mark.parametrize(
    "header, start, end",
    [("bytes=0-99", 0, 99), ("bytes=100-", 100, 10239), ("bytes=-10", 10230, 10239),
     ("bytes=10000-20000", 10000, 10239)],
)
def test_range_requests_get_206_with_the_exact_bytes(client, local, header, start, end):
    response = client.get(files.signed_file_url(local), HTTP_RANGE=header)
    assert response.status_code == 206
    assert b"".join(response.streaming_content) == BODY[start : end + 1]
    assert response["Content-Range"] == f"bytes {start}-{end}/{len(BODY)}"
    assert response["Content-Length"] == str(end - start + 1)


@pytest.mark.parametrize("header", ["bytes=20000-", "bytes=50-10", "bytes=-0", "bytes=abc"])
def test_unsatisfiable_range_is_416(client, local, header):
    response = client.get(files.signed_file_url(local), HTTP_RANGE=header)
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(BODY)}"


def test_head_sends_headers_only(client, local):
    response = client.head(files.signed_file_url(local))
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(BODY))
    assert response.content == b""


def test_download_name_sets_content_disposition(client, local):
    url = files.signed_file_url(local, download_name='my "demo" take.mp3')
    response = client.get(url)
    assert response["Content-Disposition"].startswith("attachment;")
    assert "demo" in response["Content-Disposition"]


def test_tampered_token_is_refused(client, local):
    url = files.signed_file_url(local)
    token = url.split("/")[2]
    forged = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    response = client.get(f"/files/{forged}/")
    assert response.status_code == 404
    assert response.content == b"This link is not valid."
    # A token signed for another purpose (salt) is not a file link either.
    from django.core import signing

    other = signing.dumps({"n": local, "x": time.time() + 60}, salt="something-else")
    assert client.get(f"/files/{other}/").status_code == 404


def test_expired_link_is_refused(client, local, monkeypatch):
    url = files.signed_file_url(local, expires_in=60)
    real_time = time.time
    monkeypatch.setattr(files.time, "time", lambda: real_time() + 61)
    response = client.get(url)
    assert response.status_code == 403
    assert b"expired" in response.content


def test_link_to_a_deleted_file_is_404(client, local):
    url = files.signed_file_url(local)
    default_storage.delete(local)
    assert client.get(url).status_code == 404


def test_post_is_405(client, local):
    assert client.post(files.signed_file_url(local)).status_code == 405
