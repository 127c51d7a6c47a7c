"""The registry's key for a job: the workspace's own key > the site's key > the sandbox; a
saved job keeps the key (or the sandbox) it was created with."""

import json

import pytest

from accounts import services
from accounts.models import ProviderKey
from covers.models import CoverJob
from covers.providers import registry
from covers.providers.apiframe import sign
from covers.providers.base import CoverRequest
from tests.providers.conftest import APIKLEY_KEY

pytestmark = pytest.mark.django_db

OWN_KEY = "team-own-apikley-key-0001"
OK = {"code": 200, "msg": "success", "data": {"taskId": "t-1"}}


def owner(cast):
    return cast.membership(cast.alice)


def new_job(cast, provider="apikley", **fields):
    return CoverJob.objects.create(workspace=cast.team, kind="track_cover", provider=provider,
                                   idempotency_key=f"k-{CoverJob.objects.count()}", **fields)


def submit(job):
    return registry.get_adapter(job.provider, job=job).submit_upload_cover(CoverRequest(
        callback_url="https://coverlab.test/hooks/x/", model="V5", prompt="calm piano",
        upload_url="https://coverlab.test/f/1.mp3"))


def test_workspace_key_then_site_key_then_sandbox(real_providers, cast):
    assert registry.credentials("apikley", cast.team).api_key == APIKLEY_KEY
    services.set_provider_key(owner(cast), "apikley", OWN_KEY)
    creds = registry.credentials("apikley", cast.team)
    assert (creds.api_key, creds.sandbox, creds.base_url) == (
        OWN_KEY, False, "https://api.apikley.test")
    # Other workspaces keep the site's key.
    assert registry.credentials("apikley", cast.charlie_personal).api_key == APIKLEY_KEY
    assert registry.credentials("apikley").api_key == APIKLEY_KEY

    real_providers.APIKLEY_API_KEY = ""
    assert not registry.uses_sandbox("apikley", cast.team)
    assert registry.uses_sandbox("apikley", cast.charlie_personal)
    assert registry.credentials("apikley", cast.charlie_personal).sandbox
    assert registry.sandboxed_providers(cast.team) == []
    assert registry.sandboxed_providers(cast.charlie_personal) == ["apikley"]

    services.remove_provider_key(owner(cast), "apikley")
    assert registry.uses_sandbox("apikley", cast.team)
    assert registry.credentials("apikley", cast.team).api_key == registry.sandbox_key()


def test_the_sandbox_setting_still_wins(real_providers, cast):
    services.set_provider_key(owner(cast), "apikley", OWN_KEY)
    real_providers.SANDBOX_PROVIDER = True
    assert registry.uses_sandbox("apikley", cast.team)
    assert registry.credentials("apikley", cast.team).api_key == registry.sandbox_key()


def test_a_job_is_sent_with_its_workspace_key(wire, cast):
    fake = wire(OK)
    services.set_provider_key(owner(cast), "apikley", OWN_KEY)
    submit(new_job(cast))
    assert fake.last.headers["Authorization"] == f"Bearer {OWN_KEY}"
    assert str(fake.last.url) == "https://api.apikley.test/api/v1/generate/upload-cover"
    # Another workspace's unsaved probe (as an import makes): the site's key.
    submit(CoverJob(workspace=cast.charlie_personal, provider="apikley", kind="upload_cover"))
    assert fake.last.headers["Authorization"] == f"Bearer {APIKLEY_KEY}"


def test_a_job_keeps_the_key_it_was_created_with(wire, cast):
    fake = wire(OK)
    services.set_provider_key(owner(cast), "apikley", OWN_KEY)
    before = new_job(cast)
    services.set_provider_key(owner(cast), "apikley", "replacement-key-0002")
    after = new_job(cast)
    submit(before)
    assert fake.last.headers["Authorization"] == f"Bearer {OWN_KEY}"
    submit(after)
    assert fake.last.headers["Authorization"] == "Bearer replacement-key-0002"
    services.remove_provider_key(owner(cast), "apikley")
    submit(before)
    assert fake.last.headers["Authorization"] == f"Bearer {OWN_KEY}"
    submit(new_job(cast))  # made after the removal: the site's key
    assert fake.last.headers["Authorization"] == f"Bearer {APIKLEY_KEY}"


def test_a_sandbox_job_stays_on_the_sandbox_after_a_key_is_added(wire, cast):
    job = new_job(cast, sandbox=True)
    services.set_provider_key(owner(cast), "apikley", OWN_KEY)
    creds = registry.credentials("apikley", job=job)
    assert creds.sandbox and creds.api_key == registry.sandbox_key()


def test_an_unreadable_key_falls_back_to_the_site_key(real_providers, cast):
    services.set_provider_key(owner(cast), "apikley", OWN_KEY)
    original = real_providers.SECRET_KEY
    real_providers.SECRET_KEY = "another-secret-key-altogether"
    assert registry.credentials("apikley", cast.team).api_key == APIKLEY_KEY
    # A rotation that keeps the old secret as a fallback still reads the key.
    real_providers.SECRET_KEY_FALLBACKS = [original]
    assert registry.credentials("apikley", cast.team).api_key == OWN_KEY
    assert ProviderKey.objects.get().plaintext() == OWN_KEY


def test_apiframe_webhooks_are_checked_with_the_submitting_key(real_providers, cast, client):
    services.set_provider_key(owner(cast), "apiframe", "frame-key-one-1111")
    job = new_job(cast, provider="apiframe", provider_task_id="af-1")
    services.set_provider_key(owner(cast), "apiframe", "frame-key-two-2222")
    body = json.dumps({"jobId": "af-1", "event": "progress", "status": "PROCESSING",
                       "progress": 40}).encode()
    url = f"/hooks/apiframe/{job.callback_token}/"

    def post(key):
        return client.post(url, body, content_type="application/json",
                           HTTP_X_WEBHOOK_SIGNATURE=sign(key, body),
                           HTTP_X_WEBHOOK_EVENT="progress")

    assert post("frame-key-two-2222").status_code == 403
    assert post(real_providers.APIFRAME_API_KEY).status_code == 403
    assert post("frame-key-one-1111").status_code == 200
    assert job.provider_events.count() == 1
