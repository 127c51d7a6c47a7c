"""The Apikley adapter against the sandbox over real (in-process) HTTP."""

import io

import pytest
from PIL import Image

from covers.models import ProviderCall
from covers.providers import http as provider_http
from covers.providers import registry
from covers.providers.base import ArtRequest, Callback, CoverRequest, ProviderError, State
from sandbox import tasks
from sandbox.models import SandboxTask
from tests.sandbox.conftest import HOOKS, SOURCE_URL

pytestmark = pytest.mark.django_db
CALLBACK = f"{HOOKS}/hooks/apikley/tok/"


def adapter():
    return registry.get_adapter("apikley")


def cover(**fields):
    base = dict(callback_url=CALLBACK, model="V5", upload_url=SOURCE_URL, custom_mode=True,
                instrumental=True, style="lofi, chill", title="Night City")
    return CoverRequest(**(base | fields))


def parsed(outside, kind="upload_cover"):
    return [adapter().parse_callback(Callback(body=r.content, headers=dict(r.headers)), kind)
            for r in outside.callbacks]


def download(url):
    with provider_http.client() as client:
        response = client.get(url)
    return response


def test_cover_end_to_end(outside, source_mp3):
    submitted = adapter().submit_upload_cover(cover())
    assert adapter().fetch_status(submitted.task_id, "upload_cover").state == State.QUEUED
    tasks.run_pending()

    text, first, complete = parsed(outside)
    assert [r.state for r in (text, first, complete)] == [
        State.TEXT_READY, State.FIRST_READY, State.SUCCEEDED]
    assert {r.task_id for r in (text, first, complete)} == {submitted.task_id}
    assert text.tracks == []
    assert first.tracks[0].audio_url == "" and first.tracks[0].stream_url
    assert len(complete.tracks) == 2
    assert {t.title for t in complete.tracks} == {"Night City"}

    polled = adapter().fetch_status(submitted.task_id, "upload_cover")
    assert polled.state == State.SUCCEEDED and polled.tracks == complete.tracks

    first_take, second_take = (download(t.audio_url) for t in complete.tracks)
    assert first_take.headers["content-type"] == "audio/mpeg"
    assert first_take.content[:3] == b"ID3" or first_take.content[:2] == b"\xff\xfb"
    assert first_take.content != second_take.content != source_mp3
    assert 7 < complete.tracks[0].duration < 10
    image = Image.open(io.BytesIO(download(complete.tracks[0].image_url).content))
    assert image.format == "PNG" and image.size == (512, 512)


def test_cover_art_end_to_end_and_repeat(outside):
    music = adapter().submit_upload_cover(cover())
    tasks.run_pending()
    request = ArtRequest(music_task_id=music.task_id, callback_url=f"{HOOKS}/hooks/art/")
    art = adapter().submit_cover_art(request)
    tasks.run_pending()
    done = parsed(outside, "cover_art")[-1]
    assert (done.task_id, done.state, len(done.images)) == (art.task_id, State.SUCCEEDED, 2)
    for url in done.images:
        assert Image.open(io.BytesIO(download(url).content)).format == "PNG"
    assert adapter().fetch_status(art.task_id, "cover_art").images == done.images
    again = adapter().submit_cover_art(request)
    assert (again.task_id, again.stage) == (art.task_id, "existing")


def test_cover_art_for_an_unknown_task_is_refused(outside):
    with pytest.raises(ProviderError) as caught:
        adapter().submit_cover_art(ArtRequest(music_task_id="nope", callback_url=CALLBACK))
    assert (caught.value.code, caught.value.permanent) == (404, True)


@pytest.mark.parametrize("code", ["400", "408", "413", "500", "501", "531"])
def test_generation_faults_end_in_an_error_callback(outside, code):
    submitted = adapter().submit_upload_cover(cover(title=f"Song [sandbox:{code}]"))
    tasks.run_pending()
    (failed,) = parsed(outside)
    assert (failed.task_id, failed.state, failed.error_code) == (
        submitted.task_id, State.FAILED, code)
    assert failed.refunded is (code == "531")
    polled = adapter().fetch_status(submitted.task_id, "upload_cover")
    assert (polled.state, polled.error_code, polled.refunded) == (
        State.FAILED, code, code == "531")


def test_art_faults_use_the_art_prefix(outside):
    music = adapter().submit_upload_cover(cover(style="rock [sandbox:art-501]"))
    tasks.run_pending()
    assert parsed(outside)[-1].state == State.SUCCEEDED  # the music itself is fine
    adapter().submit_cover_art(ArtRequest(music_task_id=music.task_id, callback_url=CALLBACK))
    tasks.run_pending()
    failed = parsed(outside, "cover_art")[-1]
    assert (failed.state, failed.error_code) == (State.FAILED, "501")


def test_unfetchable_source_is_a_451_error_callback(outside):
    adapter().submit_upload_cover(cover(upload_url="https://files.test/missing.mp3"))
    tasks.run_pending()
    (failed,) = parsed(outside)
    assert (failed.state, failed.error_code) == (State.FAILED, "451")


def test_451_at_submit_falls_back_to_the_upload_host(outside):
    submitted = adapter().submit_upload_cover(cover(title="Song [sandbox:451]"))
    task = SandboxTask.objects.get(task_id=submitted.task_id)
    assert "/sandbox/apikley/file-upload/files/coverlab/" in task.source_url
    endpoints = [c.endpoint.split("/sandbox/apikley")[1] for c in
                 ProviderCall.objects.order_by("id")]
    assert endpoints == ["/api/v1/generate/upload-cover", "/file-upload/api/file-stream-upload",
                         "/api/v1/generate/upload-cover"]
    tasks.run_pending()
    assert parsed(outside)[-1].state == State.SUCCEEDED


@pytest.mark.parametrize("fault,permanent,attempts", [
    ("429", False, 3), ("455", False, 3), ("down", False, 3), ("402", True, 1)])
def test_submit_faults(outside, fault, permanent, attempts):
    with pytest.raises(ProviderError) as caught:
        adapter().submit_upload_cover(cover(style=f"pop [sandbox:{fault}]"))
    assert caught.value.permanent is permanent
    assert ProviderCall.objects.count() == attempts
    assert not SandboxTask.objects.exists()


def test_faults_by_setting(outside, settings):
    settings.SANDBOX_FAULTS = ["501"]
    adapter().submit_upload_cover(cover())
    tasks.run_pending()
    assert parsed(outside)[0].error_code == "501"


def test_duplicate_callbacks(outside):
    adapter().submit_upload_cover(cover(title="Twice [sandbox:duplicate]"))
    tasks.run_pending()
    assert [r.stage for r in parsed(outside)] == [
        "text", "text", "first", "first", "complete", "complete"]


def test_out_of_order_callbacks(outside):
    adapter().submit_upload_cover(cover(title="Shuffled [sandbox:out-of-order]"))
    tasks.run_pending()
    assert [r.state for r in parsed(outside)] == [
        State.SUCCEEDED, State.FIRST_READY, State.TEXT_READY]


def test_lost_callbacks_leave_only_polling(outside):
    submitted = adapter().submit_upload_cover(cover(title="Quiet [sandbox:lost]"))
    tasks.run_pending()
    assert outside.callbacks == []
    assert adapter().fetch_status(submitted.task_id, "upload_cover").state == State.SUCCEEDED


def test_slow_tasks_take_their_time(outside, settings):
    import time

    settings.SANDBOX_SLOW_SECONDS = 0.1
    adapter().submit_upload_cover(cover(title="Slow [sandbox:slow]"))
    started = time.monotonic()
    tasks.run_pending()
    assert time.monotonic() - started >= 0.3  # three stages
    assert parsed(outside)[-1].state == State.SUCCEEDED


def test_files_expire(outside, settings):
    adapter().submit_upload_cover(cover())
    tasks.run_pending()
    url = parsed(outside)[-1].tracks[0].audio_url
    assert download(url).status_code == 200
    settings.SANDBOX_FILE_TTL_SECONDS = 0
    assert download(url).status_code == 404


def test_running_twice_is_harmless(outside):
    submitted = adapter().submit_upload_cover(cover())
    task = SandboxTask.objects.get(task_id=submitted.task_id)
    tasks.run(task.pk)
    tasks.run(task.pk)
    assert len(outside.callbacks) == 3


def test_the_sandbox_checks_key_and_wire_rules(outside):
    base = registry.credentials("apikley").base_url + "/api/v1/generate/upload-cover"
    body = {"uploadUrl": SOURCE_URL, "customMode": False, "instrumental": False,
            "model": "V5", "callBackUrl": CALLBACK, "prompt": "x", "audioWeight": 0.125}
    with provider_http.client() as client:
        wrong_key = client.post(base, json=body, headers={"Authorization": "Bearer nope"})
        too_precise = client.post(base, json=body,
                                  headers={"Authorization": f"Bearer {registry.sandbox_key()}"})
        body.update(audioWeight=0.13, customMode=True)
        custom_without_style = client.post(base, json=body,
                                           headers={"Authorization": f"Bearer {registry.sandbox_key()}"})
    assert wrong_key.status_code == 401 and wrong_key.json()["code"] == 401
    assert too_precise.json()["code"] == 422 and "audioWeight" in too_precise.json()["msg"]
    assert custom_without_style.json()["code"] == 422
    assert "style" in custom_without_style.json()["msg"]


def test_enqueued_on_commit_and_run_by_the_queue(outside, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        submitted = adapter().submit_upload_cover(cover())
    assert SandboxTask.objects.get(task_id=submitted.task_id).status == "complete"
    assert len(outside.callbacks) == 3


def test_not_served_when_the_provider_is_real(outside, settings):
    settings.SANDBOX_PROVIDER = False
    settings.APIKLEY_API_KEY = "real-key"
    with provider_http.client() as client:
        response = client.get(f"{settings.PUBLIC_BASE_URL}/sandbox/apikley/api/v1/chat/credit",
                              headers={"Authorization": f"Bearer {registry.sandbox_key()}"})
    assert response.status_code == 404


def test_source_that_is_not_audio_fails_with_a_500_callback(outside):
    adapter().submit_upload_cover(cover(upload_url="https://files.test/garbage.mp3"))
    tasks.run_pending()
    text, failed = parsed(outside)  # the lyrics stage came before the audio failed
    assert text.state == State.TEXT_READY
    assert (failed.state, failed.error_code) == (State.FAILED, "500")
    assert SandboxTask.objects.get().status == "failed"
