"""The Apiframe adapter against the sandbox: a parent job, its cover, signed webhooks."""

import pytest

from covers.providers import http as provider_http
from covers.providers import registry
from covers.providers.base import Callback, CoverRequest, ProviderError, State
from sandbox import seed, tasks
from tests.sandbox.conftest import HOOKS

pytestmark = pytest.mark.django_db
CALLBACK = f"{HOOKS}/hooks/apiframe/tok/"


def adapter():
    return registry.get_adapter("apiframe")


def parsed(outside):
    return [adapter().parse_callback(Callback(body=r.content, headers=dict(r.headers)),
                                     "track_cover") for r in outside.callbacks]


@pytest.fixture
def parent(outside):
    return seed.apiframe_parent("Neon Skyline", "synthwave")


def test_parent_over_http_then_import(outside):
    creds = registry.credentials("apiframe")
    with provider_http.client() as client:
        response = client.post(f"{creds.base_url}/v2/music/generate",
                               headers={"X-API-Key": creds.api_key},
                               json={"prompt": "a tune", "model": "suno",
                                     "sunoParams": {"title": "Tune", "style": "folk"}})
    assert response.status_code == 202 and response.json()["status"] == "QUEUED"
    job_id = response.json()["jobId"]
    assert adapter().import_task(job_id).state == State.QUEUED
    tasks.run_pending()
    imported = adapter().import_task(job_id)
    assert imported.state == State.SUCCEEDED and len(imported.tracks) == 2
    assert imported.tracks[0].title == "Tune"


def test_cover_by_index_with_signed_webhooks(parent, outside):
    submitted = adapter().submit_track_cover(CoverRequest(
        callback_url=CALLBACK, parent_job_id=parent.task_id, track_index=2, style="orchestral"))
    tasks.run_pending()
    events = parsed(outside)  # parse_callback verifies each signature first
    assert [e.stage for e in events] == ["progress", "progress", "completed"]
    assert [e.progress for e in events[:2]] == [30, 60]
    done = events[-1]
    assert (done.task_id, done.state, len(done.tracks)) == (
        submitted.task_id, State.SUCCEEDED, 2)
    assert all(r.headers["x-webhook-event"] for r in outside.callbacks)
    polled = adapter().fetch_status(submitted.task_id)
    assert polled.tracks == done.tracks and polled.progress == 100


def test_cover_by_track_id_can_itself_be_covered(parent, outside):
    first = adapter().submit_track_cover(CoverRequest(
        callback_url=CALLBACK, parent_job_id=parent.task_id, track_id=parent.tracks[0]["id"]))
    tasks.run_pending()
    again = adapter().submit_track_cover(CoverRequest(
        callback_url=CALLBACK, parent_job_id=first.task_id, track_index=1, style="lofi"))
    tasks.run_pending()
    assert adapter().fetch_status(again.task_id).state == State.SUCCEEDED


def test_forged_webhook_is_refused(parent, outside):
    adapter().submit_track_cover(CoverRequest(callback_url=CALLBACK,
                                              parent_job_id=parent.task_id, track_index=1))
    tasks.run_pending()
    request = outside.callbacks[-1]
    forged = Callback(body=request.content.replace(b"COMPLETED", b"FAILED"),
                      headers=dict(request.headers))
    with pytest.raises(ProviderError):
        adapter().parse_callback(forged, "track_cover")


@pytest.mark.parametrize("code", ["400", "408", "413", "500", "501", "531"])
def test_generation_faults_send_a_failed_webhook(parent, outside, code):
    submitted = adapter().submit_track_cover(CoverRequest(
        callback_url=CALLBACK, parent_job_id=parent.task_id, track_index=1,
        title=f"x [sandbox:{code}]"))
    tasks.run_pending()
    (failed,) = parsed(outside)
    assert (failed.stage, failed.state, failed.refunded) == ("failed", State.FAILED, True)
    assert adapter().fetch_status(submitted.task_id).state == State.FAILED


@pytest.mark.parametrize("fault,status,permanent,attempts", [
    ("down", 503, False, 3), ("455", 503, False, 3), ("429", 429, False, 3),
    ("402", 402, True, 1)])
def test_submit_faults(parent, outside, fault, status, permanent, attempts):
    from covers.models import ProviderCall

    with pytest.raises(ProviderError) as caught:
        adapter().submit_track_cover(CoverRequest(
            callback_url=CALLBACK, parent_job_id=parent.task_id, track_index=1,
            style=f"[sandbox:{fault}]"))
    assert (caught.value.status_code, caught.value.permanent) == (status, permanent)
    assert ProviderCall.objects.count() == attempts


def test_parent_must_exist_and_be_complete(outside):
    unfinished = seed.apiframe_parent(run=False)
    for parent_id, status in (("00000000-0000-0000-0000-000000000000", 404),
                              (unfinished.task_id, 400)):
        with pytest.raises(ProviderError) as caught:
            adapter().submit_track_cover(CoverRequest(callback_url=CALLBACK,
                                                      parent_job_id=parent_id, track_index=1))
        assert (caught.value.status_code, caught.value.permanent) == (status, True)


def test_out_of_order_and_duplicate_webhooks(parent, outside):
    adapter().submit_track_cover(CoverRequest(
        callback_url=CALLBACK, parent_job_id=parent.task_id, track_index=1,
        style="[sandbox:out-of-order] [sandbox:duplicate]"))
    tasks.run_pending()
    assert [e.stage for e in parsed(outside)] == [
        "completed", "completed", "progress", "progress", "progress", "progress"]


def test_lost_webhooks_leave_only_polling(parent, outside):
    submitted = adapter().submit_track_cover(CoverRequest(
        callback_url=CALLBACK, parent_job_id=parent.task_id, track_index=1,
        style="[sandbox:lost]"))
    tasks.run_pending()
    assert outside.callbacks == []
    assert adapter().fetch_status(submitted.task_id).state == State.SUCCEEDED


def test_wrong_key_is_401(parent, outside):
    with provider_http.client() as client:
        response = client.get(f"{registry.credentials('apiframe').base_url}/v2/jobs/"
                              f"{parent.task_id}", headers={"X-API-Key": "afk_wrong"})
    assert response.status_code == 401 and response.json() == {"error": "Invalid API key"}
