"""Apiframe adapter: the cover action, job polling, signed webhooks."""

import base64
import hashlib
import hmac
import json
from decimal import Decimal

import httpx
import pytest

from covers.providers import registry
from covers.providers.apiframe import sign, signature_ok
from covers.providers.base import ArtRequest, Callback, CoverRequest, ProviderError, State
from tests.providers.conftest import APIFRAME_KEY, CALLBACK_TOKEN, assert_golden, fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("real_providers")]

CALLBACK = f"https://coverlab.test/hooks/apiframe/{CALLBACK_TOKEN}/"
PARENT = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
QUEUED = httpx.Response(202, json={"jobId": "d4e5f6a7-b8c9-0123-def4-567890123456",
                                   "status": "QUEUED"})


def adapter():
    return registry.get_adapter("apiframe")


def test_cover_by_index(wire):
    fake = wire(QUEUED)
    result = adapter().submit_track_cover(CoverRequest(
        callback_url=CALLBACK, parent_job_id=PARENT, track_index=1,
        style="acoustic folk, warm, fingerpicked guitar"))
    assert (result.task_id, result.state) == ("d4e5f6a7-b8c9-0123-def4-567890123456",
                                              State.QUEUED)
    assert_golden(fake.last, "apiframe_cover_index.request.json")


def test_cover_by_track_id_with_every_field(wire):
    fake = wire(QUEUED)
    adapter().submit_track_cover(CoverRequest(
        callback_url=CALLBACK, parent_job_id=PARENT,
        track_id="8b2f64d1-3c5e-4a7f-9d2b-6e1a0c4f8b3d", prompt="[Verse] new words",
        title="Neon Skyline (Orchestral)", style="orchestral, cinematic",
        negative_tags="drums", audio_weight=Decimal("0.795")))
    assert_golden(fake.last, "apiframe_cover_track_id.request.json")


def test_upload_cover_and_art_are_not_offered(wire):
    fake = wire(QUEUED)
    with pytest.raises(ProviderError) as caught:
        adapter().submit_upload_cover(CoverRequest(callback_url=CALLBACK))
    assert caught.value.permanent
    with pytest.raises(ProviderError):
        adapter().submit_cover_art(ArtRequest(music_task_id="x", callback_url=CALLBACK))
    assert fake.requests == []


@pytest.mark.parametrize("status,permanent,retried", [
    (400, True, False), (401, True, False), (402, True, False), (503, False, True),
])
def test_http_errors(wire, status, permanent, retried):
    fake = wire(httpx.Response(status, json={"error": f"error {status}"}))
    with pytest.raises(ProviderError) as caught:
        adapter().submit_track_cover(CoverRequest(callback_url=CALLBACK, parent_job_id=PARENT,
                                                  track_index=2))
    assert (caught.value.permanent, caught.value.code) == (permanent, status)
    assert caught.value.message == f"error {status}"
    assert len(fake.requests) == (3 if retried else 1)


def test_job_completed(wire):
    fake = wire(fixture("apiframe_job_completed.json"))
    result = adapter().fetch_status("d4e5f6a7-b8c9-0123-def4-567890123456")
    assert str(fake.last.url) == (
        "https://api.apiframe.test/v2/jobs/d4e5f6a7-b8c9-0123-def4-567890123456")
    assert fake.last.method == "GET" and fake.last.headers["x-api-key"] == APIFRAME_KEY
    assert (result.state, result.progress) == (State.SUCCEEDED, 100)
    first, second = result.tracks
    assert (first.id, first.title, first.tags, first.duration) == (
        "5f1c8a92-6d3e-4b7a-8e29-3c0d7f5a1b86", "Neon Skyline (Acoustic)",
        "acoustic, folk, warm", 131.2)
    assert first.audio_url.endswith("-0.mp3") and first.image_url.endswith("-0.jpeg")
    assert (second.image_url, second.title, second.tags) == ("", "", "")


@pytest.mark.parametrize("status,state", [("QUEUED", State.QUEUED),
                                          ("PROCESSING", State.RUNNING)])
def test_job_running(wire, status, state):
    wire({"id": "j", "status": status, "progress": 40, "result": None, "error": None})
    result = adapter().import_task("j")
    assert (result.state, result.progress, result.tracks) == (state, 40, [])


def test_job_failed_is_refunded(wire):
    wire({"id": "j", "status": "FAILED", "progress": 0, "result": None,
          "error": "Generation failed", "creditCost": 0})
    result = adapter().fetch_status("j")
    assert (result.state, result.error_message, result.refunded) == (
        State.FAILED, "Generation failed", True)


def signed(payload, *, encoding="hex", key_form="digest", key=APIFRAME_KEY):
    body = json.dumps(payload).encode()
    digest = hashlib.sha256(key.encode()).digest()
    mac = hmac.new(digest if key_form == "digest" else digest.hex().encode(), body,
                   hashlib.sha256).digest()
    signature = mac.hex() if encoding == "hex" else base64.b64encode(mac).decode()
    return Callback(body=body, headers={"X-Webhook-Signature": signature,
                                        "X-Webhook-Event": payload.get("event", "")})


@pytest.mark.parametrize("encoding", ["hex", "base64"])
@pytest.mark.parametrize("key_form", ["digest", "hexdigest"])
def test_webhook_signatures_in_hex_or_base64(encoding, key_form):
    callback = signed(fixture("apiframe_webhook_progress.json"), encoding=encoding,
                      key_form=key_form)
    result = adapter().parse_callback(callback, "track_cover")
    assert (result.state, result.progress, result.stage) == (State.RUNNING, 45, "progress")
    assert result.task_id == "d4e5f6a7-b8c9-0123-def4-567890123456"


@pytest.mark.parametrize("tamper", ["body", "key", "missing"])
def test_forged_webhooks_are_refused_before_parsing(tamper):
    callback = signed(fixture("apiframe_webhook_progress.json"),
                      key="afk_other" if tamper == "key" else APIFRAME_KEY)
    if tamper == "body":
        callback.body = callback.body.replace(b"45", b"99")
    if tamper == "missing":
        callback.headers.pop("X-Webhook-Signature")
    with pytest.raises(ProviderError) as caught:
        adapter().parse_callback(callback, "track_cover")
    assert caught.value.code == "bad_signature"
    # Not even unreadable JSON is looked at without a valid signature.
    with pytest.raises(ProviderError) as caught:
        adapter().parse_callback(Callback(body=b"not json", headers={}), "track_cover")
    assert caught.value.code == "bad_signature"


def test_completed_and_failed_webhooks():
    job = fixture("apiframe_job_completed.json")
    completed = {"event": "completed", "jobId": job["id"], "status": "COMPLETED",
                 "progress": 100, "result": job["result"], "model": "suno"}
    result = adapter().parse_callback(signed(completed), "track_cover")
    assert result.state == State.SUCCEEDED and len(result.tracks) == 2
    failed = adapter().parse_callback(signed(fixture("apiframe_webhook_failed.json")),
                                      "track_cover")
    assert (failed.state, failed.error_message, failed.refunded) == (
        State.FAILED, "Generation failed: content policy", True)


def test_sign_and_signature_ok_agree():
    assert signature_ok("k", b"{}", sign("k", b"{}"))
    assert signature_ok("k", b"{}", "sha256=" + sign("k", b"{}"))
    assert not signature_ok("k", b"{}", sign("other", b"{}"))
    assert not signature_ok("", b"{}", sign("", b"{}"))
