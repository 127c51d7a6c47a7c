"""The job state machine and its money, with a scripted adapter (the provider seam)."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts import credits
from accounts.models import CreditEntry, EntryKind, Notification
from covers import services, tasks
from covers.models import CoverJob, JobKind, JobState, ProviderEvent
from covers.providers import http
from covers.providers.base import ProviderError, State, TaskResult
from tests.covers.job_helpers import FakeAdapter, callback, cdn_transport, make_clip, tracks
from tests.files import assert_serves


@pytest.fixture
def fake(monkeypatch):
    adapter = FakeAdapter()
    monkeypatch.setattr(services, "adapter_for", lambda job: adapter)
    http.set_transport(cdn_transport())
    yield adapter
    http.set_transport(None)


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run a callable with on-commit callbacks (q2 sync tasks) executed."""

    def _run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return _run


def new_job(cast, run, key="k1", price=12):
    clip = make_clip(cast.team, cast.bob)
    job, created = run(
        services.create_job, cast.team, cast.bob, kind=JobKind.UPLOAD_COVER,
        provider="apikley", price=price, idempotency_key=key, source_clip=clip,
        params={"model": "V5", "prompt": "a lofi take", "title": "Demo"},
    )
    job.refresh_from_db()
    return job


def entries(job):
    return list(CreditEntry.objects.filter(job=job).order_by("id").values_list("kind", "amount"))


def test_create_holds_credits_and_submits_with_a_callback_url(cast, fake, run, settings):
    settings.PUBLIC_BASE_URL = "https://coverlab.example"
    job = new_job(cast, run)
    assert job.state == JobState.SUBMITTED
    assert job.provider_task_id == "task-1"
    assert job.credits_held == 12
    cast.team.refresh_from_db()
    assert cast.team.credit_balance == 500 - 12
    assert entries(job) == [(EntryKind.HOLD, -12)]
    request = fake.submitted[0]
    assert request.callback_url == f"https://coverlab.example/hooks/apikley/{job.callback_token}/"
    # The provider downloads our stored clip through a signed, absolute URL.
    assert request.upload_url.startswith(("https://coverlab.example/files/", "http"))
    job.source_clip.refresh_from_db()
    assert_serves(Client(), request.upload_url, job.source_clip.storage_key)
    assert request.source_seconds == 30.0


def test_same_idempotency_key_makes_one_job_and_one_hold(cast, fake, run):
    first = new_job(cast, run)
    second = new_job(cast, run)
    assert first.pk == second.pk
    assert CoverJob.objects.count() == 1
    assert CreditEntry.objects.filter(kind=EntryKind.HOLD).count() == 1


def test_insufficient_credits_writes_nothing(cast, fake, run):
    with pytest.raises(credits.InsufficientCredits):
        new_job(cast, run, price=501)
    assert CoverJob.objects.count() == 0
    cast.team.refresh_from_db()
    assert cast.team.credit_balance == 500


def test_permanent_refusal_at_submit_fails_and_releases(cast, fake, run):
    fake.submit_error = ProviderError("bad model", permanent=True, code=422)
    job = new_job(cast, run)
    assert job.state == JobState.FAILED
    assert entries(job) == [(EntryKind.HOLD, -12), (EntryKind.RELEASE, 12)]
    assert credits.disagreements() == []


def test_provider_down_at_submit_retries_then_fails_with_refund(cast, fake, run):
    fake.submit_error = ProviderError("connection refused", permanent=False)
    job = new_job(cast, run)
    assert job.state == JobState.QUEUED and job.submit_attempts == 1
    assert job.next_poll_at is not None
    for _ in range(services.SUBMIT_MAX_ATTEMPTS - 1):
        CoverJob.objects.filter(pk=job.pk).update(next_poll_at=timezone.now())
        run(tasks.sweep)
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert job.error_code == "unavailable"
    assert "could not be reached" in job.error_message
    assert entries(job) == [(EntryKind.HOLD, -12), (EntryKind.RELEASE, 12)]


def test_provider_back_on_second_attempt(cast, fake, run):
    fake.submit_error = ProviderError("timeout", permanent=False)
    job = new_job(cast, run)
    fake.submit_error = None
    CoverJob.objects.filter(pk=job.pk).update(next_poll_at=timezone.now())
    run(tasks.sweep)
    job.refresh_from_db()
    assert job.state == JobState.SUBMITTED and job.submit_attempts == 2


def test_submit_twice_is_a_no_op(cast, fake, run):
    job = new_job(cast, run)
    assert services.submit_job(job.pk) is False
    assert len(fake.submitted) == 1


def test_callbacks_move_forward_then_store_and_capture(cast, fake, run, client):
    job = new_job(cast, run)
    for state in ("text_ready", "first_ready"):
        with_cb = run(callback, client, job, state=state, stage=state)
        assert with_cb.status_code == 200
    job.refresh_from_db()
    assert job.state == JobState.FIRST_READY
    assert job.tracks.get(position=1).stream_url
    fake.status = TaskResult(task_id="task-1", state=State.SUCCEEDED, tracks=tracks())
    run(callback, client, job, state="succeeded", stage="complete")
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED
    assert job.results_stored_at is not None
    assert job.credits_charged == 12
    for track in job.tracks.all():
        assert track.audio.name.endswith(".mp3") and track.audio.size == 2003
        assert track.image.name.endswith(".png")
    assert entries(job) == [(EntryKind.HOLD, -12), (EntryKind.CAPTURE, 0)]
    assert credits.disagreements() == []


def test_unsigned_terminal_callback_is_confirmed_by_polling(cast, fake, run, client):
    job = new_job(cast, run)
    fake.status = TaskResult(task_id="task-1", state=State.RUNNING)
    run(callback, client, job, state="succeeded", stage="complete")
    job.refresh_from_db()
    assert fake.polls == 1
    assert job.state == JobState.SUBMITTED  # not trusted: the status says it is running
    event = ProviderEvent.objects.get(job=job, source="callback")
    assert event.status == ProviderEvent.Status.IGNORED


def test_duplicate_and_late_callbacks_change_nothing(cast, fake, run, client):
    job = new_job(cast, run)
    fake.status = TaskResult(task_id="task-1", state=State.SUCCEEDED, tracks=tracks())
    run(callback, client, job, state="succeeded", stage="complete")
    response = run(callback, client, job, state="succeeded", stage="complete")
    assert response.json()["duplicate"] is True
    run(callback, client, job, state="first_ready", stage="first")
    fake.status = TaskResult(task_id="task-1", state=State.FAILED, error_code="501")
    run(callback, client, job, state="failed", error_code="501")
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED
    assert ProviderEvent.objects.filter(job=job, source="callback").count() == 3
    assert entries(job) == [(EntryKind.HOLD, -12), (EntryKind.CAPTURE, 0)]


@pytest.mark.parametrize("code,words", [
    ("413", "matches an existing copyrighted work"),
    ("400", "lyrics"),
    ("451", "could not fetch the clip"),
    ("455", "maintenance"),
    ("531", "refunded"),
    ("408", "timed out"),
    ("429", "rate-limiting"),
    ("500", "server error"),
    ("501", "could not generate"),
])
def test_error_callbacks_fail_with_a_message_and_release_once(cast, fake, run, client, code,
                                                               words):
    job = new_job(cast, run)
    fake.status = TaskResult(task_id="task-1", state=State.FAILED, error_code=code)
    run(callback, client, job, state="failed", error_code=code)
    run(callback, client, job, state="failed", error_code=code, msg="again")
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert job.error_code == code
    assert words in job.error_message
    assert entries(job) == [(EntryKind.HOLD, -12), (EntryKind.RELEASE, 12)]
    assert job.provider_refunded is (code == "531")
    assert credits.disagreements() == []


def test_forged_callback_is_refused_and_logs_nothing(cast, fake, run, client):
    job = new_job(cast, run)
    response = run(callback, client, job, state="failed", forged=True)
    assert response.status_code == 403
    assert ProviderEvent.objects.count() == 0
    job.refresh_from_db()
    assert job.state == JobState.SUBMITTED


def test_unknown_token_is_404(cast, fake, run, client):
    job = new_job(cast, run)
    response = client.post("/hooks/apikley/not-a-token/", data="{}", content_type="application/json")
    assert response.status_code == 404
    assert client.get(f"/hooks/apikley/{job.callback_token}/").status_code == 405
    response = client.post(f"/hooks/apiframe/{job.callback_token}/", data="{}",
                           content_type="application/json")
    assert response.status_code == 404


def test_missing_callbacks_are_polled_with_backoff(cast, fake, run):
    job = new_job(cast, run)
    CoverJob.objects.filter(pk=job.pk).update(next_poll_at=timezone.now())
    run(tasks.sweep)
    job.refresh_from_db()
    assert fake.polls == 1 and job.poll_count == 1
    first_wait = job.next_poll_at - timezone.now()
    run(tasks.sweep)  # not due yet: no poll
    assert fake.polls == 1
    fake.status = TaskResult(task_id="task-1", state=State.SUCCEEDED, tracks=tracks())
    CoverJob.objects.filter(pk=job.pk).update(next_poll_at=timezone.now())
    run(tasks.sweep)
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED and job.credits_charged == 12
    assert first_wait > timedelta(seconds=20)


def test_stuck_job_times_out_with_refund(cast, fake, run):
    job = new_job(cast, run)
    CoverJob.objects.filter(pk=job.pk).update(deadline_at=timezone.now() - timedelta(seconds=1))
    run(tasks.sweep)
    job.refresh_from_db()
    assert job.state == JobState.FAILED and job.error_code == "timeout"
    assert entries(job) == [(EntryKind.HOLD, -12), (EntryKind.RELEASE, 12)]


def test_success_without_audio_is_a_failure_with_refund(cast, fake, run, client):
    job = new_job(cast, run)
    fake.status = TaskResult(task_id="task-1", state=State.SUCCEEDED, tracks=tracks(audio=False))
    run(callback, client, job, state="succeeded", audio=False)
    job.refresh_from_db()
    assert job.state == JobState.FAILED and job.error_code == "no_audio"
    assert entries(job) == [(EntryKind.HOLD, -12), (EntryKind.RELEASE, 12)]


def test_failed_copy_is_retried_and_capture_waits_for_it(cast, fake, run, client):
    http.set_transport(cdn_transport(fail={"/t2.mp3"}))
    job = new_job(cast, run)
    fake.status = TaskResult(task_id="task-1", state=State.SUCCEEDED, tracks=tracks())
    run(callback, client, job, state="succeeded")
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED and job.results_stored_at is None
    assert job.copy_attempts == 1 and job.credits_charged == 0
    assert entries(job) == [(EntryKind.HOLD, -12)]
    assert job.tracks.get(position=1).audio and not job.tracks.get(position=2).audio
    http.set_transport(cdn_transport())
    CoverJob.objects.filter(pk=job.pk).update(next_poll_at=timezone.now())
    run(tasks.sweep)
    job.refresh_from_db()
    assert job.results_stored_at is not None and job.credits_charged == 12
    assert entries(job) == [(EntryKind.HOLD, -12), (EntryKind.CAPTURE, 0)]


def test_copy_refuses_wrong_content_type(cast, fake, run, client):
    job = new_job(cast, run)
    bad = tracks()
    bad[0].audio_url = "https://cdn.example/page.html"
    fake.status = TaskResult(task_id="task-1", state=State.SUCCEEDED, tracks=bad)
    run(callback, client, job, state="succeeded")
    job.refresh_from_db()
    assert job.results_stored_at is None
    assert "unexpected content type text/html" in job.events.last().message


def test_cover_art_once_per_music_task(cast, fake, run, client):
    job = new_job(cast, run)
    fake.status = TaskResult(task_id="task-1", state=State.SUCCEEDED, tracks=tracks())
    run(callback, client, job, state="succeeded")
    job.refresh_from_db()
    art, created = run(services.create_art_job, job, cast.bob, price=2, idempotency_key="a1")
    again, created_again = run(services.create_art_job, job, cast.bob, price=2,
                               idempotency_key="a2")
    assert created and not created_again and art.pk == again.pk
    art.refresh_from_db()
    assert art.state == JobState.SUBMITTED and art.provider_task_id == "art-1"
    assert fake.submitted[-1].music_task_id == "task-1"
    fake.status = TaskResult(task_id="art-1", state=State.SUCCEEDED,
                             images=["https://cdn.example/a1.png", "https://cdn.example/a2.png"])
    run(callback, client, art, task_id="art-1", state="succeeded")
    art.refresh_from_db()
    assert art.state == JobState.SUCCEEDED and art.credits_charged == 2
    assert [i.image.name.endswith(".png") for i in art.images.all()] == [True, True]


def test_import_brings_tracks_in_without_charging(cast, fake, run):
    job, created = run(services.import_job, cast.team, cast.bob, "apikley", " ext-9 ")
    again, created_again = run(services.import_job, cast.team, cast.bob, "apikley", "ext-9")
    job.refresh_from_db()
    assert created and not created_again and job.pk == again.pk
    assert job.imported and job.state == JobState.SUCCEEDED
    assert job.tracks.count() == 2 and all(t.audio for t in job.tracks.all())
    assert job.credits_charged == 0 and entries(job) == []


def test_copies_that_never_succeed_release_the_hold(cast, fake, run, client):
    http.set_transport(cdn_transport(fail={"/t1.mp3"}))
    job = new_job(cast, run)
    fake.status = TaskResult(task_id="task-1", state=State.SUCCEEDED, tracks=tracks())
    run(callback, client, job, state="succeeded")
    for _ in range(services.COPY_MAX_ATTEMPTS - 1):
        CoverJob.objects.filter(pk=job.pk).update(next_poll_at=timezone.now())
        run(tasks.sweep)
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED and job.copy_attempts == services.COPY_MAX_ATTEMPTS
    assert entries(job) == [(EntryKind.HOLD, -12), (EntryKind.RELEASE, 12)]
    assert "you were not charged" in job.events.last().message
    [told] = Notification.objects.filter(job=job)
    assert told.recipient == job.created_by
    assert "could not save its files, so you were not charged" in told.message
    CoverJob.objects.filter(pk=job.pk).update(next_poll_at=timezone.now())
    run(tasks.sweep)  # gave up: no more tries, no second release, no second notification
    assert entries(job) == [(EntryKind.HOLD, -12), (EntryKind.RELEASE, 12)]
    assert Notification.objects.filter(job=job).count() == 1
    assert credits.disagreements() == []
    html = client.get(f"/jobs/{job.code}/status/")
    assert html.status_code == 302  # anonymous: login first


def test_creators_who_asked_get_an_email_when_done_or_failed(cast, fake, run, client, mailoutbox):
    cast.bob.notify_by_email = True
    cast.bob.save()
    job = new_job(cast, run, key="mail-1")
    fake.status = TaskResult(task_id="task-1", state=State.SUCCEEDED, tracks=tracks())
    run(callback, client, job, state="succeeded")
    failed = new_job(cast, run, key="mail-2")
    run(services.fail_job, failed.pk, "413", services.error_message("413"))
    run(services.fail_job, failed.pk, "413", services.error_message("413"))  # once only
    assert [m.to for m in mailoutbox] == [["bob@example.org"], ["bob@example.org"]]
    done, refused = mailoutbox
    assert done.subject == "Ready: Demo"
    assert f"/jobs/{job.code}/" in done.body and "12 credits" in done.body
    assert refused.subject == "Failed: Demo"
    assert "copyrighted work" in refused.body and "You were not charged" in refused.body


def test_no_email_unless_asked(cast, fake, run, client, mailoutbox):
    job = new_job(cast, run)
    run(services.fail_job, job.pk, "500", services.error_message("500"))
    assert mailoutbox == []


def test_provider_unreachable_while_polling_keeps_the_job_and_says_so(cast, fake, run):
    job = new_job(cast, run)
    fake.status = ProviderError("connection refused", permanent=False)
    CoverJob.objects.filter(pk=job.pk).update(next_poll_at=timezone.now())
    run(tasks.sweep)
    job.refresh_from_db()
    assert job.state == JobState.SUBMITTED and job.poll_count == 1
    assert "Could not reach Apikley" in job.events.last().message
    assert entries(job) == [(EntryKind.HOLD, -12)]
