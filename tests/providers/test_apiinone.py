"""apiin.one adapter: exact requests, and its loosely specified answers."""

import json

import httpx
import pytest

from covers.providers import registry
from covers.providers.base import ArtRequest, Callback, CoverRequest, ProviderError, State
from tests.providers.conftest import CALLBACK_TOKEN, assert_golden, fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("real_providers")]

CALLBACK = f"https://coverlab.test/hooks/apiinone/{CALLBACK_TOKEN}/"
OK = {"code": 200, "message": "success", "data": {"task_id": "upl987654321bksv"}}


def adapter():
    return registry.get_adapter("apiinone")


def cover(**overrides):
    fields = dict(callback_url=CALLBACK, audio_id="aud123456789", custom_mode=True,
                  prompt="Here are some new lyrics for the intro...", style="acoustic pop",
                  title="Intro")
    return CoverRequest(**(fields | overrides))


def test_upload_cover_request(wire):
    fake = wire(OK)
    result = adapter().submit_upload_cover(cover())
    assert (result.task_id, result.state) == ("upl987654321bksv", State.QUEUED)
    assert_golden(fake.last, "apiinone_upload_cover.request.json")


def test_simple_mode_sends_no_empty_fields(wire):
    fake = wire(OK)
    adapter().submit_track_cover(CoverRequest(callback_url=CALLBACK, audio_id="song_abc"))
    assert fake.json() == {"audio_id": "song_abc", "custom_mode": False,
                           "callback_url": CALLBACK}


def test_cover_art_sends_both_spellings_of_the_task_id(wire):
    fake = wire({"code": 200, "msg": "success", "data": {"taskId": "cover123123213213b880d2"}})
    result = adapter().submit_cover_art(
        ArtRequest(music_task_id="gen123213213213123bksv", callback_url=CALLBACK))
    assert result.task_id == "cover123123213213b880d2"
    assert_golden(fake.last, "apiinone_cover_art.request.json")


def test_repeat_cover_art_is_a_permanent_error_that_says_so(wire):
    wire(httpx.Response(400, json={"code": 400, "msg": "Cover already generated for this task",
                                   "data": None}))
    with pytest.raises(ProviderError) as caught:
        adapter().submit_cover_art(ArtRequest(music_task_id="gen1", callback_url=CALLBACK))
    assert caught.value.permanent and caught.value.code == "already_generated"
    assert "already made cover art" in caught.value.message


def test_other_400_on_cover_art_mentions_the_repeat_case(wire):
    wire(httpx.Response(400, json={"error": {"type": "invalid_request", "message": "bad id"}}))
    with pytest.raises(ProviderError) as caught:
        adapter().submit_cover_art(ArtRequest(music_task_id="gen1", callback_url=CALLBACK))
    assert caught.value.permanent and caught.value.message.startswith("bad id")


@pytest.mark.parametrize("reply,message,code,permanent", [
    (httpx.Response(400, json={"error": {"type": "invalid_request",
                                         "message": "Missing audio_id"}}),
     "Missing audio_id", "invalid_request", True),
    (httpx.Response(401, json={"error": {"type": "authentication_error",
                                         "message": "Invalid or missing API key."}}),
     "Invalid or missing API key.", "authentication_error", True),
    (httpx.Response(404, json={"code": 404, "message": "Audio ID not found."}),
     "Audio ID not found.", 404, True),
    ({"code": 400, "msg": "audio length does not meet guidelines (6-60s)"},
     "audio length does not meet guidelines (6-60s)", 400, True),
    ({"code": 429, "message": "slow down"}, "slow down", 429, False),
])
def test_errors_read_message_msg_or_error_message(wire, reply, message, code, permanent):
    wire(reply)
    with pytest.raises(ProviderError) as caught:
        adapter().submit_upload_cover(cover())
    assert (caught.value.message, caught.value.code, caught.value.permanent) == (
        message, code, permanent)


def test_status_complete(wire):
    fake = wire(fixture("apiinone_status_complete.json"))
    result = adapter().fetch_status("upl987654321bksv", "upload_cover")
    assert str(fake.last.url) == (
        "https://apiin.one.test/api/v1/audio/music/upload-cover/status?task_id=upl987654321bksv")
    assert fake.last.headers["authorization"] == "Bearer aio_secret_key"
    assert result.state == State.SUCCEEDED
    assert result.tracks[0].id == "song_abc"
    assert result.tracks[0].audio_url == "https://audiopipe.suno.ai/?item_id=song_abc"
    assert result.tracks[0].image_url == "https://cdn2.suno.ai/image_abc.jpeg"


@pytest.mark.parametrize("data,state", [
    ({"status": "pending"}, State.QUEUED),
    ({"status": "text"}, State.TEXT_READY),
    ({"status": "first"}, State.FIRST_READY),
    ({"status": "streaming"}, State.RUNNING),
    ({"status": "failed"}, State.FAILED),
    ({"status": "streaming", "fail_message": "Audio generation failed"}, State.FAILED),
    ({"status": "error", "error_message": "boom"}, State.FAILED),
    ({"status": "complete", "clips": []}, State.FAILED),  # finished without audio
])
def test_status_states(wire, data, state):
    wire({"code": 200, "msg": "success", "data": {"task_id": "t", **data}})
    assert adapter().fetch_status("t", "upload_cover").state == state


def test_import_reads_the_status(wire):
    fake = wire(fixture("apiinone_status_complete.json"))
    assert adapter().import_task("upl987654321bksv").tracks[0].id == "song_abc"
    assert fake.last.url.path == "/api/v1/audio/music/upload-cover/status"


def test_art_status(wire):
    fake = wire(fixture("apiinone_art_status.json"))
    result = adapter().fetch_status("cover123123213213b880d2", "cover_art")
    assert str(fake.last.url) == ("https://apiin.one.test/api/v1/audio/music/cover/status"
                                  "?task_id=cover123123213213b880d2")
    assert result.state == State.SUCCEEDED
    assert result.images == ["https://tempcover.storage.com/s/123.png",
                             "https://tempcover.storage.com/s/456.png"]


@pytest.mark.parametrize("status,state", [("PENDING", State.QUEUED),
                                          ("GENERATING", State.RUNNING),
                                          ("FAILED", State.FAILED)])
def test_art_status_states(wire, status, state):
    wire({"code": 200, "msg": "success", "data": {"taskId": "c", "status": status,
                                                  "images": []}})
    assert adapter().fetch_status("c", "cover_art").state == state


def test_callback_mirrors_the_status_response():
    body = json.dumps(fixture("apiinone_status_complete.json")).encode()
    result = adapter().parse_callback(Callback(body=body, headers={}), "upload_cover")
    assert (result.task_id, result.state) == ("upl987654321bksv", State.SUCCEEDED)
    failed = adapter().parse_callback(Callback(body=json.dumps(
        {"code": 501, "message": "Audio generation failed", "data": {"task_id": "t"}}).encode(),
        headers={}), "upload_cover")
    assert (failed.state, failed.error_code, failed.error_message) == (
        State.FAILED, "501", "Audio generation failed")
    art = adapter().parse_callback(Callback(body=json.dumps(
        fixture("apiinone_art_status.json")).encode(), headers={}), "cover_art")
    assert art.state == State.SUCCEEDED and len(art.images) == 2
