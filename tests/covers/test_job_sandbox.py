"""End to end against the sandbox provider: the real adapters speak HTTP to the sandbox app
in-process (provider_transport), the sandbox renders real audio and calls our hooks back,
q2 runs in sync mode and on-commit callbacks execute."""

import uuid
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from accounts import credits
from accounts.models import CreditEntry, EntryKind
from covers import services, tasks
from covers.models import CoverJob, JobKind, JobState, ProviderEvent, SourceClip
from tests.audio import make_tone
from tests.base import use_workspace
from tests.files import fetch_signed

pytestmark = pytest.mark.django_db


@pytest.fixture
def team_client(client, cast, provider_transport):
    client.force_login(cast.bob)
    use_workspace(client, cast.team)
    return client


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    def _run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return _run


@pytest.fixture
def clip(team_client, tmp_path, run):
    path = make_tone(tmp_path / "hum.mp3", seconds=8)
    with path.open("rb") as f:
        response = run(team_client.post, "/clips/upload/", {"file": f})
    assert response.status_code in (200, 302), response.content[:300]
    return SourceClip.objects.latest("created_at")


def cover(client, run, clip, **fields):
    data = {"idempotency_key": uuid.uuid4().hex, "provider": "apikley", "model": "V5",
            "prompt": "a dreamy lofi version with soft keys"}
    data.update(fields)
    response = run(client.post, f"/clips/{clip.code}/cover/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return CoverJob.objects.get(code=response["Location"].split("/")[2])


def ledger(job):
    return list(CreditEntry.objects.filter(job=job).order_by("id").values_list("kind", "amount"))


def assert_reconciles():
    assert credits.disagreements() == []
    call_command("audit_credits")  # exits 1 on any disagreement


def assert_refunded(job, code, words):
    job.refresh_from_db()
    assert job.state == JobState.FAILED, (job.state, job.error_code, job.error_message)
    assert job.error_code == code
    assert words in job.error_message
    assert ledger(job) == [(EntryKind.HOLD, -job.credits_held), (EntryKind.RELEASE, job.credits_held)]
    assert job.credits_charged == 0
    assert_reconciles()


def fetch(client, url):
    return fetch_signed(client, url)


def test_happy_path_cover_art_and_a_track_cover(team_client, cast, clip, run):
    job = cover(team_client, run, clip)
    job.refresh_from_db()
    assert job.sandbox and job.state == JobState.SUCCEEDED, (job.state, job.error_message)
    assert job.results_stored_at is not None and job.credits_charged == 12
    tracks = list(job.tracks.all())
    assert len(tracks) == 2
    for track in tracks:
        assert track.audio.name.startswith(f"workspaces/{cast.team.code}/tracks/")
        assert default_storage.exists(track.audio.name) and track.audio.size > 1000
        assert track.image.name.startswith(f"workspaces/{cast.team.code}/images/")
    stages = [e.message for e in job.events.all()]
    assert any("Lyrics ready" in s for s in stages) and any("First track" in s for s in stages)

    page = team_client.get(f"/jobs/{job.code}/")
    html = page.content.decode()
    assert "Sandbox" in html and "Download audio" in html
    played = page.context["tracks"][0]
    from covers.templatetags.jobs import track_source

    source = track_source(played)
    assert source["origin"] == "ours"
    assert fetch(team_client, source["url"])[:3] in (b"ID3", b"\xff\xfb", b"\xff\xf3")

    response = run(team_client.post, f"/jobs/{job.code}/art/", {"idempotency_key": "art1"})
    art = CoverJob.objects.get(kind=JobKind.COVER_ART)
    assert response["Location"] == f"/jobs/{art.code}/"
    assert art.state == JobState.SUCCEEDED, art.error_message
    images = list(art.images.all())
    assert len(images) == 2 and all(i.image.name.endswith(".png") for i in images)
    again = run(team_client.post, f"/jobs/{job.code}/art/", {"idempotency_key": "art2"})
    assert again["Location"] == f"/jobs/{art.code}/"

    second = tracks[1]
    response = run(team_client.post, f"/tracks/{second.code}/cover/", {
        "idempotency_key": uuid.uuid4().hex, "provider": "apikley", "model": "V5",
        "prompt": "now as a bossa nova"})
    child = CoverJob.objects.get(source_track=second)
    assert child.state == JobState.SUCCEEDED, child.error_message
    assert child.kind == JobKind.TRACK_COVER and child.tracks.count() == 2

    cast.team.refresh_from_db()
    assert cast.team.credit_balance == 500 - 12 - 2 - 12
    for j in (job, art, child):
        assert ledger(j) == [(EntryKind.HOLD, -j.credits_held), (EntryKind.CAPTURE, 0)]
    assert_reconciles()


@pytest.mark.parametrize("code,words", [
    ("400", "lyrics"),
    ("408", "timed out"),
    ("413", "matches an existing copyrighted work"),
    ("500", "server error"),
    ("501", "could not generate"),
    ("531", "refunded"),
])
def test_generation_errors(team_client, clip, run, code, words):
    job = cover(team_client, run, clip, prompt=f"lofi [sandbox:{code}]")
    assert_refunded(job, code, words)
    assert job.provider_refunded is (code == "531")
    html = team_client.get(f"/jobs/{job.code}/").content.decode()
    assert "You were not charged" in html


def test_provider_could_not_fetch_the_clip(team_client, clip, run):
    default_storage.delete(clip.storage_key)  # our signed link now answers 404
    job = cover(team_client, run, clip)
    assert_refunded(job, "451", "could not fetch the clip")


def test_fetch_refused_at_submit_falls_back_to_the_upload_host(team_client, clip, run):
    job = cover(team_client, run, clip, prompt="lofi [sandbox:451]")
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.error_message
    assert ledger(job) == [(EntryKind.HOLD, -12), (EntryKind.CAPTURE, 0)]


@pytest.mark.parametrize("fault,code,words", [
    ("429", "429", "rate-limiting"),
    ("455", "455", "maintenance"),
    ("down", "unavailable", "could not be reached"),
])
def test_provider_unavailable_at_submit_retries_then_refunds(team_client, clip, run, fault,
                                                             code, words):
    job = cover(team_client, run, clip, prompt=f"lofi [sandbox:{fault}]")
    job.refresh_from_db()
    assert job.state == JobState.QUEUED and job.submit_attempts == 1
    for _ in range(services.SUBMIT_MAX_ATTEMPTS - 1):
        CoverJob.objects.filter(pk=job.pk).update(next_poll_at=timezone.now())
        run(tasks.sweep)
    assert_refunded(job, code, words)


def test_provider_out_of_credits_is_refused_at_once(team_client, clip, run):
    job = cover(team_client, run, clip, prompt="lofi [sandbox:402]")
    assert_refunded(job, "402", "run out of credits")


def test_duplicate_callbacks(team_client, clip, run):
    job = cover(team_client, run, clip, prompt="lofi [sandbox:duplicate]")
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED
    assert ledger(job) == [(EntryKind.HOLD, -12), (EntryKind.CAPTURE, 0)]
    # each stage came twice; each is logged once (same body) and applied once
    callbacks = ProviderEvent.objects.filter(job=job, source="callback")
    assert callbacks.count() == 3
    assert job.events.filter(state=JobState.SUCCEEDED).count() == 1
    assert_reconciles()


def test_out_of_order_callbacks(team_client, clip, run):
    job = cover(team_client, run, clip, prompt="lofi [sandbox:out-of-order]")
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED
    assert job.tracks.count() == 2 and all(t.audio for t in job.tracks.all())
    statuses = dict(ProviderEvent.objects.filter(job=job, source="callback")
                    .values_list("dedupe_key", "status"))
    assert sorted(statuses.values()) == ["applied", "ignored", "ignored"]
    assert ledger(job) == [(EntryKind.HOLD, -12), (EntryKind.CAPTURE, 0)]


def test_lost_callbacks_are_caught_by_polling(team_client, clip, run):
    job = cover(team_client, run, clip, prompt="lofi [sandbox:lost]")
    job.refresh_from_db()
    assert job.state == JobState.SUBMITTED
    assert not ProviderEvent.objects.filter(job=job, source="callback").exists()
    run(tasks.sweep)  # not late yet
    assert CoverJob.objects.get(pk=job.pk).state == JobState.SUBMITTED
    CoverJob.objects.filter(pk=job.pk).update(next_poll_at=timezone.now())
    run(tasks.sweep)
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED and job.credits_charged == 12
    assert ProviderEvent.objects.filter(job=job, source="poll").exists()
    assert_reconciles()


def test_slow_provider_past_the_deadline_times_out_and_late_results_are_ignored(
        team_client, clip, run, monkeypatch):
    from sandbox import tasks as sandbox_tasks
    from sandbox import views as sandbox_views

    monkeypatch.setattr(sandbox_views, "enqueue", lambda task: None)  # the worker lags behind
    job = cover(team_client, run, clip, prompt="lofi [sandbox:slow]")
    CoverJob.objects.filter(pk=job.pk).update(next_poll_at=timezone.now())
    run(tasks.sweep)
    job.refresh_from_db()
    assert job.state == JobState.SUBMITTED and job.poll_count == 1  # polled: still pending
    CoverJob.objects.filter(pk=job.pk).update(deadline_at=timezone.now() - timedelta(seconds=1))
    run(tasks.sweep)
    assert_refunded(job, "timeout", "did not finish within")
    run(sandbox_tasks.run_pending)  # the provider finishes after all and calls back
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert ProviderEvent.objects.filter(job=job, source="callback").exists()
    assert not ProviderEvent.objects.filter(job=job, status="applied").exists()
    assert_refunded(job, "timeout", "did not finish within")


def test_cover_art_failure_releases_its_hold(team_client, clip, run):
    job = cover(team_client, run, clip, prompt="lofi [sandbox:art-501]")
    assert CoverJob.objects.get(pk=job.pk).state == JobState.SUCCEEDED
    run(team_client.post, f"/jobs/{job.code}/art/", {"idempotency_key": "x"})
    art = CoverJob.objects.get(kind=JobKind.COVER_ART)
    assert_refunded(art, "501", "could not generate")


def apiframe_parent(run):
    """A finished Apiframe generation in the sandbox (made outside Coverlab), by its job id."""
    from covers.providers import http as provider_http
    from covers.providers.registry import credentials

    creds = credentials("apiframe")

    def make():
        with provider_http.client() as client:
            response = client.post(f"{creds.base_url}/v2/music/generate",
                                   headers={"X-API-Key": creds.api_key},
                                   json={"prompt": "a calm piano tune", "model": "suno",
                                         "sunoParams": {"custom_mode": False,
                                                        "instrumental": True,
                                                        "model_version": "V5"}})
        assert response.status_code == 202, response.text
        return response.json()["jobId"]

    return run(make)


def test_apiframe_parent_imported_then_covered_with_the_cover_action(team_client, cast, run):
    job_id = apiframe_parent(run)
    response = run(team_client.post, "/covers/import/", {"provider": "apiframe",
                                                         "task_id": job_id})
    imported = CoverJob.objects.get(imported=True)
    assert response["Location"] == f"/jobs/{imported.code}/"
    assert imported.state == JobState.SUCCEEDED and imported.credits_charged == 0
    assert imported.tracks.count() == 2 and all(t.audio for t in imported.tracks.all())
    track = imported.tracks.get(position=2)
    form = team_client.get(f"/tracks/{track.code}/cover/").context["form"]
    assert [c[0] for c in form.fields["provider"].choices] == ["apikley", "apiframe"]
    response = run(team_client.post, f"/tracks/{track.code}/cover/", {
        "idempotency_key": uuid.uuid4().hex, "provider": "apiframe",
        "style": "jazz trio, brushed drums", "audio_weight": "0.7"})
    child = CoverJob.objects.get(source_track=track)
    assert child.provider == "apiframe" and child.credits_held == 11
    assert child.state == JobState.SUCCEEDED, child.error_message
    assert child.progress == 100 and child.tracks.count() == 2
    assert ledger(child) == [(EntryKind.HOLD, -11), (EntryKind.CAPTURE, 0)]
    from sandbox.models import SandboxTask

    sent = SandboxTask.objects.get(task_id=child.provider_task_id).request
    assert sent["action"] == "cover" and sent["parentJobId"] == job_id
    assert sent["trackId"] == track.provider_track_id
    assert_reconciles()


def test_apiframe_forged_webhook_is_refused(team_client, cast, run, client):
    job_id = apiframe_parent(run)
    run(team_client.post, "/covers/import/", {"provider": "apiframe", "task_id": job_id})
    track = CoverJob.objects.get(imported=True).tracks.get(position=1)
    run(team_client.post, f"/tracks/{track.code}/cover/", {
        "idempotency_key": uuid.uuid4().hex, "provider": "apiframe", "style": "jazz"})
    child = CoverJob.objects.get(source_track=track)
    events_before = ProviderEvent.objects.count()
    response = client.post(f"/hooks/apiframe/{child.callback_token}/",
                           data=b'{"event":"failed","jobId":"x","status":"FAILED"}',
                           content_type="application/json",
                           HTTP_X_WEBHOOK_SIGNATURE="0" * 64)
    assert response.status_code == 403
    assert ProviderEvent.objects.count() == events_before
    assert CoverJob.objects.get(pk=child.pk).state == JobState.SUCCEEDED


def test_apiinone_cover_by_audio_id(team_client, clip, run):
    job = cover(team_client, run, clip, provider="apiinone", model="",
                audio_id="suno-audio-123", prompt="")
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.error_message
    assert job.credits_charged == 12 and job.tracks.count() == 2
    from sandbox.models import SandboxTask

    assert SandboxTask.objects.get(task_id=job.provider_task_id).request["audio_id"] == \
        "suno-audio-123"
    run(team_client.post, f"/jobs/{job.code}/art/", {"idempotency_key": "a"})
    art = CoverJob.objects.get(kind=JobKind.COVER_ART)
    assert art.state == JobState.SUBMITTED  # apiin.one's art API takes no callback: we poll
    CoverJob.objects.filter(pk=art.pk).update(next_poll_at=timezone.now())
    run(tasks.sweep)
    art.refresh_from_db()
    assert art.state == JobState.SUCCEEDED and art.credits_charged == 1
    assert all(i.image for i in art.images.all())
    assert_reconciles()


@pytest.mark.parametrize("provider,fields", [
    ("apikley", {}),
    ("apiinone", {"model": "", "audio_id": "suno-xyz", "prompt": ""}),
])
def test_import_a_task_by_id_into_another_workspace(team_client, cast, clip, run, client,
                                                    provider, fields):
    job = cover(team_client, run, clip, provider=provider, **fields)
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED
    client.force_login(cast.charlie)
    use_workspace(client, cast.charlie_personal)
    response = run(client.post, "/covers/import/", {"provider": provider,
                                                    "task_id": job.provider_task_id})
    imported = CoverJob.objects.get(imported=True)
    assert response["Location"] == f"/jobs/{imported.code}/"
    assert imported.workspace == cast.charlie_personal and imported.credits_held == 0
    assert imported.state == JobState.SUCCEEDED and imported.tracks.count() == 2
    assert all(t.audio.name.startswith(f"workspaces/{cast.charlie_personal.code}/")
               for t in imported.tracks.all())
    assert ledger(imported) == []
    response = run(client.post, "/covers/import/", {"provider": provider,
                                                    "task_id": "no-such-task"})
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert_reconciles()
