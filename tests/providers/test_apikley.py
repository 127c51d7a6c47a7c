"""Apikley adapter: the exact requests it sends and how it reads every documented payload."""

import json
from decimal import Decimal

import httpx
import pytest

from covers.models import ProviderCall
from covers.providers import registry
from covers.providers.base import ArtRequest, Callback, CoverRequest, ProviderError, State
from tests.providers.conftest import CALLBACK_TOKEN, assert_golden, fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("real_providers")]

CALLBACK = f"https://coverlab.test/hooks/apikley/{CALLBACK_TOKEN}/"
SOURCE = "https://coverlab.test/files/signed-token/"
OK = {"code": 200, "msg": "success", "data": {"taskId": "5c79be8e"}}


def custom_request(**overrides):
    fields = dict(
        callback_url=CALLBACK, model="V4_5", upload_url=SOURCE, custom_mode=True,
        instrumental=False, prompt="[Verse] Night city lights shining bright",
        style="lofi, warm", title="Night City", negative_tags="metal", vocal_gender="f",
        style_weight=Decimal("0.65"), weirdness_constraint=Decimal("0.125"),
        audio_weight=Decimal("0.999"), persona_id="persona_123",
    )
    fields.update(overrides)
    return CoverRequest(**fields)


def adapter():
    return registry.get_adapter("apikley")


def test_upload_cover_sends_every_parameter_with_weights_rounded_half_up(wire):
    fake = wire(OK)
    result = adapter().submit_upload_cover(custom_request())
    assert (result.task_id, result.state) == ("5c79be8e", State.QUEUED)
    assert_golden(fake.last, "apikley_upload_cover_custom.request.json")


def test_simple_mode_sends_only_prompt_and_the_required_fields(wire):
    fake = wire(OK)
    adapter().submit_upload_cover(CoverRequest(
        callback_url=CALLBACK, model="V5", upload_url=SOURCE, instrumental=True,
        prompt="A short relaxing piano tune"))
    assert_golden(fake.last, "apikley_upload_cover_simple.request.json")


def test_track_cover_is_an_upload_cover(wire):
    fake = wire(OK)
    adapter().submit_track_cover(custom_request())
    assert fake.last.url.path == "/api/v1/generate/upload-cover"


@pytest.mark.parametrize("code,permanent", [
    (401, True), (402, True), (404, True), (409, True), (422, True), (413, True),
    (429, False), (455, False), (500, False),
])
def test_errors_in_a_200_body_raise_with_their_code(wire, code, permanent):
    wire({"code": code, "msg": f"failure {code}", "data": None})
    with pytest.raises(ProviderError) as caught:
        adapter().submit_upload_cover(custom_request())
    assert caught.value.code == code
    assert caught.value.permanent is permanent
    assert caught.value.message == f"failure {code}"


def test_fetch_failure_falls_back_to_the_file_upload_host(wire):
    fake = wire(
        {"code": 451, "msg": "File fetch failed", "data": None},
        httpx.Response(200, content=b"ID3fake-mp3", headers={"content-type": "audio/mpeg"}),
        {"success": True, "code": 200, "msg": "File uploaded successfully",
         "data": {"fileName": "x.mp3", "downloadUrl": "https://tempfile.apikley.test/x.mp3"}},
        OK,
    )
    result = adapter().submit_upload_cover(custom_request())
    assert result.task_id == "5c79be8e"
    first, download, upload, retry = fake.requests
    assert json.loads(first.content)["uploadUrl"] == SOURCE
    assert str(download.url) == SOURCE
    assert "authorization" not in download.headers  # our own file host gets no provider key
    assert str(upload.url) == "https://api.apikley.test/file-upload/api/file-stream-upload"
    assert upload.headers["authorization"] == "Bearer ak-secret-key"
    assert upload.headers["content-type"].startswith("multipart/form-data")
    assert b'name="uploadPath"' in upload.content and b"ID3fake-mp3" in upload.content
    assert json.loads(retry.content)["uploadUrl"] == "https://tempfile.apikley.test/x.mp3"


def test_cover_art_request_and_a_repeat_returns_the_existing_task(wire):
    fake = wire({"code": 200, "msg": "success", "data": {"taskId": "21aee3c3"}})
    request = ArtRequest(music_task_id="73d6128b3523a0079df10da9471017c8", callback_url=CALLBACK)
    assert adapter().submit_cover_art(request).task_id == "21aee3c3"
    assert_golden(fake.last, "apikley_cover_art.request.json")

    wire({"code": 400, "msg": "Cover already generated", "data": {"taskId": "21aee3c3"}})
    repeat = adapter().submit_cover_art(request)
    assert (repeat.task_id, repeat.state, repeat.stage) == ("21aee3c3", State.QUEUED, "existing")


def test_cover_art_400_without_a_task_id_is_an_error(wire):
    wire({"code": 400, "msg": "Invalid taskId", "data": None})
    with pytest.raises(ProviderError) as caught:
        adapter().submit_cover_art(ArtRequest(music_task_id="nope", callback_url=CALLBACK))
    assert caught.value.permanent and caught.value.code == 400


def test_record_info_success_reads_camel_case_tracks(wire):
    fake = wire(fixture("apikley_record_info_success.json"))
    result = adapter().fetch_status("2fac9f72", "upload_cover")
    assert str(fake.last.url) == (
        "https://api.apikley.test/api/v1/generate/record-info?taskId=2fac9f72")
    assert fake.last.method == "GET"
    assert result.state == State.SUCCEEDED
    assert [t.id for t in result.tracks] == ["e231", "bd15"]
    first = result.tracks[0]
    assert (first.audio_url, first.stream_url, first.image_url) == (
        "https://example.cn/a.mp3", "https://example.cn/s1", "https://example.cn/a.jpeg")
    assert (first.title, first.tags, first.duration) == ("Calm", "piano", 120.5)


@pytest.mark.parametrize("status,state", [
    ("PENDING", State.QUEUED), ("TEXT_SUCCESS", State.TEXT_READY),
    ("FIRST_SUCCESS", State.FIRST_READY), ("CREATE_TASK_FAILED", State.FAILED),
    ("GENERATE_AUDIO_FAILED", State.FAILED), ("CALLBACK_EXCEPTION", State.FAILED),
    ("SENSITIVE_WORD_ERROR", State.FAILED), ("SOMETHING_NEW", State.RUNNING),
])
def test_record_info_status_enum(wire, status, state):
    payload = fixture("apikley_record_info_success.json")
    payload["data"].update(status=status, errorCode=531 if state == State.FAILED else None,
                           errorMessage="refunded" if state == State.FAILED else None)
    payload["data"]["response"] = None
    wire(payload)
    result = adapter().fetch_status("2fac9f72", "upload_cover")
    assert result.state == state
    if state == State.FAILED:
        assert (result.error_code, result.error_message, result.refunded) == (
            "531", "refunded", True)


def test_record_info_success_without_audio_is_a_failure(wire):
    payload = fixture("apikley_record_info_success.json")
    for track in payload["data"]["response"]["sunoData"]:
        track["audioUrl"] = ""
    wire(payload)
    result = adapter().fetch_status("2fac9f72", "upload_cover")
    assert (result.state, result.error_code) == (State.FAILED, "no_audio")


def test_import_task_reads_record_info(wire):
    fake = wire(fixture("apikley_record_info_success.json"))
    result = adapter().import_task("2fac9f72")
    assert fake.last.url.params["taskId"] == "2fac9f72"
    assert len(result.tracks) == 2


def callback(name_or_payload):
    payload = fixture(name_or_payload) if isinstance(name_or_payload, str) else name_or_payload
    return Callback(body=json.dumps(payload).encode(), headers={"content-type": "application/json"})


def test_callback_stages():
    text = adapter().parse_callback(callback("apikley_callback_text.json"), "upload_cover")
    assert (text.task_id, text.state, text.tracks) == ("2fac9f72", State.TEXT_READY, [])

    first = adapter().parse_callback(callback("apikley_callback_first.json"), "upload_cover")
    assert first.state == State.FIRST_READY
    assert first.tracks[0].audio_url == "" and first.tracks[0].stream_url == "https://example.cn/s1"

    done = adapter().parse_callback(callback("apikley_callback_complete.json"), "upload_cover")
    assert done.state == State.SUCCEEDED and done.stage == "complete"
    assert [t.duration for t in done.tracks] == [198.44, 228.28]
    assert done.tracks[1].audio_url == "https://example.cn/b.mp3"
    assert done.tracks[0].prompt == "[Verse] Night city lights shining bright"


def test_error_callback_531_means_refunded():
    result = adapter().parse_callback(callback("apikley_callback_error.json"), "upload_cover")
    assert (result.state, result.error_code, result.refunded) == (State.FAILED, "531", True)
    assert "refunded" in result.error_message


@pytest.mark.parametrize("code", [400, 408, 413, 451, 500, 501])
def test_failure_callback_codes(code):
    payload = {"code": code, "msg": f"failed {code}",
               "data": {"callbackType": "complete", "task_id": "t1", "data": []}}
    result = adapter().parse_callback(callback(payload), "upload_cover")
    assert (result.state, result.error_code, result.refunded) == (State.FAILED, str(code), False)
    assert result.error_message == f"failed {code}"


def test_complete_callback_without_audio_is_a_failure():
    payload = fixture("apikley_callback_complete.json")
    for track in payload["data"]["data"]:
        track["audio_url"] = ""
    result = adapter().parse_callback(callback(payload), "upload_cover")
    assert result.state == State.FAILED and result.error_code == "no_audio"


def test_unreadable_callback_is_refused():
    with pytest.raises(ProviderError):
        adapter().parse_callback(Callback(body=b"<html>", headers={}), "upload_cover")


def test_art_callback_and_its_failure():
    result = adapter().parse_callback(callback("apikley_art_callback.json"), "cover_art")
    assert result.state == State.SUCCEEDED and len(result.images) == 2
    assert result.task_id == "21aee3c3c2a01fa5e030b3799fa4dd56"
    failed = adapter().parse_callback(
        callback({"code": 501, "msg": "Build failed", "data": {"taskId": "x", "images": None}}),
        "cover_art")
    assert (failed.state, failed.error_code, failed.images) == (State.FAILED, "501", [])


@pytest.mark.parametrize("flag,state", [
    (0, State.QUEUED), (1, State.SUCCEEDED), (2, State.RUNNING), (3, State.FAILED),
    ("0", State.QUEUED), ("PENDING", State.QUEUED), ("SUCCESS", State.SUCCEEDED),
    ("CREATE_TASK_FAILED", State.FAILED), ("GENERATE_COVER_FAILED", State.FAILED),
])
def test_art_record_info_success_flag_as_integer_or_name(wire, flag, state):
    payload = fixture("apikley_art_record_info.json")
    payload["data"]["successFlag"] = flag
    fake = wire(payload)
    result = adapter().fetch_status("21aee3c3", "cover_art")
    assert str(fake.last.url) == (
        "https://api.apikley.test/api/v1/suno/cover/record-info?taskId=21aee3c3")
    assert result.state == state
    if state == State.SUCCEEDED:
        assert result.images == ["https://tempfile.aiquickdraw.com/s/1.png",
                                 "https://tempfile.aiquickdraw.com/s/2.png"]


def test_every_request_is_recorded_without_secrets(wire, cast):
    from covers.models import CoverJob

    job = CoverJob.objects.create(workspace=cast.team, kind="upload_cover", provider="apikley",
                                  idempotency_key="k1", callback_token=CALLBACK_TOKEN)
    wire(OK)
    registry.get_adapter("apikley", job=job).submit_upload_cover(custom_request())
    call = ProviderCall.objects.get()
    assert (call.provider, call.job, call.method, call.attempt, call.status_code) == (
        "apikley", job, "POST", 1, 200)
    assert call.endpoint == "https://api.apikley.test/api/v1/generate/upload-cover"
    assert call.request_body["model"] == "V4_5"
    assert CALLBACK_TOKEN not in json.dumps(call.request_body)
    assert call.request_body["callBackUrl"] == "https://coverlab.test/hooks/apikley/***/"
    assert "5c79be8e" in call.response_body


def test_429_that_means_no_credits_is_permanent(wire):
    fake = wire({"code": 429, "msg": "Insufficient credits, please top up", "data": None})
    with pytest.raises(ProviderError) as caught:
        adapter().submit_upload_cover(custom_request())
    assert (caught.value.code, caught.value.permanent) == (429, True)
    assert len(fake.requests) == 1
