"""Views of cover jobs: the new-cover form, the job page and its live partial, follow-ups,
import and the library. The provider is the scripted adapter (the seam); validation runs the
real adapters' rules."""

import re
import uuid
from html import unescape

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import CreditEntry, EntryKind, Membership, Role
from covers import services
from covers.models import CoverJob, JobKind, JobState, Track
from covers.providers import http
from covers.providers.base import State, TaskResult
from tests.base import set_role, use_workspace
from tests.covers.job_helpers import FakeAdapter, cdn_transport, make_clip, tracks
from tests.files import assert_serves

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def fake(monkeypatch):
    adapter = FakeAdapter()
    monkeypatch.setattr(services, "adapter_for", lambda job: adapter)
    http.set_transport(cdn_transport())
    yield adapter
    http.set_transport(None)


@pytest.fixture
def clip(cast):
    return make_clip(cast.team, cast.alice, duration=30.0)


def cover_data(**extra):
    data = {"idempotency_key": uuid.uuid4().hex, "provider": "apikley", "model": "V5",
            "custom_mode": "", "prompt": "a slow lofi take with soft keys"}
    data.update(extra)
    return data


def finished_job(cast, fake, django_capture_on_commit_callbacks, provider="apikley"):
    clip = make_clip(cast.team, cast.alice)
    with django_capture_on_commit_callbacks(execute=True):
        job, _ = services.create_job(
            cast.team, cast.bob, kind=JobKind.UPLOAD_COVER, provider=provider, price=12,
            idempotency_key=uuid.uuid4().hex, source_clip=clip, params={"title": "Demo"},
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.apply_result(job.pk, TaskResult(task_id="task-1", state=State.SUCCEEDED,
                                                 tracks=tracks()), source="test")
    job.refresh_from_db()
    return job


# --- new cover form --------------------------------------------------------------------


def test_form_offers_what_the_clip_allows_with_cost_and_balance_after(alice_client, clip):
    response = alice_client.get(f"/clips/{clip.code}/cover/")
    assert response.status_code == 200
    providers = [c[0] for c in response.context["form"].fields["provider"].choices]
    assert providers == ["apikley", "apiinone"]  # Apiframe cannot take an uploaded clip
    html = response.content.decode()
    assert 'data-cost>12<' in html and "data-balance-after" in html and ">488<" in html
    assert 'name="idempotency_key"' in html
    assert 'step="0.01"' in html


def test_form_shows_what_is_left_of_a_members_monthly_cap(
        client, cast, clip, fake, django_capture_on_commit_callbacks):
    client.force_login(cast.bob)
    url = f"/clips/{clip.code}/cover/"
    assert "monthly cap" not in client.get(url).content.decode()  # no cap, no line
    Membership.objects.filter(user=cast.bob, workspace=cast.team).update(monthly_cap=30)
    html = client.get(url).content.decode()
    assert "<strong>30</strong> of 30 credits left this month" in html
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, cover_data())
    assert CoverJob.objects.get().credits_held == 12
    assert "<strong>18</strong> of 30 credits left this month" in client.get(url).content.decode()


def test_form_warns_when_the_balance_is_too_low_and_refuses_without_a_job(
        alice_client, cast, clip, fake):
    from accounts import credits

    url = f"/clips/{clip.code}/cover/"
    assert re.search(r"<p class=\"message warning\" data-short hidden>",
                     alice_client.get(url).content.decode())
    credits.adjust(cast.team, -495, actor=cast.alice, reason="Spent elsewhere")
    html = alice_client.get(url).content.decode()
    assert "<p class=\"message warning\" data-short>" in html  # shown: 5 left, 12 needed
    assert f'href="/workspaces/{cast.team.code}/credits/">how to get more credits' in html
    response = alice_client.post(url, cover_data())
    assert response.status_code == 400
    assert "This needs 12 credits and the workspace has 5." in response.content.decode()
    assert not CoverJob.objects.exists()
    page = alice_client.get(f"/workspaces/{cast.team.code}/credits/").content.decode()
    assert "Need more? Credits are added by the Coverlab team" in page
    assert str(cast.team.code) in page


def test_long_clip_is_not_offered_to_apiinone_nor_v4_5all(alice_client, cast):
    clip = make_clip(cast.team, cast.alice, duration=120.0)
    form = alice_client.get(f"/clips/{clip.code}/cover/").context["form"]
    assert [c[0] for c in form.fields["provider"].choices] == ["apikley"]
    assert "V4_5ALL" not in dict(form.fields["model"].choices)


def test_covers_new_with_clip_query_is_the_same_form(alice_client, clip):
    response = alice_client.get(f"/covers/new/?clip={clip.code}")
    assert response.status_code == 200
    assert response.context["source"].clip == clip


def test_submit_creates_one_job_and_holds(bob_client, cast, clip, fake,
                                         django_capture_on_commit_callbacks):
    data = cover_data()
    with django_capture_on_commit_callbacks(execute=True):
        first = bob_client.post(f"/clips/{clip.code}/cover/", data)
        second = bob_client.post(f"/clips/{clip.code}/cover/", data)
    job = CoverJob.objects.get()
    assert first.status_code == 302 and first["Location"] == f"/jobs/{job.code}/"
    assert second["Location"] == first["Location"]
    assert job.created_by == cast.bob and job.workspace == cast.team
    assert job.state == JobState.SUBMITTED and job.credits_held == 12
    assert CreditEntry.objects.filter(kind=EntryKind.HOLD, member=cast.bob).count() == 1


def test_field_errors_come_from_the_adapter_rules(alice_client, clip, fake):
    response = alice_client.post(f"/clips/{clip.code}/cover/", cover_data(
        custom_mode="on", style="", title="x" * 81, model="V4", prompt="la la"))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "style" in errors and "title" in errors
    assert "80" in errors["title"][0]
    assert CoverJob.objects.count() == 0


def test_weights_are_checked(alice_client, clip, fake):
    response = alice_client.post(f"/clips/{clip.code}/cover/", cover_data(style_weight="1.5",
                                                                         audio_weight="0.123"))
    errors = response.context["form"].errors
    assert "style_weight" in errors and "audio_weight" in errors


def test_apiinone_needs_an_audio_id(alice_client, clip, fake):
    response = alice_client.post(f"/clips/{clip.code}/cover/",
                                 cover_data(provider="apiinone", model=""))
    assert "audio_id" in response.context["form"].errors


def test_not_enough_credits_is_a_form_error(alice_client, cast, clip, fake):
    CoverJob.objects.none()
    from accounts import credits

    credits.adjust(cast.team, -495, actor=cast.alice, reason="test")
    response = alice_client.post(f"/clips/{clip.code}/cover/", cover_data())
    assert response.status_code == 400
    assert "needs 12 credits" in response.content.decode()
    assert CoverJob.objects.count() == 0


def test_cover_form_access(client, cast, clip, fake):
    client.force_login(cast.charlie)
    assert client.get(f"/clips/{clip.code}/cover/").status_code == 404
    assert client.post(f"/clips/{clip.code}/cover/", cover_data()).status_code == 404
    client.force_login(cast.bob)
    set_role(cast.bob, cast.team, Role.VIEWER)
    assert client.get(f"/clips/{clip.code}/cover/").status_code == 403
    assert client.post(f"/clips/{clip.code}/cover/", cover_data()).status_code == 403
    assert client.get(f"/clips/{uuid.uuid4()}/cover/").status_code == 404
    assert client.get("/clips/not-a-code/cover/").status_code == 404
    assert CoverJob.objects.count() == 0


def test_track_cover_form_defaults_to_the_tracks_style(alice_client, cast, fake,
                                                       django_capture_on_commit_callbacks):
    job = finished_job(cast, fake, django_capture_on_commit_callbacks)
    track = job.tracks.get(position=1)
    response = alice_client.get(f"/tracks/{track.code}/cover/")
    form = response.context["form"]
    assert [c[0] for c in form.fields["provider"].choices] == ["apikley"]
    assert form.initial["style"] == "lofi"
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(f"/tracks/{track.code}/cover/", cover_data())
    child = CoverJob.objects.get(source_track=track)
    assert child.kind == JobKind.TRACK_COVER
    assert fake.submitted[-1].upload_url.startswith("http")  # absolute, for the provider
    assert_serves(alice_client, fake.submitted[-1].upload_url, track.audio.name)  # our copy


# --- job page and live status -----------------------------------------------------------


def test_job_page_and_htmx_partial_while_running(alice_client, cast, clip, fake,
                                                 django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(f"/clips/{clip.code}/cover/", cover_data())
    job = CoverJob.objects.get()
    page = alice_client.get(f"/jobs/{job.code}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<html" in html and "Sent to provider" in html
    assert "every 2s [document.visibilityState === 'visible']" in html
    partial = alice_client.get(f"/jobs/{job.code}/", **HTMX)
    assert partial.status_code == 200 and "<html" not in partial.content.decode()
    assert 'id="job-status"' in partial.content.decode()
    assert "hx-trigger" in partial.content.decode()
    assert page["Vary"] and "HX-Request" in page["Vary"]


def test_status_partial_stops_polling_when_done(alice_client, cast, fake,
                                                django_capture_on_commit_callbacks):
    job = finished_job(cast, fake, django_capture_on_commit_callbacks)
    response = alice_client.get(f"/jobs/{job.code}/status/", **HTMX)
    html = response.content.decode()
    assert response.status_code == 286
    assert "hx-trigger" not in html
    assert response["HX-Trigger"] == "notifications"  # the top bar's badge refreshes
    for track in job.tracks.all():  # plays our stored copies
        src = re.search(rf'id="audio-{track.code}-(\w+)"[^>]* src="([^"]+)"', html)
        assert src and src.group(1) == "ours", html
        assert_serves(alice_client, unescape(src.group(2)), track.audio.name)
    assert "Make cover art (2 credits)" in html
    assert "Download audio" in html


def test_failed_job_says_not_charged(alice_client, cast, clip, fake,
                                     django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(f"/clips/{clip.code}/cover/", cover_data())
    job = CoverJob.objects.get()
    services.fail_job(job.pk, "413", services.error_message("413"))
    html = alice_client.get(f"/jobs/{job.code}/").content.decode()
    assert "matches an existing copyrighted work" in html
    assert "You were not charged" in html


def test_a_failed_cover_can_be_tried_again_with_its_settings(
        alice_client, cast, clip, fake, django_capture_on_commit_callbacks):
    use_workspace(alice_client, cast.team)
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(f"/clips/{clip.code}/cover/", cover_data(
            custom_mode="on", prompt="la la la", style="bossa nova", title="Sunny",
            negative_tags="drums", style_weight="0.35"))
    job = CoverJob.objects.get()
    services.fail_job(job.pk, "400", services.error_message("400"))
    html = alice_client.get(f"/jobs/{job.code}/").content.decode()
    again = re.search(r'href="([^"]+)">Try again with these settings', html)
    assert again and unescape(again.group(1)) == f"/clips/{clip.code}/cover/?again={job.code}"

    form = alice_client.get(unescape(again.group(1)))
    html = form.content.decode()
    assert form.status_code == 200 and "Filled in with the settings of the cover" in html
    initial = form.context["form"].initial
    assert {k: initial[k] for k in ("provider", "model", "custom_mode", "prompt", "style",
                                    "title", "negative_tags")} == {
        "provider": "apikley", "model": "V5", "custom_mode": True, "prompt": "la la la",
        "style": "bossa nova", "title": "Sunny", "negative_tags": "drums"}
    assert float(initial["style_weight"]) == 0.35
    assert initial["idempotency_key"] != job.idempotency_key  # a new job, not the failed one

    # Only a failed job of this workspace on this source fills the form in.
    other_clip = make_clip(cast.team, cast.alice)
    for url in (f"/clips/{other_clip.code}/cover/?again={job.code}",
                f"/clips/{clip.code}/cover/?again={uuid.uuid4()}",
                f"/clips/{clip.code}/cover/?again=nonsense"):
        response = alice_client.get(url)
        assert response.status_code == 200 and "Filled in" not in response.content.decode()
        assert "prompt" not in response.context["form"].initial
    other = Client()
    other.force_login(cast.charlie)
    assert other.get(f"/clips/{clip.code}/cover/?again={job.code}").status_code == 404
    # A viewer sees the failure but not the way to spend again.
    set_role(cast.bob, cast.team, Role.VIEWER)
    other.force_login(cast.bob)
    assert "Try again" not in other.get(f"/jobs/{job.code}/").content.decode()
    # Without its clip there is nothing to try again on.
    clip.deleted_at = timezone.now()
    clip.save()
    assert "Try again" not in alice_client.get(f"/jobs/{job.code}/").content.decode()


def test_status_partial_query_count_is_small_and_flat(alice_client, cast, fake,
                                                      django_capture_on_commit_callbacks):
    job = finished_job(cast, fake, django_capture_on_commit_callbacks)
    alice_client.get(f"/jobs/{job.code}/status/", **HTMX)
    with CaptureQueriesContext(connection) as ctx:
        alice_client.get(f"/jobs/{job.code}/status/", **HTMX)
    for _ in range(5):
        services.fail_job(job.pk, "x", "x")  # more events do not mean more queries
    with CaptureQueriesContext(connection) as ctx2:
        alice_client.get(f"/jobs/{job.code}/status/", **HTMX)
    assert len(ctx) <= 4, [q["sql"] for q in ctx]
    assert len(ctx2) == len(ctx)


def test_job_page_access(client, cast, fake, django_capture_on_commit_callbacks):
    job = finished_job(cast, fake, django_capture_on_commit_callbacks)
    client.force_login(cast.charlie)
    assert client.get(f"/jobs/{job.code}/").status_code == 404
    assert client.get(f"/jobs/{job.code}/status/", **HTMX).status_code == 404
    client.force_login(cast.bob)
    set_role(cast.bob, cast.team, Role.VIEWER)
    response = client.get(f"/jobs/{job.code}/")
    assert response.status_code == 200  # viewers may look
    assert "Make cover art" not in response.content.decode()
    assert client.get(f"/jobs/{uuid.uuid4()}/").status_code == 404
    assert client.get("/jobs/nope/").status_code == 404


# --- follow-ups ---------------------------------------------------------------------------


def test_cover_art_once_then_opens_the_existing(alice_client, cast, fake,
                                                django_capture_on_commit_callbacks):
    job = finished_job(cast, fake, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        first = alice_client.post(f"/jobs/{job.code}/art/", {"idempotency_key": "a"})
        second = alice_client.post(f"/jobs/{job.code}/art/", {"idempotency_key": "b"})
    art = CoverJob.objects.get(kind=JobKind.COVER_ART)
    assert first["Location"] == second["Location"] == f"/jobs/{art.code}/"
    assert CreditEntry.objects.filter(job=art, kind=EntryKind.HOLD).count() == 1
    page = alice_client.get(f"/jobs/{job.code}/").content.decode()
    assert "Open the cover art" in page


def test_cover_art_access(client, cast, fake, django_capture_on_commit_callbacks):
    job = finished_job(cast, fake, django_capture_on_commit_callbacks)
    client.force_login(cast.alice)
    assert client.get(f"/jobs/{job.code}/art/").status_code == 405
    client.force_login(cast.charlie)
    assert client.post(f"/jobs/{job.code}/art/").status_code == 404
    client.force_login(cast.bob)
    set_role(cast.bob, cast.team, Role.VIEWER)
    assert client.post(f"/jobs/{job.code}/art/").status_code == 403
    assert client.post(f"/jobs/{uuid.uuid4()}/art/").status_code == 404
    assert not CoverJob.objects.filter(kind=JobKind.COVER_ART).exists()


def test_favourite(client, cast, fake, django_capture_on_commit_callbacks):
    job = finished_job(cast, fake, django_capture_on_commit_callbacks)
    track = job.tracks.get(position=2)
    url = f"/tracks/{track.code}/favourite/"
    client.force_login(cast.bob)
    response = client.post(url, {"favourite": "1"})
    assert response.status_code == 302
    track.refresh_from_db()
    assert track.favourite
    response = client.post(url, {"favourite": "0"}, **HTMX)
    assert response.status_code == 200 and "<html" not in response.content.decode()
    assert "Add to favourites" in response.content.decode()
    assert not Track.objects.get(pk=track.pk).favourite
    assert client.get(url).status_code == 405
    set_role(cast.bob, cast.team, Role.VIEWER)
    assert client.post(url, {"favourite": "1"}).status_code == 403
    client.force_login(cast.charlie)
    assert client.post(url, {"favourite": "1"}).status_code == 404
    assert client.post(f"/tracks/{uuid.uuid4()}/favourite/").status_code == 404
    assert not Track.objects.get(pk=track.pk).favourite


def test_import(client, cast, fake, django_capture_on_commit_callbacks):
    client.force_login(cast.bob)
    use_workspace(client, cast.team)
    assert client.get("/covers/import/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/covers/import/", {"provider": "apiframe", "task_id": "job-77"})
    job = CoverJob.objects.get(imported=True)
    assert response["Location"] == f"/jobs/{job.code}/"
    assert job.workspace == cast.team and job.provider_task_id == "job-77"
    assert job.tracks.count() == 2
    set_role(cast.bob, cast.team, Role.VIEWER)
    assert client.post("/covers/import/", {"provider": "apiframe",
                                           "task_id": "job-78"}).status_code == 403


# --- library ----------------------------------------------------------------------------


def test_library_empty_state(alice_client, cast):
    use_workspace(alice_client, cast.team)
    html = alice_client.get("/library/").content.decode()
    assert "Your library is empty" in html and "Upload a clip" in html


def test_library_lists_filters_and_searches(alice_client, cast, fake,
                                            django_capture_on_commit_callbacks):
    use_workspace(alice_client, cast.team)
    done = finished_job(cast, fake, django_capture_on_commit_callbacks)
    other = make_clip(cast.charlie_personal, cast.charlie)
    CoverJob.objects.create(workspace=cast.charlie_personal, created_by=cast.charlie,
                            kind=JobKind.UPLOAD_COVER, provider="apikley", title="Secret",
                            idempotency_key="x", source_clip=other)
    CoverJob.objects.create(workspace=cast.team, created_by=cast.alice, title="Rainy jazz",
                            kind=JobKind.UPLOAD_COVER, provider="apiinone", style="jazz",
                            idempotency_key="y", sandbox=True, state=JobState.FAILED,
                            credits_held=12)
    html = alice_client.get("/library/").content.decode()
    assert "Demo" in html and "Rainy jazz" in html and "Secret" not in html
    assert "Sandbox" in html and "not charged" in html and "bob@example.org" in html
    html = alice_client.get("/library/?q=jazz").content.decode()
    assert "Rainy jazz" in html and "Demo" not in html
    bob_code = cast.membership(cast.bob).code
    html = alice_client.get(f"/library/?member={bob_code}").content.decode()
    assert "Demo" in html and "Rainy jazz" not in html
    html = alice_client.get("/library/?state=failed&provider=apiinone").content.decode()
    assert "Rainy jazz" in html and "Demo" not in html
    partial = alice_client.get("/library/", **HTMX)
    assert 'id="library-rows"' in partial.content.decode()
    assert "<html" not in partial.content.decode()
    # Favourites: none yet; then one track of Demo starred.
    html = alice_client.get("/library/?favourite=yes").content.decode()
    assert "No job matches these filters" in html and "has a favourite track" not in html
    services.set_favourite(done.tracks.first(), cast.alice, True)
    html = alice_client.get("/library/?favourite=yes").content.decode()
    assert "Demo" in html and "Rainy jazz" not in html and "(has a favourite track)" in html


def test_library_polls_while_a_job_runs(alice_client, cast):
    use_workspace(alice_client, cast.team)
    CoverJob.objects.create(workspace=cast.team, created_by=cast.alice, title="Running",
                            kind=JobKind.UPLOAD_COVER, provider="apikley",
                            idempotency_key="r", state=JobState.SUBMITTED)
    html = alice_client.get("/library/").content.decode()
    assert "every 2s" in html
    CoverJob.objects.update(state=JobState.SUCCEEDED)
    response = alice_client.get("/library/", HTTP_HX_TRIGGER="library-rows", **HTMX)
    assert response.status_code == 286 and "every 2s" not in response.content.decode()


def test_library_query_count_does_not_grow(alice_client, cast):
    use_workspace(alice_client, cast.team)

    def make(n, start):
        CoverJob.objects.bulk_create([
            CoverJob(workspace=cast.team, created_by=cast.bob, kind=JobKind.UPLOAD_COVER,
                     provider="apikley", title=f"Job {i}", idempotency_key=f"k{i}",
                     state=JobState.SUCCEEDED, created_at=timezone.now())
            for i in range(start, start + n)
        ])

    make(3, 0)
    with CaptureQueriesContext(connection) as few:
        alice_client.get("/library/")
    make(60, 100)
    with CaptureQueriesContext(connection) as many:
        assert alice_client.get("/library/?page=2").status_code == 200
    assert len(many) == len(few)


def poll_url_and_version(client, job):
    response = client.get(f"/jobs/{job.code}/")
    return response.context["poll_url"], response.context["version"]


def test_unchanged_poll_is_a_204_after_one_query(alice_client, cast, clip, fake,
                                                 django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(f"/clips/{clip.code}/cover/", cover_data())
    job = CoverJob.objects.get()
    url, version = poll_url_and_version(alice_client, job)
    assert url.startswith(f"/jobs/{job.code}/status/?t=")
    assert f'hx-get="/jobs/{job.code}/status/?t=' in alice_client.get(
        f"/jobs/{job.code}/").content.decode()
    with CaptureQueriesContext(connection) as ctx:
        response = alice_client.get(url, HTTP_X_STATUS_VERSION=version, **HTMX)
    assert response.status_code == 204 and len(ctx) == 1
    services.apply_result(job.pk, TaskResult(task_id="task-1", state=State.TEXT_READY),
                          source="test")
    with CaptureQueriesContext(connection) as ctx:
        response = alice_client.get(url, HTTP_X_STATUS_VERSION=version, **HTMX)
    assert response.status_code == 200 and "Lyrics ready" in response.content.decode()
    assert len(ctx) <= 4


def test_poll_token_is_bound_to_the_browser_session(client, cast, clip, fake,
                                                    django_capture_on_commit_callbacks):
    client.force_login(cast.alice)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/clips/{clip.code}/cover/", cover_data())
    job = CoverJob.objects.get()
    url, version = poll_url_and_version(client, job)
    client.logout()
    client.force_login(cast.charlie)  # another session: the token is not his
    assert client.get(url, HTTP_X_STATUS_VERSION=version, **HTMX).status_code == 404
    client.logout()
    response = client.get(url, HTTP_X_STATUS_VERSION=version, **HTMX)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(cast.alice)
    other = url.replace(str(job.code), str(uuid.uuid4()))
    assert client.get(other, HTTP_X_STATUS_VERSION=version, **HTMX).status_code == 404
    assert client.get(url[:-3] + "xyz", **HTMX).status_code == 200  # bad token: session path


def test_partial_shows_progress_and_the_first_track_while_it_streams(
        alice_client, cast, clip, fake, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(f"/clips/{clip.code}/cover/", cover_data())
    job = CoverJob.objects.get()
    services.apply_result(job.pk, TaskResult(task_id="task-1", state=State.RUNNING,
                                             progress=45), source="test")
    html = alice_client.get(f"/jobs/{job.code}/status/", **HTMX).content.decode()
    assert "45%" in html and 'value="45"' in html
    first = tracks(1, audio=False)
    services.apply_result(job.pk, TaskResult(task_id="task-1", state=State.FIRST_READY,
                                             tracks=first, progress=60), source="test")
    services.apply_result(job.pk, TaskResult(task_id="task-1", state=State.RUNNING,
                                             progress=30), source="late")  # stale: ignored
    job.refresh_from_db()
    assert job.state == JobState.FIRST_READY and job.progress == 60
    html = alice_client.get(f"/jobs/{job.code}/status/", **HTMX).content.decode()
    assert 'src="https://cdn.example/s1"' in html
    assert "Streaming from the provider" in html and "60%" in html


def test_monthly_cap_is_a_form_error(bob_client, cast, clip, fake):
    from accounts.models import Membership

    Membership.objects.filter(user=cast.bob, workspace=cast.team).update(monthly_cap=10)
    response = bob_client.post(f"/clips/{clip.code}/cover/", cover_data())
    assert response.status_code == 400
    assert "monthly cap of 10" in response.content.decode()
    assert CoverJob.objects.count() == 0


def test_polls_read_the_current_role(client, cast, fake, django_capture_on_commit_callbacks):
    job = finished_job(cast, fake, django_capture_on_commit_callbacks)
    CoverJob.objects.filter(pk=job.pk).update(results_stored_at=None)  # keep it live
    client.force_login(cast.bob)
    url, _ = poll_url_and_version(client, job)
    assert "Cover this track" in client.get(url, **HTMX).content.decode()
    set_role(cast.bob, cast.team, Role.VIEWER)  # demoted while the page is open
    html = client.get(url, **HTMX).content.decode()
    assert "Cover this track" not in html and "Make cover art" not in html


def test_a_removed_member_stops_seeing_the_job_at_once(client, cast, clip, fake,
                                                       django_capture_on_commit_callbacks):
    from accounts.models import Membership

    client.force_login(cast.bob)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/clips/{clip.code}/cover/", cover_data())
    job = CoverJob.objects.get()
    url, version = poll_url_and_version(client, job)
    assert client.get(url, HTTP_X_STATUS_VERSION=version, **HTMX).status_code == 204
    Membership.objects.filter(user=cast.bob, workspace=cast.team).delete()
    assert client.get(url, HTTP_X_STATUS_VERSION=version, **HTMX).status_code == 404
    assert client.get(url, **HTMX).status_code == 404


def test_track_cover_form_access(client, cast, fake, django_capture_on_commit_callbacks):
    job = finished_job(cast, fake, django_capture_on_commit_callbacks)
    track = job.tracks.get(position=1)
    url = f"/tracks/{track.code}/cover/"
    client.force_login(cast.charlie)
    assert client.get(url).status_code == 404
    assert client.post(url, cover_data()).status_code == 404
    assert client.get(f"/covers/new/?track={track.code}").status_code == 404
    client.force_login(cast.bob)
    set_role(cast.bob, cast.team, Role.VIEWER)
    assert client.get(url).status_code == 403
    assert client.post(url, cover_data()).status_code == 403
    assert client.get(f"/tracks/{uuid.uuid4()}/cover/").status_code == 404
    assert client.get("/covers/new/?clip=nope").status_code == 404
    assert client.put(url).status_code == 405
    assert not CoverJob.objects.filter(source_track=track).exists()


def test_form_preselects_the_workspace_default_when_the_source_allows(alice_client, cast, clip):
    from accounts.models import Workspace

    if not hasattr(Workspace, "default_provider"):
        pytest.skip("workspace defaults not installed")
    Workspace.objects.filter(pk=cast.team.pk).update(default_provider="apikley",
                                                     default_model="V4")
    form = alice_client.get(f"/clips/{clip.code}/cover/").context["form"]
    assert (form.initial["provider"], form.initial["model"]) == ("apikley", "V4")
    Workspace.objects.filter(pk=cast.team.pk).update(default_provider="apiframe",
                                                     default_model="")
    form = alice_client.get(f"/clips/{clip.code}/cover/").context["form"]
    assert (form.initial["provider"], form.initial["model"]) == ("apikley", "V5")


# --- delete -------------------------------------------------------------------------------


def finished_art(music_job, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/jobs/{music_job.code}/art/", {"idempotency_key": uuid.uuid4().hex})
    art = CoverJob.objects.get(parent_job=music_job, kind=JobKind.COVER_ART)
    with django_capture_on_commit_callbacks(execute=True):
        services.apply_result(art.pk, TaskResult(
            task_id="art-1", state=State.SUCCEEDED,
            images=["https://cdn.example/a1.png", "https://cdn.example/a2.png"]), source="test")
    art.refresh_from_db()
    assert art.results_stored_at is not None
    return art


def test_deleting_a_finished_cover_removes_it_its_art_and_their_files(
        alice_client, cast, fake, django_capture_on_commit_callbacks):
    from django.core.files.storage import default_storage

    from accounts import credits
    from accounts.models import AuditLog, Notification

    job = finished_job(cast, fake, django_capture_on_commit_callbacks)
    use_workspace(alice_client, cast.team)
    art = finished_art(job, alice_client, django_capture_on_commit_callbacks)
    files = [*job.tracks.values_list("audio", flat=True),
             *job.tracks.values_list("image", flat=True),
             *art.images.values_list("image", flat=True)]
    assert len(files) == 6 and all(default_storage.exists(name) for name in files)
    track = job.tracks.first()
    ledger = list(CreditEntry.objects.order_by("id").values_list("id", "amount"))
    assert "Delete this job" in alice_client.get(f"/jobs/{job.code}/").content.decode()

    assert alice_client.get(f"/jobs/{job.code}/delete/").status_code == 405
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(f"/jobs/{job.code}/delete/")
    assert response.status_code == 302 and response["Location"] == "/library/"
    library = alice_client.get("/library/").content.decode()
    assert "Deleted “Demo” and its files." in library
    assert str(job.code) not in library and str(art.code) not in library

    assert not any(default_storage.exists(name) for name in files)
    for url in (f"/jobs/{job.code}/", f"/jobs/{art.code}/", f"/tracks/{track.code}/cover/"):
        assert alice_client.get(url).status_code == 404
    assert alice_client.get(f"/jobs/{job.code}/status/", **HTMX).status_code == 404
    # The ledger keeps every entry, and still adds up.
    assert list(CreditEntry.objects.order_by("id").values_list("id", "amount")) == ledger
    assert credits.disagreements() == []
    assert AuditLog.objects.filter(action="job.delete", target=str(job.code)).exists()
    # Bob made the job: its notification leaves his list and badge.
    assert Notification.objects.filter(job=job).exists()
    bob = Client()
    bob.force_login(cast.bob)
    assert str(job.code) not in bob.get("/notifications/").content.decode()
    # A second delete changes nothing.
    assert alice_client.post(f"/jobs/{job.code}/delete/").status_code == 404


def test_who_may_delete_a_job(client, cast, fake, django_capture_on_commit_callbacks):
    job = finished_job(cast, fake, django_capture_on_commit_callbacks)  # made by bob
    url = f"/jobs/{job.code}/delete/"
    client.force_login(cast.charlie)
    assert client.post(url).status_code == 404
    client.force_login(cast.bob)
    set_role(cast.bob, cast.team, Role.VIEWER)
    assert "Delete this job" not in client.get(f"/jobs/{job.code}/").content.decode()
    assert client.post(url).status_code == 403
    set_role(cast.bob, cast.team, Role.MEMBER)
    others = CoverJob.objects.create(
        workspace=cast.team, created_by=cast.alice, kind=JobKind.UPLOAD_COVER,
        provider="apikley", state=JobState.FAILED, idempotency_key="alices")
    assert "Delete this job" not in client.get(f"/jobs/{others.code}/").content.decode()
    assert client.post(f"/jobs/{others.code}/delete/").status_code == 403
    assert CoverJob.objects.filter(deleted_at__isnull=False).count() == 0
    assert client.post(url).status_code == 302  # his own
    client.force_login(cast.alice)  # the owner may delete anyone's
    assert client.post(f"/jobs/{others.code}/delete/").status_code == 302
    assert CoverJob.objects.filter(deleted_at__isnull=False).count() == 2


def test_a_job_in_use_cannot_be_deleted(alice_client, cast, clip, fake,
                                        django_capture_on_commit_callbacks):
    use_workspace(alice_client, cast.team)
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(f"/clips/{clip.code}/cover/", cover_data())
    running = CoverJob.objects.get()
    assert "Delete this job" not in alice_client.get(f"/jobs/{running.code}/").content.decode()
    response = alice_client.post(f"/jobs/{running.code}/delete/", follow=True)
    assert "still being made" in response.content.decode()

    done = finished_job(cast, fake, django_capture_on_commit_callbacks)
    CoverJob.objects.create(  # a cover of one of its tracks, still running
        workspace=cast.team, created_by=cast.alice, kind=JobKind.TRACK_COVER,
        provider="apikley", state=JobState.SUBMITTED, idempotency_key="child",
        source_track=done.tracks.first())
    response = alice_client.post(f"/jobs/{done.code}/delete/", follow=True)
    assert "A cover of one of its tracks is being made" in response.content.decode()
    assert not CoverJob.objects.filter(deleted_at__isnull=False).exists()
    assert all(t.audio for t in done.tracks.all())

    # Once that cover has failed, the job goes; the cover's page names the track, unlinked.
    child = CoverJob.objects.get(idempotency_key="child")
    services.fail_job(child.pk, "500", "x")
    assert alice_client.post(f"/jobs/{done.code}/delete/").status_code == 302
    html = alice_client.get(f"/jobs/{child.code}/").content.decode()
    assert "(its job was deleted)" in html and f"/jobs/{done.code}/" not in html
    assert "Try again" not in html  # the track it covered is gone


def test_rename_a_job(client, cast, fake, django_capture_on_commit_callbacks):
    from accounts.models import AuditLog

    job = finished_job(cast, fake, django_capture_on_commit_callbacks)
    url = f"/jobs/{job.code}/rename/"
    client.force_login(cast.bob)
    assert "Save name" in client.get(f"/jobs/{job.code}/").content.decode()
    assert client.get(url).status_code == 405
    response = client.post(url, {"name": "  Night Drive (bossa)  "}, follow=True)
    assert "Renamed to “Night Drive (bossa)”." in response.content.decode()
    job.refresh_from_db()
    assert job.title == "Night Drive (bossa)"
    assert AuditLog.objects.filter(action="job.rename", target=str(job.code)).exists()
    use_workspace(client, cast.team)
    assert "Night Drive (bossa)" in client.get("/library/").content.decode()

    for bad in ("   ", "x" * 201):
        response = client.post(url, {"name": bad}, follow=True)
        assert "Give the job a name" in response.content.decode()
    job.refresh_from_db()
    assert job.title == "Night Drive (bossa)"

    set_role(cast.bob, cast.team, Role.VIEWER)
    assert "Save name" not in client.get(f"/jobs/{job.code}/").content.decode()
    assert client.post(url, {"name": "Mine"}).status_code == 403
    client.force_login(cast.charlie)
    assert client.post(url, {"name": "Mine"}).status_code == 404
    job.refresh_from_db()
    assert job.title == "Night Drive (bossa)"
