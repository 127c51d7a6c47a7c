"""The S3 path against moto's server over real HTTP: upload, presigned GET, presigned POST
and its server-side check, delete."""

import hashlib

import httpx
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from covers import clips, files
from covers.models import SourceClip
from tests.base import use_workspace
from tests.covers.conftest import S3_BUCKET, stored_names

pytestmark = pytest.mark.s3


def keys(client):
    return {o["Key"] for o in client.list_objects_v2(Bucket=S3_BUCKET).get("Contents", [])}


def test_upload_lands_in_the_bucket(s3, cast, tones):
    data = tones["m4a"].read_bytes()
    clip = clips.create_clip(cast.team, cast.alice, SimpleUploadedFile("a.m4a", data))
    assert files.is_s3()
    head = s3.head_object(Bucket=S3_BUCKET, Key=clip.storage_key)
    assert head["ContentLength"] == len(data)
    assert head["ContentType"] == "audio/mp4"


def test_presigned_get_serves_the_file(s3, cast, tones):
    data = tones["mp3"].read_bytes()
    clip = clips.create_clip(cast.team, cast.alice, SimpleUploadedFile("a.mp3", data))
    url = files.provider_url(clip)
    assert url.startswith(s3.meta.endpoint_url + f"/{S3_BUCKET}/workspaces/")  # path-style
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url  # s3v4
    response = httpx.get(url)
    assert response.status_code == 200
    assert response.content == data
    ranged = httpx.get(url, headers={"Range": "bytes=0-9"})
    assert ranged.status_code == 206 and ranged.content == data[:10]
    named = httpx.get(files.signed_file_url(clip.storage_key, download_name="Take 1.mp3"))
    assert 'filename="Take 1.mp3"' in named.headers["content-disposition"]


def post_direct(ticket_post, data, content_type="audio/mpeg"):
    return httpx.post(
        ticket_post["url"],
        data={**ticket_post["fields"], "Content-Type": content_type},
        files={"file": ("x", data, content_type)},
    )


def test_presigned_post_then_verify_accepts_the_clip(s3, cast, tones):
    data = tones["flac"].read_bytes()
    post = clips.start_direct_upload(cast.team, cast.alice, "Live take.flac", "audio/flac")
    key, name = clips.read_ticket(cast.team, post["ticket"])
    assert key.startswith(f"workspaces/{cast.team.code}/clips/") and "Live" not in key
    response = post_direct(post, data, "audio/flac")
    assert response.status_code in (200, 201, 204), response.text
    clip = clips.verify_direct_upload(cast.team, cast.alice, key, name)
    assert clip.storage_key == key and clip.format == "flac" and clip.display_name == "Live take.flac"
    assert clip.sha256 == hashlib.sha256(data).hexdigest()
    fetched = httpx.get(files.provider_url(clip))
    assert fetched.content == data
    assert fetched.headers["content-type"] == "audio/flac"


def test_verify_gives_the_object_the_probed_content_type(s3, cast, tones):
    post = clips.start_direct_upload(cast.team, cast.alice, "song.mp3")
    key, name = clips.read_ticket(cast.team, post["ticket"])
    post_direct(post, tones["wav"].read_bytes(), "audio/mpeg")  # the browser guessed wrong
    clip = clips.verify_direct_upload(cast.team, cast.alice, key, name)
    assert clip.format == "wav"
    assert s3.head_object(Bucket=S3_BUCKET, Key=key)["ContentType"] == "audio/wav"
    assert httpx.get(files.provider_url(clip)).content == tones["wav"].read_bytes()


def test_presigned_post_carries_size_and_type_conditions(s3, cast, settings):
    # moto accepts any POST, so read the signed policy a real bucket enforces.
    import base64
    import json

    settings.UPLOAD_MAX_BYTES = 12345
    post = clips.start_direct_upload(cast.team, cast.alice, "x.mp3")
    policy = json.loads(base64.b64decode(post["fields"]["policy"]))
    key, _ = clips.read_ticket(cast.team, post["ticket"])
    assert ["content-length-range", 1, 12345] in policy["conditions"]
    assert ["starts-with", "$Content-Type", "audio/"] in policy["conditions"]
    assert {"key": key} in policy["conditions"]
    assert post["fields"]["x-amz-algorithm"] == "AWS4-HMAC-SHA256"


@pytest.mark.parametrize(
    "which, message",
    [("png_as_mp3", "This file is not audio we can use."), ("truncated_mp3", "This file is incomplete")],
)
def test_verify_refuses_bad_objects_and_deletes_them(s3, cast, tones, which, message):
    post = clips.start_direct_upload(cast.team, cast.alice, "x.mp3")
    key, name = clips.read_ticket(cast.team, post["ticket"])
    assert post_direct(post, tones[which].read_bytes()).status_code < 300
    assert key in keys(s3)
    with pytest.raises(clips.ClipRefused) as refused:
        clips.verify_direct_upload(cast.team, cast.alice, key, name)
    assert refused.value.message.startswith(message)
    assert key not in keys(s3)
    assert not SourceClip.objects.exists()


def test_verify_refuses_an_object_over_the_limit(s3, cast, tones, settings):
    post = clips.start_direct_upload(cast.team, cast.alice, "x.wav")
    key, name = clips.read_ticket(cast.team, post["ticket"])
    # Put it there directly, as if the bucket had not enforced the form's size condition.
    s3.put_object(Bucket=S3_BUCKET, Key=key, Body=tones["wav"].read_bytes())
    settings.UPLOAD_MAX_BYTES = 1000
    with pytest.raises(clips.ClipRefused, match="This file is too large"):
        clips.verify_direct_upload(cast.team, cast.alice, key, name)
    assert key not in keys(s3)


def test_verify_refuses_a_missing_object_and_foreign_keys(s3, cast):
    post = clips.start_direct_upload(cast.team, cast.alice, "x.mp3")
    key, name = clips.read_ticket(cast.team, post["ticket"])
    with pytest.raises(clips.ClipRefused, match="The upload did not arrive"):
        clips.verify_direct_upload(cast.team, cast.alice, key, name)
    with pytest.raises(clips.ClipRefused, match="another workspace"):
        clips.read_ticket(cast.charlie_personal, post["ticket"])
    with pytest.raises(clips.ClipRefused, match="another workspace"):
        clips.verify_direct_upload(cast.charlie_personal, cast.charlie, key, name)
    with pytest.raises(clips.ClipRefused, match="not valid"):
        clips.read_ticket(cast.team, post["ticket"] + "x")


def test_delete_removes_the_object(s3, cast, tones, django_capture_on_commit_callbacks):
    clip = clips.create_clip(cast.team, cast.alice,
                             SimpleUploadedFile("a.mp3", tones["mp3"].read_bytes()))
    assert clip.storage_key in keys(s3)
    with django_capture_on_commit_callbacks(execute=True):
        clips.delete_clip(clip, cast.alice)
    assert clip.storage_key not in keys(s3)


def test_trim_reads_from_and_writes_to_the_bucket(s3, cast, tones):
    clip = clips.create_clip(cast.team, cast.alice,
                             SimpleUploadedFile("a.wav", tones["long_wav"].read_bytes()))
    new = clips.trim_clip(clip, cast.alice, 0, 10)
    assert {clip.storage_key, new.storage_key} <= keys(s3)
    assert new.duration == pytest.approx(10, abs=0.05)


def test_refused_upload_leaves_the_bucket_unchanged(s3, cast, tones):
    before = stored_names()
    assert keys(s3) == before
    with pytest.raises(clips.ClipRefused):
        clips.create_clip(cast.team, cast.alice,
                          SimpleUploadedFile("a.mp3", tones["png_as_mp3"].read_bytes()))
    assert keys(s3) == before


def test_direct_upload_through_the_views(s3, client, cast, tones, settings):
    settings.S3_DIRECT_UPLOAD = True
    client.force_login(cast.bob)
    use_workspace(client, cast.team)
    page = client.get("/clips/").content.decode()
    assert 'data-direct-url="/clips/upload/direct/"' in page
    answer = client.post("/clips/upload/direct/", {"filename": "Bob.ogg", "content_type": "audio/ogg"})
    assert answer.status_code == 200
    post = answer.json()
    assert post_direct(post, tones["ogg"].read_bytes(), "audio/ogg").status_code < 300
    response = client.post("/clips/upload/verify/", {"ticket": post["ticket"]},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 201
    clip = SourceClip.objects.get()
    assert clip.uploaded_by == cast.bob and clip.format == "ogg"
    assert f'id="clip-{clip.code}"' in response.content.decode()
    # A second verify of the same ticket does not make a second clip.
    again = client.post("/clips/upload/verify/", {"ticket": post["ticket"]})
    assert again.status_code == 400 and SourceClip.objects.count() == 1
    # Charlie cannot use Bob's ticket in his workspace.
    client.force_login(cast.charlie)
    assert client.post("/clips/upload/verify/", {"ticket": post["ticket"]}).status_code == 400
    assert SourceClip.objects.count() == 1


def test_direct_upload_is_off_on_local_storage(client, cast, settings):
    settings.S3_DIRECT_UPLOAD = True
    if files.is_s3(default_storage):
        pytest.skip("this run stores on S3")
    client.force_login(cast.alice)
    assert client.post("/clips/upload/direct/", {"filename": "x.mp3"}).status_code == 400


def test_verifying_the_same_upload_twice_at_once_keeps_the_first(s3, cast, tones, monkeypatch):
    post = clips.start_direct_upload(cast.team, cast.alice, "x.mp3")
    key, name = clips.read_ticket(cast.team, post["ticket"])
    post_direct(post, tones["mp3"].read_bytes())
    first = clips.verify_direct_upload(cast.team, cast.alice, key, name)
    # The second request checked for a clip before the first one had committed its row.
    monkeypatch.setattr(clips, "live_clips", SourceClip.objects.none)
    with pytest.raises(clips.ClipRefused, match="This upload was already added."):
        clips.verify_direct_upload(cast.team, cast.alice, key, name)
    assert key in keys(s3)
    assert list(SourceClip.objects.all()) == [first]


def test_sweep_removes_only_old_unclaimed_direct_uploads(s3, cast, tones):
    from datetime import timedelta

    from django.utils import timezone

    data = tones["mp3"].read_bytes()
    abandoned = clips.start_direct_upload(cast.team, cast.alice, "a.mp3")
    post_direct(abandoned, data)
    claimed = clips.start_direct_upload(cast.team, cast.alice, "b.mp3")
    post_direct(claimed, data)
    clip = clips.verify_direct_upload(cast.team, cast.alice,
                                      *clips.read_ticket(cast.team, claimed["ticket"]))
    through_us = clips.create_clip(cast.team, cast.alice, SimpleUploadedFile("c.mp3", data))
    abandoned_key, _ = clips.read_ticket(cast.team, abandoned["ticket"])

    assert clips.sweep_unclaimed_uploads() == 0  # too recent: its tab may still verify it
    assert abandoned_key in keys(s3)
    later = timezone.now() + timedelta(hours=3)
    assert clips.sweep_unclaimed_uploads(now=later) >= 1  # the bucket is shared by the session
    assert abandoned_key not in keys(s3)
    assert {clip.storage_key, through_us.storage_key} <= keys(s3)
    assert clips.sweep_unclaimed_uploads(now=later) == 0
