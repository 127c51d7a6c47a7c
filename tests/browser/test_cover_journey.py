"""A creator covers a clip in the sandbox, plays the tracks, makes cover art, covers one of the
tracks again (its callbacks lost: the page catches up live when polling finds the result),
and sees a refused cover with its refund message."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts import credits
from accounts.models import CreditEntry, EntryKind, Notification
from covers import tasks
from covers.models import CoverJob, JobKind, JobState, SourceClip
from tests.audio import make_tone
from tests.base import PASSWORD, make_cast
from tests.browser.a11y import assert_accessible
from tests.browser.conftest import ARTIFACTS


@pytest.fixture
def sandbox(transactional_db, provider_transport):
    return provider_transport


def log_in(page, email):
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("Log in", re.I)).click()
    expect(page).not_to_have_url(re.compile(r"/login/"))


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    assert_accessible(page)


def upload(page, tmp_path):
    page.goto("/clips/")
    song = make_tone(tmp_path / "hum.mp3", 4.0, "mp3")
    page.get_by_label("Audio file").set_input_files(str(song))
    expect(page.locator("#clip-rows tr").first).to_contain_text("hum.mp3")
    return SourceClip.objects.latest("created_at")


def test_cover_journey(page, sandbox, tmp_path):
    cast = make_cast()
    log_in(page, "alice@example.org")
    personal = cast.alice_personal
    start = personal.credit_balance

    page.goto("/library/")
    expect(page.get_by_text("Your library is empty")).to_be_visible()
    shot(page, "jobs_library_empty")

    clip = upload(page, tmp_path)
    page.locator(f"#clip-{clip.code}").get_by_role("link", name="Cover", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/clips/{clip.code}/cover/$"))
    expect(page.get_by_role("heading", name="New cover")).to_be_visible()
    expect(page.locator("[data-cost]")).to_have_text("12")
    expect(page.locator("[data-balance-after]")).to_have_text(str(start - 12))
    page.get_by_label("Lyrics or idea").fill("a dreamy lofi take")
    expect(page.locator("[data-counter-for=prompt]")).to_have_text("18 / 500")
    page.get_by_label("Custom mode").check()
    expect(page.get_by_label("Title")).to_be_visible()
    expect(page.locator("[data-counter-for=prompt]")).to_have_text("18 / 5000")
    page.get_by_label("Custom mode").uncheck()
    expect(page.get_by_label("Title")).to_be_hidden()
    shot(page, "jobs_cover_form")
    page.get_by_role("button", name="Make the cover").click()

    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f-]+/$"), timeout=60_000)
    status = page.locator("#job-status")
    expect(status).to_have_attribute("data-state", "succeeded", timeout=30_000)
    expect(status.locator("audio")).to_have_count(2)
    expect(page.get_by_text("Cost: 12 credits")).to_be_visible()
    player = status.locator("audio").first
    player.evaluate("el => { el.preload = 'auto'; el.load(); }")
    page.wait_for_function("el => el.readyState >= 1 && el.duration > 1",
                           arg=player.element_handle())
    assert player.evaluate("el => el.play().then(() => true, e => String(e))") is True
    expect(page.get_by_role("button", name="Play A and B in sync")).to_be_visible()
    page.get_by_role("button", name="Hear B").click()
    assert status.locator("audio").nth(0).evaluate("el => el.muted") is True
    shot(page, "jobs_done")
    page.emulate_media(color_scheme="dark")
    shot(page, "jobs_done_dark")
    page.emulate_media(color_scheme="light")
    job_url = page.url

    page.get_by_role("button", name=re.compile(r"Make cover art")).click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator("#job-status")).to_have_attribute("data-state", "succeeded",
                                                          timeout=30_000)
    expect(page.locator(".art-images img")).to_have_count(2)
    shot(page, "jobs_cover_art")

    # Cover the second track; its callbacks get lost, polling finds the result.
    page.goto(job_url)
    page.get_by_role("link", name="Cover this track").nth(1).click()
    page.get_by_label("Lyrics or idea").fill("now as bossa nova [sandbox:lost]")
    page.get_by_role("button", name="Make the cover").click()
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f-]+/$"), timeout=60_000)
    child = CoverJob.objects.get(kind=JobKind.TRACK_COVER)
    expect(page.locator("#job-status")).to_have_attribute("data-state", "submitted")
    shot(page, "jobs_running")
    unread = Notification.objects.filter(recipient=cast.alice, read_at=None).count()
    expect(page.locator("#unread-count")).to_contain_text(str(unread))
    CoverJob.objects.filter(pk=child.pk).update(next_poll_at=timezone.now())
    tasks.sweep()
    expect(page.locator("#job-status")).to_have_attribute("data-state", "succeeded",
                                                          timeout=15_000)
    expect(page.locator("#job-status audio")).to_have_count(2)
    # Screen readers hear the new stage from a live region that stays in place.
    expect(page.locator("#job-announcer")).to_have_text("Done")
    expect(page.locator("#job-status[aria-live]")).to_have_count(0)
    # The job's outcome is a notification: the top bar's badge counts it without a reload.
    expect(page.locator("#unread-count")).to_contain_text(str(unread + 1))

    page.goto("/library/")
    expect(page.locator("table.library tbody tr")).to_have_count(3)
    expect(page.locator("table.library")).to_contain_text("Sandbox")
    shot(page, "jobs_library")

    personal.refresh_from_db()
    assert personal.credit_balance == start - 12 - 2 - 12
    assert CreditEntry.objects.filter(workspace=personal, kind=EntryKind.CAPTURE).count() == 3
    assert credits.disagreements() == []


def test_refused_cover_says_not_charged(page, sandbox, tmp_path):
    cast = make_cast()
    log_in(page, "alice@example.org")
    start = cast.alice_personal.credit_balance
    clip = upload(page, tmp_path)
    page.goto(f"/clips/{clip.code}/cover/")
    page.get_by_label("Lyrics or idea").fill("a cover of a famous song [sandbox:413]")
    page.get_by_role("button", name="Make the cover").click()
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f-]+/$"), timeout=60_000)
    expect(page.locator("#job-status")).to_have_attribute("data-state", "failed")
    expect(page.get_by_role("alert")).to_contain_text("matches an existing copyrighted work")
    expect(page.locator(".refund")).to_contain_text("You were not charged")
    expect(page.locator("#credit-balance")).to_have_text(str(start))
    shot(page, "jobs_failed")
    job = CoverJob.objects.get()
    assert job.state == JobState.FAILED
    assert list(CreditEntry.objects.filter(job=job).values_list("kind", flat=True)
                .order_by("id")) == [EntryKind.HOLD, EntryKind.RELEASE]
