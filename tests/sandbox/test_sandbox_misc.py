"""The sandbox's file hosts, seeding command, and the art-task faults."""

import io

import pytest
from django.core.management import call_command

from covers.providers import http as provider_http
from covers.providers import registry
from covers.providers.base import ArtRequest, CoverRequest, ProviderError, State
from sandbox import tasks
from sandbox.models import SandboxTask
from tests.sandbox.conftest import HOOKS, SOURCE_URL

pytestmark = pytest.mark.django_db


def upload(client, name, content):
    creds = registry.credentials("apikley")
    return client.post(f"{creds.file_upload_url}/api/file-stream-upload",
                       headers={"Authorization": f"Bearer {creds.api_key}"},
                       data={"uploadPath": "coverlab", "fileName": name},
                       files={"file": (name, content, "audio/mpeg")})


def test_upload_host_overwrites_by_name_and_expires(outside, settings):
    with provider_http.client() as client:
        first = upload(client, "clip.mp3", b"one").json()
        second = upload(client, "clip.mp3", b"two").json()
        assert first["data"]["downloadUrl"] == second["data"]["downloadUrl"]
        assert client.get(second["data"]["downloadUrl"]).content == b"two"
        settings.SANDBOX_UPLOAD_TTL_SECONDS = -1
        assert client.get(second["data"]["downloadUrl"]).status_code == 404


def test_upload_host_needs_the_key_and_the_fields(outside):
    creds = registry.credentials("apikley")
    with provider_http.client() as client:
        no_key = client.post(f"{creds.file_upload_url}/api/file-stream-upload",
                             files={"file": ("a.mp3", b"x")})
        no_path = client.post(f"{creds.file_upload_url}/api/file-stream-upload",
                              headers={"Authorization": f"Bearer {creds.api_key}"},
                              files={"file": ("a.mp3", b"x")})
    assert no_key.status_code == 401
    assert no_path.json()["code"] == 400


def test_unknown_files_are_404(outside, settings):
    with provider_http.client() as client:
        response = client.get(f"{settings.PUBLIC_BASE_URL}/sandbox/files/nope/track-1.mp3")
    assert response.status_code == 404


def test_seed_command_prints_a_completed_apiframe_job(outside):
    out = io.StringIO()
    call_command("sandbox_apiframe_parent", "--title", "Seeded", "--style", "rock", stdout=out)
    task = SandboxTask.objects.get(task_id=out.getvalue().strip())
    assert (task.status, len(task.tracks), task.tracks[0]["title"]) == ("complete", 2, "Seeded")


def apikley_music(style):
    adapter = registry.get_adapter("apikley")
    music = adapter.submit_upload_cover(CoverRequest(
        callback_url=f"{HOOKS}/m/", model="V5", upload_url=SOURCE_URL, custom_mode=True,
        instrumental=True, style=style, title="Art"))
    tasks.run_pending()
    return adapter, music.task_id


@pytest.mark.parametrize("fault,permanent", [("455", False), ("429", False), ("402", True)])
def test_art_submit_faults(outside, fault, permanent):
    adapter, music_id = apikley_music(f"pop [sandbox:art-{fault}]")
    with pytest.raises(ProviderError) as caught:
        adapter.submit_cover_art(ArtRequest(music_task_id=music_id, callback_url=f"{HOOKS}/a/"))
    assert (caught.value.code, caught.value.permanent) == (int(fault), permanent)


def test_apiinone_art_failure_shows_in_its_status(outside):
    adapter = registry.get_adapter("apiinone")
    music = adapter.submit_upload_cover(CoverRequest(
        callback_url=f"{HOOKS}/m/", audio_id="clip", style="folk [sandbox:art-531]"))
    tasks.run_pending()
    art = adapter.submit_cover_art(ArtRequest(music_task_id=music.task_id, callback_url=""))
    tasks.run_pending()
    result = adapter.fetch_status(art.task_id, "cover_art")
    assert result.state == State.FAILED and "refunded" in result.error_message


def test_malformed_bodies_get_the_providers_validation_errors(outside):
    creds = registry.credentials("apikley")
    url = f"{creds.base_url}/api/v1/generate/upload-cover"
    auth = {"Authorization": f"Bearer {creds.api_key}"}
    body = {"uploadUrl": SOURCE_URL, "customMode": True, "instrumental": False, "model": "V5",
            "callBackUrl": f"{HOOKS}/x/", "prompt": 12, "style": ["a"], "title": "t"}
    with provider_http.client() as client:
        odd_types = client.post(url, json=body, headers=auth).json()
        not_a_number = client.post(url, json=body | {"prompt": "p", "style": "s",
                                                     "styleWeight": "lots"}, headers=auth).json()
        missing = client.post(url, json={"uploadUrl": SOURCE_URL}, headers=auth).json()
        not_json = client.post(url, content=b"{", headers=auth).json()
    assert odd_types["code"] == 422 and "prompt: Must be a string" in odd_types["msg"]
    assert not_a_number["code"] == 422 and "styleWeight" in not_a_number["msg"]
    assert missing["code"] == 422 and "customMode" in missing["msg"]
    assert not_json["code"] == 422
