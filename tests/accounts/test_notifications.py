"""Notifications: one per job outcome for the job's creator, a badge in the top bar, a list
that marks them read, and an email (sent by a q2 task) for those who asked for it."""

import uuid

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts import notifications
from accounts.models import Membership, Notification
from covers import services
from covers.models import CoverJob, JobState, SourceClip
from covers.providers.base import State, TaskResult, TrackResult
from tests.audio import make_tone
from tests.base import use_workspace

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    def _run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return _run


def running_job(cast, user=None, title="Night Drive"):
    return CoverJob.objects.create(
        workspace=cast.team, created_by=user or cast.bob, kind="upload_cover",
        provider="apikley", title=title, state=JobState.SUBMITTED, provider_task_id="t-1",
        idempotency_key=uuid.uuid4().hex,
    )


def fail(run, job, code="413"):
    return run(services.fail_job, job.pk, code, services.error_message(code))


# A real job, end to end ---------------------------------------------------------------------

def test_a_sandbox_job_that_finishes_notifies_its_creator_once(client, cast, provider_transport,
                                                               run, tmp_path):
    cast.bob.notify_by_email = True
    cast.bob.save()
    client.force_login(cast.bob)
    use_workspace(client, cast.team)
    with make_tone(tmp_path / "hum.mp3", seconds=8).open("rb") as f:
        run(client.post, "/clips/upload/", {"file": f})
    clip = SourceClip.objects.get()
    response = run(client.post, f"/clips/{clip.code}/cover/", {
        "idempotency_key": "n1", "provider": "apikley", "model": "V5",
        "prompt": "a dreamy lofi version with soft keys"})
    job = CoverJob.objects.get(code=response["Location"].split("/")[2])
    assert job.state == JobState.SUCCEEDED and job.results_stored_at is not None

    notification = Notification.objects.get()
    assert (notification.recipient, notification.workspace, notification.job,
            notification.kind) == (cast.bob, cast.team, job, "job_succeeded")
    assert notification.message.startswith("Your cover ") and "is ready" in notification.message
    assert [m.to for m in mail.outbox] == [["bob@example.org"]]
    assert Notification.objects.get().emailed_at is not None

    # The terminal event applied again, and the copy step run again: nothing new.
    done = TaskResult(task_id=job.provider_task_id, state=State.SUCCEEDED,
                      tracks=[TrackResult(id="x", audio_url="https://x.test/a.mp3")])
    assert run(services.apply_result, job.pk, done, source="poll") is False
    assert run(services.store_results, job.pk) is False
    assert run(services.fail_job, job.pk, "500", "late") is False
    assert Notification.objects.count() == 1 and len(mail.outbox) == 1


def test_a_failed_job_notifies_once(cast, run):
    job = running_job(cast)
    assert fail(run, job) is True
    assert fail(run, job) is False
    notification = Notification.objects.get()
    assert notification.kind == "job_failed" and notification.recipient == cast.bob
    assert notification.message == 'Your cover "Night Drive" failed. You were not charged.'


def test_the_same_outcome_recorded_twice_is_one_notification(cast, run):
    job = running_job(cast)
    fail(run, job)
    job.refresh_from_db()
    assert notifications.notify_job_outcome(job) is None
    assert Notification.objects.count() == 1


def test_no_notification_while_running_or_without_a_creator(cast):
    job = running_job(cast)
    assert notifications.notify_job_outcome(job) is None
    job.state, job.created_by = JobState.FAILED, None
    assert notifications.notify_job_outcome(job) is None
    assert not Notification.objects.exists()


# Email ----------------------------------------------------------------------------------------

def test_no_email_unless_asked(cast, run):
    fail(run, running_job(cast))
    assert Notification.objects.count() == 1 and mail.outbox == []


def test_the_email_is_sent_by_the_task_after_commit_and_only_once(
        cast, django_capture_on_commit_callbacks):
    cast.bob.notify_by_email = True
    cast.bob.save()
    job = running_job(cast)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.fail_job(job.pk, "413", services.error_message("413"))
    assert mail.outbox == []  # not inside the transaction that failed the job
    for callback in callbacks:
        callback()  # submit_job-style enqueue; q2 runs it at once in sync mode
    assert len(mail.outbox) == 1
    notification = Notification.objects.get()
    from accounts import tasks

    assert tasks.send_notification_email(notification.pk) is False  # a second run
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == "Failed: Night Drive"
    assert "copyrighted work" in message.body and "You were not charged" in message.body
    assert f"/jobs/{job.code}/" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and "<strong>Night Drive</strong>" in html
    assert f'href="http://127.0.0.1:8000/jobs/{job.code}/"' in html or f"/jobs/{job.code}/" in html


def test_an_opt_out_after_the_job_sends_nothing(cast, django_capture_on_commit_callbacks):
    cast.bob.notify_by_email = True
    cast.bob.save()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.fail_job(running_job(cast).pk, "500", services.error_message("500"))
    type(cast.bob).objects.filter(pk=cast.bob.pk).update(notify_by_email=False)
    for callback in callbacks:
        callback()
    assert mail.outbox == []


# Badge and list -------------------------------------------------------------------------------

def test_the_badge_counts_unread_in_one_query(bob_client, cast, run, django_assert_num_queries):
    page = bob_client.get("/home/").content.decode()
    assert 'id="unread-count"' not in page
    for title in ("One", "Two", "Three"):
        fail(run, running_job(cast, title=title))
    page = bob_client.get("/home/").content.decode()
    assert 'id="unread-count">3<' in page
    with django_assert_num_queries(1):
        assert notifications.unread(cast.bob).count() == 3
    Notification.objects.filter(job__title="One").update(read_at=timezone.now())
    assert 'id="unread-count">2<' in bob_client.get("/clips/").content.decode()


def test_the_badge_refreshes_itself(bob_client, cast, run):
    page = bob_client.get("/home/").content.decode()
    assert 'hx-get="/notifications/badge/"' in page and "notifications from:body" in page
    badge = bob_client.get("/notifications/badge/", **HX)
    html = badge.content.decode()
    assert badge.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith('<span id="notifications-link"') and "unread-count" not in html
    fail(run, running_job(cast, title="One"))
    fail(run, running_job(cast, user=cast.alice, title="Hers"))  # alice's, not bob's
    html = bob_client.get("/notifications/badge/", **HX).content.decode()
    assert 'id="unread-count">1<' in html
    assert bob_client.post("/notifications/badge/").status_code == 405
    response = Client().get("/notifications/badge/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_list_costs_the_same_however_many_there_are(bob_client, cast, run):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    fail(run, running_job(cast, title="One"))
    bob_client.get("/notifications/")  # the first visit also picks the current workspace
    with CaptureQueriesContext(connection) as one:
        bob_client.get("/notifications/")
    for title in ("Two", "Three", "Four"):
        fail(run, running_job(cast, title=title))
    with CaptureQueriesContext(connection) as four:
        bob_client.get("/notifications/")
    assert len(four.captured_queries) == len(one.captured_queries)


def test_the_list_shows_only_your_own(client, cast, run):
    fail(run, running_job(cast, user=cast.bob, title="Bob's"))
    fail(run, running_job(cast, user=cast.alice, title="Alices Demo"))
    client.force_login(cast.bob)
    page = client.get("/notifications/").content.decode()
    assert "Bob&#x27;s" in page and "Alices Demo" not in page and "Mark all read" in page
    client.force_login(cast.charlie)
    page = client.get("/notifications/").content.decode()
    assert "Nothing yet" in page and "Bob&#x27;s" not in page


def test_the_list_page_and_its_htmx_partial(bob_client, cast, run):
    fail(run, running_job(cast))
    page = bob_client.get("/notifications/")
    assert "<html" in page.content.decode() and "HX-Request" in page["Vary"]
    partial = bob_client.get("/notifications/", **HX).content.decode()
    assert partial.lstrip().startswith('<section id="notifications"') and "<html" not in partial


def test_mark_all_read(bob_client, cast, run):
    fail(run, running_job(cast, title="One"))
    fail(run, running_job(cast, title="Two"))
    assert bob_client.get("/notifications/read/").status_code == 405
    response = bob_client.post("/notifications/read/")
    assert response.status_code == 302 and response["Location"] == "/notifications/"
    assert not notifications.unread(cast.bob).exists()
    assert 'id="unread-count"' not in bob_client.get("/notifications/").content.decode()

    fail(run, running_job(cast, title="Three"))
    partial = bob_client.post("/notifications/read/", **HX).content.decode()
    assert partial.lstrip().startswith('<section id="notifications"')
    assert "Mark all read" not in partial and not notifications.unread(cast.bob).exists()


def test_opening_one_marks_it_read_and_goes_to_the_job(client, cast, run):
    job = running_job(cast)
    fail(run, job)
    notification = Notification.objects.get()
    url = f"/notifications/{notification.code}/"
    client.force_login(cast.alice)  # another member of the workspace: not hers
    assert client.post(url).status_code == 404
    client.force_login(cast.charlie)
    assert client.post(url).status_code == 404
    client.force_login(cast.bob)
    assert client.get(url).status_code == 405
    assert client.post(f"/notifications/{uuid.uuid4()}/").status_code == 404
    response = client.post(url)
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.code}/"
    notification.refresh_from_db()
    assert notification.read_at is not None
    assert client.session["workspace_code"] == str(cast.team.code)


def test_after_leaving_a_workspace_its_notifications_are_gone(bob_client, cast, run):
    fail(run, running_job(cast))
    Membership.objects.filter(user=cast.bob, workspace=cast.team).delete()
    page = bob_client.get("/notifications/").content.decode()
    assert "Night Drive" not in page and 'id="unread-count"' not in page
    code = Notification.objects.get().code
    assert bob_client.post(f"/notifications/{code}/").status_code == 404
