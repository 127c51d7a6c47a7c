"""The apiin.one adapter against the sandbox over real (in-process) HTTP."""

import pytest

from covers.models import ProviderCall
from covers.providers import registry
from covers.providers.base import ArtRequest, Callback, CoverRequest, ProviderError, State
from sandbox import tasks
from sandbox.models import SandboxTask
from tests.sandbox.conftest import HOOKS

pytestmark = pytest.mark.django_db
CALLBACK = f"{HOOKS}/hooks/apiinone/tok/"


def adapter():
    return registry.get_adapter("apiinone")


def cover(**fields):
    base = dict(callback_url=CALLBACK, audio_id="suno-clip-1", custom_mode=True,
                prompt="[Verse] words", style="jazz", title="Blue")
    return CoverRequest(**(base | fields))


def parsed(outside, kind="upload_cover"):
    return [adapter().parse_callback(Callback(body=r.content, headers=dict(r.headers)), kind)
            for r in outside.callbacks]


def test_cover_status_and_callback(outside):
    submitted = adapter().submit_upload_cover(cover())
    assert adapter().fetch_status(submitted.task_id, "upload_cover").state == State.QUEUED
    tasks.run_pending()
    (done,) = parsed(outside)
    polled = adapter().fetch_status(submitted.task_id, "upload_cover")
    assert done.state == polled.state == State.SUCCEEDED
    assert len(polled.tracks) == 2 and all(t.audio_url for t in polled.tracks)
    assert adapter().import_task(submitted.task_id).tracks == polled.tracks


def test_track_cover_of_an_apiinone_track(outside):
    first = adapter().submit_upload_cover(cover())
    tasks.run_pending()
    track = adapter().fetch_status(first.task_id, "upload_cover").tracks[1]
    second = adapter().submit_track_cover(cover(audio_id=track.id, style="rock"))
    tasks.run_pending()
    result = adapter().fetch_status(second.task_id, "upload_cover")
    assert result.state == State.SUCCEEDED and result.tracks[0].tags == "rock"


def test_source_outside_6_to_60_seconds_is_refused(outside):
    SandboxTask.objects.create(provider="apiinone", kind="cover", task_id="short",
                               status="complete", tracks=[{"id": "short-1", "duration": 3.0}])
    with pytest.raises(ProviderError) as caught:
        adapter().submit_track_cover(cover(audio_id="short-1"))
    assert (caught.value.code, caught.value.permanent) == ("invalid_request", True)
    assert "6-60s" in caught.value.message


def test_unknown_audio_id(outside):
    with pytest.raises(ProviderError) as caught:
        adapter().submit_upload_cover(cover(audio_id="missing-123"))
    assert (caught.value.code, caught.value.status_code) == ("not_found", 404)


def test_cover_art_then_a_repeat(outside):
    music = adapter().submit_upload_cover(cover())
    tasks.run_pending()
    request = ArtRequest(music_task_id=music.task_id, callback_url=CALLBACK)
    art = adapter().submit_cover_art(request)
    assert adapter().fetch_status(art.task_id, "cover_art").state == State.QUEUED
    tasks.run_pending()
    result = adapter().fetch_status(art.task_id, "cover_art")
    assert result.state == State.SUCCEEDED and len(result.images) == 2
    with pytest.raises(ProviderError) as caught:
        adapter().submit_cover_art(request)
    assert caught.value.code == "already_generated" and caught.value.permanent


@pytest.mark.parametrize("code", ["400", "408", "413", "500", "501", "531"])
def test_generation_faults(outside, code):
    submitted = adapter().submit_upload_cover(cover(title=f"Blue [sandbox:{code}]"))
    tasks.run_pending()
    (failed,) = parsed(outside)
    polled = adapter().fetch_status(submitted.task_id, "upload_cover")
    assert failed.state == polled.state == State.FAILED
    assert polled.error_code == code and polled.error_message


@pytest.mark.parametrize("fault,permanent,attempts", [
    ("429", False, 3), ("455", False, 3), ("down", False, 3), ("402", True, 1)])
def test_submit_faults(outside, fault, permanent, attempts):
    with pytest.raises(ProviderError) as caught:
        adapter().submit_upload_cover(cover(style=f"jazz [sandbox:{fault}]"))
    assert caught.value.permanent is permanent
    assert ProviderCall.objects.count() == attempts


def test_lost_and_duplicate(outside):
    lost = adapter().submit_upload_cover(cover(title="[sandbox:lost]"))
    adapter().submit_upload_cover(cover(title="[sandbox:duplicate]"))
    tasks.run_pending()
    assert len(outside.callbacks) == 2  # the duplicate one, twice
    assert adapter().fetch_status(lost.task_id, "upload_cover").state == State.SUCCEEDED


def test_wrong_key_is_an_authentication_error(outside, settings):
    settings.SANDBOX_API_KEY = "another"
    adapter_with_old_key = registry.get_adapter("apiinone")
    settings.SANDBOX_API_KEY = ""  # back to the key derived from SECRET_KEY
    with pytest.raises(ProviderError) as caught:
        adapter_with_old_key.submit_upload_cover(cover())
    assert (caught.value.code, caught.value.permanent) == ("authentication_error", True)
