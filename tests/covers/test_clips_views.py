"""Clip pages: house-style checks for each view, uploads through the web, refusals."""

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Role
from covers import clips, files
from covers.models import CoverJob, JobState, SourceClip
from tests.base import set_role, use_workspace
from tests.covers.conftest import stored_names

HTMX = {"HTTP_HX_REQUEST": "true"}
BAD_CODE = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def clip(cast, tones):
    data = tones["long_wav"].read_bytes()
    return clips.create_clip(cast.team, cast.alice, SimpleUploadedFile("Demo take.wav", data))


@pytest.fixture
def team_client(alice_client, cast):
    use_workspace(alice_client, cast.team)
    return alice_client


def as_user(client, cast, user, role=None):
    if role:
        set_role(user, cast.team, role)
    client.force_login(user)
    use_workspace(client, cast.team)
    return client


# The list -------------------------------------------------------------------------------

def test_empty_library_invites_a_first_upload(team_client):
    response = team_client.get("/clips/")
    assert response.status_code == 200
    assert b"Upload your first clip" in response.content
    assert b'action="/clips/upload/"' in response.content


def test_list_shows_the_current_workspace_clips(team_client, clip, cast, tones):
    other = clips.create_clip(cast.alice_personal, cast.alice,
                              SimpleUploadedFile("Private.mp3", tones["mp3"].read_bytes()))
    response = team_client.get("/clips/")
    html = response.content.decode()
    assert "Demo take.wav" in html and "0:20" in html and "WAV" in html
    assert "alice@example.org" in html
    assert f"/clips/{clip.code}/play/" in html
    assert other.display_name not in html


def test_list_htmx_gets_the_partial(team_client, clip):
    response = team_client.get("/clips/?page=1", **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="clip-list"')
    assert "<html" not in html and "Demo take.wav" in html
    assert response["Vary"] == "HX-Request" or "HX-Request" in response["Vary"]


def test_list_is_paginated(team_client, clip, cast):
    for i in range(25):
        SourceClip.objects.create(
            workspace=cast.team, storage_key=f"k{i}", original_name=f"clip {i:02d}", format="mp3",
            content_type="audio/mpeg", size=10, duration=1, sha256="x",
        )
    first = team_client.get("/clips/").content.decode()
    assert "Page 1 of 2" in first and "clip 24" in first and "Demo take.wav" not in first
    second = team_client.get("/clips/?page=2").content.decode()
    assert "Demo take.wav" in second


def test_names_are_shown_escaped(team_client, cast, tones):
    clips.create_clip(cast.team, cast.alice,
                      SimpleUploadedFile("<img src=x onerror=alert(1)>.mp3", tones["mp3"].read_bytes()))
    html = team_client.get("/clips/").content.decode()
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;.mp3" in html


def test_viewer_can_listen_but_not_change(client, cast, clip):
    viewer = as_user(client, cast, cast.bob, Role.VIEWER)
    html = viewer.get("/clips/").content.decode()
    assert f"/clips/{clip.code}/play/" in html
    assert 'action="/clips/upload/"' not in html and "Delete" not in html
    assert viewer.get(f"/clips/{clip.code}/play/").status_code == 302
    with open(__file__, "rb") as handle:
        assert viewer.post("/clips/upload/", {"file": handle}).status_code == 403
    assert viewer.post(f"/clips/{clip.code}/rename/", {"name": "x"}).status_code == 403
    assert viewer.post(f"/clips/{clip.code}/delete/").status_code == 403
    assert viewer.get(f"/clips/{clip.code}/trim/").status_code == 403
    assert SourceClip.objects.get().display_name == "Demo take.wav"


def test_login_required(client):
    assert client.get("/clips/").status_code == 302


# Upload ---------------------------------------------------------------------------------

def test_upload_plain_redirects_with_a_message(team_client, cast, tones):
    with open(tones["mp3"], "rb") as handle:
        response = team_client.post("/clips/upload/", {"file": handle}, follow=True)
    assert response.redirect_chain == [("/clips/", 302)]
    assert "Added “tone.mp3”." in response.content.decode()
    clip = SourceClip.objects.get()
    assert clip.workspace == cast.team and clip.uploaded_by == cast.alice


def test_upload_htmx_returns_the_new_row(team_client, tones):
    with open(tones["flac"], "rb") as handle:
        response = team_client.post("/clips/upload/", {"file": handle}, **HTMX)
    assert response.status_code == 201
    html = response.content.decode()
    clip = SourceClip.objects.get()
    assert html.lstrip().startswith(f'<tr id="clip-{clip.code}"')
    assert "0:03" in html and "FLAC" in html


def test_member_uploads_into_the_current_workspace(client, cast, tones):
    bob = as_user(client, cast, cast.bob)
    with open(tones["ogg"], "rb") as handle:
        assert bob.post("/clips/upload/", {"file": handle}).status_code == 302
    assert SourceClip.objects.get().workspace == cast.team


@pytest.mark.parametrize(
    "role, upload, change",
    [(Role.VIEWER, 403, 403), (Role.MEMBER, 201, 200), (Role.ADMIN, 201, 200), (Role.OWNER, 201, 200)],
)
def test_bob_per_role(client, cast, tones, clip, role, upload, change):
    bob = as_user(client, cast, cast.bob, role)
    with open(tones["mp3"], "rb") as handle:
        assert bob.post("/clips/upload/", {"file": handle}, **HTMX).status_code == upload
    assert bob.post(f"/clips/{clip.code}/rename/", {"name": "R"}, **HTMX).status_code == change
    assert bob.post(f"/clips/{clip.code}/delete/", **HTMX).status_code == change
    remaining = [c.display_name for c in SourceClip.objects.all()]
    assert remaining == (["Demo take.wav"] if role == Role.VIEWER else ["tone.mp3"])


def test_upload_get_is_405(team_client):
    assert team_client.get("/clips/upload/").status_code == 405


def test_upload_without_a_file(team_client):
    response = team_client.post("/clips/upload/", {})
    assert response.status_code == 400
    assert "Choose an audio file to upload." in response.content.decode()


@pytest.mark.parametrize(
    "which, message",
    [("png_as_mp3", "This file is not audio we can use."),
     ("truncated_mp3", "This file is incomplete"),
     ("empty", "This file is empty (0 bytes)."),
     ("too_long", "This clip lasts 8:10; no provider accepts more than 8:00.")],
)
@pytest.mark.parametrize("htmx", [False, True])
def test_refused_uploads_say_why_and_keep_nothing(team_client, tones, which, message, htmx):
    before = stored_names()
    with open(tones[which], "rb") as handle:
        response = team_client.post("/clips/upload/", {"file": handle}, **(HTMX if htmx else {}))
    assert response.status_code == 400
    assert message in response.content.decode()
    if htmx:
        assert response["HX-Retarget"] == "#upload-status"
        assert "<html" not in response.content.decode()
    assert stored_names() == before
    assert not SourceClip.objects.exists()


def test_oversize_upload_is_dropped_while_it_streams(team_client, tones, settings):
    settings.UPLOAD_MAX_BYTES = 50_000
    before = stored_names()
    with open(tones["wav"], "rb") as handle:  # ~530 kB
        response = team_client.post("/clips/upload/", {"file": handle})
    assert response.status_code == 400
    assert "This file is too large. The limit is 48.8 KB." in response.content.decode()
    assert stored_names() == before and not SourceClip.objects.exists()


def test_upload_needs_the_csrf_token(cast, tones):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    as_user(client, cast, cast.alice)
    with open(tones["mp3"], "rb") as handle:
        assert client.post("/clips/upload/", {"file": handle}).status_code == 403
    assert not SourceClip.objects.exists()


# Detail, play, download -----------------------------------------------------------------

def test_detail_page(team_client, clip):
    response = team_client.get(f"/clips/{clip.code}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Demo take.wav" in html and "22050 Hz" in html and "mono" in html
    assert clip.sha256 in html


def test_play_redirects_to_a_signed_link_that_streams(team_client, clip):
    response = team_client.get(f"/clips/{clip.code}/play/")
    assert response.status_code == 302
    assert "no-store" in response["Cache-Control"]
    location = response["Location"]
    if files.is_s3():
        assert "X-Amz-Signature" in location
        return
    streamed = team_client.get(location, HTTP_RANGE="bytes=0-3")
    assert streamed.status_code == 206
    assert b"".join(streamed.streaming_content) == b"RIFF"


def test_download_names_the_file(team_client, clip):
    location = team_client.get(f"/clips/{clip.code}/download/")["Location"]
    if files.is_s3():
        assert "response-content-disposition" in location
        return
    response = team_client.get(location)
    assert 'filename="Demo take.wav"' in response["Content-Disposition"]


@pytest.mark.parametrize("suffix", ["", "play/", "download/", "trim/"])
def test_charlie_gets_404_everywhere(charlie_client, clip, suffix):
    assert charlie_client.get(f"/clips/{clip.code}/{suffix}").status_code == 404


@pytest.mark.parametrize("suffix", ["rename/", "delete/"])
def test_charlie_cannot_change_it(charlie_client, clip, suffix):
    assert charlie_client.post(f"/clips/{clip.code}/{suffix}", {"name": "x"}).status_code == 404
    assert SourceClip.objects.get().display_name == "Demo take.wav"


@pytest.mark.parametrize("suffix", ["", "play/", "trim/"])
@pytest.mark.parametrize("code", [BAD_CODE, "not-a-uuid"])
def test_bad_code_is_404(team_client, suffix, code):
    assert team_client.get(f"/clips/{code}/{suffix}").status_code == 404


def test_deleted_clip_is_404(team_client, clip):
    CoverJob.objects.create(workspace=clip.workspace, kind="upload_cover", provider="apikley",
                            source_clip=clip, state=JobState.FAILED, idempotency_key="x")
    team_client.post(f"/clips/{clip.code}/delete/")
    assert team_client.get(f"/clips/{clip.code}/").status_code == 404


# Rename ---------------------------------------------------------------------------------

def test_rename_plain(team_client, clip):
    response = team_client.post(f"/clips/{clip.code}/rename/", {"name": "Verse"}, follow=True)
    assert response.redirect_chain == [(f"/clips/{clip.code}/", 302)]
    assert "Renamed to “Verse”." in response.content.decode()
    clip.refresh_from_db()
    assert clip.display_name == "Verse"


def test_rename_htmx_returns_the_name_partial(team_client, clip):
    response = team_client.post(f"/clips/{clip.code}/rename/", {"name": "Bridge"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="clip-name"') and "<h1>Bridge</h1>" in html


def test_rename_blank_is_refused(team_client, clip):
    response = team_client.post(f"/clips/{clip.code}/rename/", {"name": "\x01"}, **HTMX)
    assert response.status_code == 400
    assert "Give the clip a name." in response.content.decode()
    clip.refresh_from_db()
    assert clip.display_name == "Demo take.wav"


def test_member_bob_may_rename(client, cast, clip):
    bob = as_user(client, cast, cast.bob)
    assert bob.post(f"/clips/{clip.code}/rename/", {"name": "By Bob"}).status_code == 302


@pytest.mark.parametrize("suffix", ["rename/", "delete/"])
def test_get_on_changes_is_405(team_client, clip, suffix):
    assert team_client.get(f"/clips/{clip.code}/{suffix}").status_code == 405


# Delete ---------------------------------------------------------------------------------

def test_delete_plain(team_client, clip, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = team_client.post(f"/clips/{clip.code}/delete/", follow=True)
    assert response.redirect_chain == [("/clips/", 302)]
    assert "Deleted “Demo take.wav”." in response.content.decode()
    assert not SourceClip.objects.exists()
    assert not default_storage.exists(clip.storage_key)


def test_delete_htmx_removes_the_row(team_client, clip, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = team_client.post(f"/clips/{clip.code}/delete/", **HTMX)
    assert response.status_code == 200 and response.content == b""
    assert not SourceClip.objects.exists()


@pytest.mark.parametrize("htmx", [False, True])
def test_delete_refused_while_a_job_runs(team_client, clip, htmx):
    CoverJob.objects.create(workspace=clip.workspace, kind="upload_cover", provider="apikley",
                            source_clip=clip, state=JobState.QUEUED, idempotency_key="x")
    response = team_client.post(f"/clips/{clip.code}/delete/", follow=not htmx,
                                **(HTMX if htmx else {}))
    assert "A cover is being made from this clip." in response.content.decode()
    if htmx:
        assert response.status_code == 409 and response["HX-Retarget"] == "#clip-alerts"
    assert SourceClip.objects.filter(deleted_at=None).count() == 1
    assert default_storage.exists(clip.storage_key)


# Trim -----------------------------------------------------------------------------------

def test_trim_page(team_client, clip):
    response = team_client.get(f"/clips/{clip.code}/trim/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="waveform"' in html and "wavesurfer-7.12.12.min.js" in html
    assert 'name="start"' in html and 'name="end"' in html
    assert "apiin.one: 6–60 s" in html
    assert '<script id="clip-peaks" type="application/json">[' in html
    assert len(clip.peaks) == 400  # 20 s at 20 peaks a second


def test_trim_preset_works_without_js(team_client, clip):
    response = team_client.get(f"/clips/{clip.code}/trim/?preset=apiinone&start=17")
    html = response.content.decode()
    assert 'name="start" value="14.0' in html or 'value="14' in html
    assert 'name="end" value="20' in html


def test_trim_post_makes_a_clip(team_client, clip):
    response = team_client.post(f"/clips/{clip.code}/trim/", {"start": "2", "end": "12"},
                                follow=True)
    assert response.redirect_chain == [("/clips/", 302)]
    new = SourceClip.objects.get(parent=clip)
    assert new.duration == pytest.approx(10, abs=0.05)
    assert f"Made “{new.display_name}”." in response.content.decode()


def test_trim_htmx_redirects_the_client(team_client, clip):
    response = team_client.post(f"/clips/{clip.code}/trim/", {"start": "0", "end": "5"}, **HTMX)
    assert response.status_code == 200 and response["HX-Redirect"] == "/clips/"


def test_trim_bad_range_shows_the_form_again(team_client, clip):
    response = team_client.post(f"/clips/{clip.code}/trim/", {"start": "8", "end": "3"})
    assert response.status_code == 400
    assert "The end must come after the start." in response.content.decode()
    assert SourceClip.objects.count() == 1


def test_cross_workspace_links_do_not_leak(client, cast, clip, tones):
    """Charlie cannot reach the team's clip, its stream or a link to it, even by editing a
    link he was given for his own clip."""
    charlie = as_user(client, cast, cast.charlie)
    use_workspace(charlie, cast.charlie_personal)
    own = clips.create_clip(cast.charlie_personal, cast.charlie,
                            SimpleUploadedFile("mine.mp3", tones["mp3"].read_bytes()))
    assert clip.display_name not in charlie.get("/clips/").content.decode()
    for suffix in ("", "play/", "download/"):
        assert charlie.get(f"/clips/{clip.code}/{suffix}").status_code == 404
    if files.is_s3():
        return
    link = charlie.get(f"/clips/{own.code}/play/")["Location"]
    assert charlie.get(link).status_code == 200
    from django.core import signing

    token = link.split("/")[2]
    payload = signing.loads(token, salt=files.SALT)
    forged = signing.dumps({**payload, "n": clip.storage_key}, salt="guessed-salt", compress=True)
    assert charlie.get(f"/files/{forged}/").status_code == 404
    body, sig = token.rsplit(":", 1)
    assert charlie.get(f"/files/{body}:{'A' * len(sig)}/").status_code == 404
