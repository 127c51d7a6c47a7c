"""Home: the current workspace's balance, latest jobs and latest clips."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from covers.models import CoverJob, JobKind, JobState, SourceClip
from tests.base import use_workspace

pytestmark = pytest.mark.django_db


def clip(workspace, name, **extra):
    return SourceClip.objects.create(
        workspace=workspace, storage_key=f"k-{name}", original_name=name, format="mp3",
        content_type="audio/mpeg", size=10, duration=65, sha256="x", **extra,
    )


def job(workspace, user, title, state=JobState.SUCCEEDED):
    return CoverJob.objects.create(
        workspace=workspace, created_by=user, kind=JobKind.UPLOAD_COVER, provider="apikley",
        title=title, state=state, idempotency_key=title,
    )


def test_a_new_workspace_says_what_to_do_first(alice_client, cast):
    page = alice_client.get("/home/").content.decode()
    assert "Upload a clip of audio you own" in page and "Latest jobs" not in page


def test_the_latest_jobs_and_clips_of_the_current_workspace(bob_client, cast):
    use_workspace(bob_client, cast.team)
    clip(cast.team, "band demo.mp3")
    clip(cast.team, "gone.mp3", deleted_at=timezone.now())
    clip(cast.bob_personal, "bob's own.mp3")
    clip(cast.charlie_personal, "charlie's.mp3")
    job(cast.team, cast.alice, "Night Drive", JobState.SUBMITTED)
    job(cast.charlie_personal, cast.charlie, "Charlie's song")
    page = bob_client.get("/home/").content.decode()
    assert "Latest jobs" in page and "Night Drive" in page and "Sent to provider" in page
    assert "band demo.mp3" in page and "1:05" in page
    for elsewhere in ("gone.mp3", "bob&#x27;s own.mp3", "charlie&#x27;s.mp3", "Charlie"):
        assert elsewhere not in page
    assert "Upload a clip of audio you own" not in page  # a workspace with jobs knows the way


def test_home_shows_five_of_each_at_a_fixed_cost(bob_client, cast):
    use_workspace(bob_client, cast.team)
    job(cast.team, cast.bob, "Take 0")
    clip(cast.team, "clip 0")
    bob_client.get("/home/")
    with CaptureQueriesContext(connection) as few:
        bob_client.get("/home/")
    for i in range(1, 8):
        job(cast.team, cast.bob, f"Take {i}")
        clip(cast.team, f"clip {i}")
    with CaptureQueriesContext(connection) as many:
        page = bob_client.get("/home/").content.decode()
    assert len(many) == len(few)
    assert "Take 7" in page and "Take 3" in page and "Take 2" not in page
    assert "clip 7" in page and "clip 2" not in page
