"""After a cover: listen and compare A and B in sync, make cover art from the job page, and a
cover the provider's worker refuses, with the credits back."""

import re

import pytest
from playwright.sync_api import expect

from accounts import credits
from accounts.models import CreditEntry, EntryKind
from covers.models import CoverJob, JobKind, JobState
from tests.base import make_cast
from tests.browser.test_cover_journey import log_in, shot, upload


@pytest.fixture
def sandbox(transactional_db, provider_transport):
    return provider_transport


def finished_cover(page, tmp_path):
    clip = upload(page, tmp_path)
    page.locator(f"#clip-{clip.code}").get_by_role("link", name="Cover").click()
    expect(page.get_by_role("heading", name="New cover")).to_be_visible()
    page.get_by_label("Lyrics or idea").fill("a dreamy lofi take with soft keys")
    page.get_by_role("button", name="Make the cover").click()
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f-]+/$"), timeout=60_000)
    expect(page.locator("#job-status")).to_have_attribute("data-state", "succeeded")
    return CoverJob.objects.get(kind=JobKind.UPLOAD_COVER)


def times(page):
    return page.evaluate(
        "() => [...document.querySelectorAll('[data-ab-player]')].map(p => "
        "({t: p.currentTime, paused: p.paused, muted: p.muted}))"
    )


def test_listen_and_compare_a_and_b(page, sandbox, tmp_path):
    make_cast()
    log_in(page, "alice@example.org")
    finished_cover(page, tmp_path)
    players = page.locator("[data-ab-player]")
    expect(players).to_have_count(2)
    for i in range(2):
        players.nth(i).evaluate("el => { el.preload = 'auto'; el.load(); }")
        page.wait_for_function("el => el.readyState >= 2 && el.duration > 3",
                               arg=players.nth(i).element_handle())
    hear_a = page.get_by_role("button", name="Hear A")
    hear_b = page.get_by_role("button", name="Hear B")

    page.get_by_role("button", name="Play A and B in sync").click()
    expect(page.get_by_role("button", name="Pause both")).to_be_visible()
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-ab-player]')]"
        ".every(p => !p.paused && p.currentTime > 0.3)"
    )
    a, b = times(page)
    assert abs(a["t"] - b["t"]) < 0.5, (a, b)
    assert (a["muted"], b["muted"]) == (False, True)
    expect(hear_a).to_have_attribute("aria-pressed", "true")
    shot(page, "journey_ab_playing")

    # Hearing B: A goes quiet, both keep playing from the same place.
    hear_b.click()
    expect(hear_b).to_have_attribute("aria-pressed", "true")
    expect(hear_a).to_have_attribute("aria-pressed", "false")
    a2, b2 = times(page)
    assert (a2["muted"], b2["muted"]) == (True, False)
    assert not a2["paused"] and not b2["paused"]
    assert b2["t"] >= b["t"] and abs(a2["t"] - b2["t"]) < 0.5, (a2, b2)

    # Paused and moved to 1.5 s on A, B follows; switching keeps that position exactly.
    page.get_by_role("button", name="Pause both").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-ab-player]')].every(p => p.paused)"
    )
    players.nth(0).evaluate("el => { el.currentTime = 1.5; }")
    page.wait_for_function(
        "() => { const [a, b] = document.querySelectorAll('[data-ab-player]');"
        " return Math.abs(b.currentTime - 1.5) < 0.05 && Math.abs(a.currentTime - 1.5) < 0.05; }"
    )
    hear_a.click()
    a3, b3 = times(page)
    assert (a3["muted"], b3["muted"]) == (False, True)
    assert abs(a3["t"] - 1.5) < 0.05 and abs(b3["t"] - 1.5) < 0.05, (a3, b3)
    shot(page, "journey_ab_switched")


def test_cover_art_from_the_job_page(page, sandbox, tmp_path):
    cast = make_cast()
    log_in(page, "alice@example.org")
    job = finished_cover(page, tmp_path)
    before = int(page.locator("#credit-balance").inner_text())

    page.get_by_role("button", name="Make cover art (2 credits)").click()
    expect(page.get_by_text(re.compile(r"^Cover art for"))).to_be_visible()
    status = page.locator("#job-status")
    expect(status).to_have_attribute("data-state", "succeeded")
    images = page.locator(".art-images img")
    expect(images).to_have_count(2)
    expect(page.get_by_role("link", name=re.compile(r"Download image \d"))).to_have_count(2)
    for i in range(2):
        img = images.nth(i)
        expect(img).to_have_attribute("alt", f"Cover art {i + 1}")
        page.wait_for_function("el => el.complete && el.naturalWidth > 0", arg=img.element_handle())
        src = img.get_attribute("src")
        # Served from our storage through a signed link, not the provider's URL.
        assert "/sandbox/" not in src, src
        assert re.match(r"^/files/[^/]+/$", src) or "X-Amz-Signature=" in src, src
        response = page.request.get(src)
        assert response.ok and response.headers["content-type"] == "image/png"
    expect(page.locator("#credit-balance")).to_have_text(str(before - 2))
    shot(page, "journey_cover_art")

    # Back on the cover, the button now opens the art instead of making more.
    page.goto(f"/jobs/{job.code}/")
    page.get_by_role("link", name="Open the cover art").click()
    expect(page.locator(".art-images img")).to_have_count(2)
    art = CoverJob.objects.get(kind=JobKind.COVER_ART)
    assert art.parent_job_id == job.pk and art.credits_charged == 2
    assert sorted(i.image.name.split("/")[:3] for i in art.images.all()) == [
        ["workspaces", str(cast.alice_personal.code), "art"]] * 2


def test_refused_at_the_worker_gives_the_credits_back(page, sandbox, tmp_path):
    cast = make_cast()
    log_in(page, "alice@example.org")
    start = cast.alice_personal.credit_balance
    clip = upload(page, tmp_path)
    page.goto(f"/clips/{clip.code}/")
    page.get_by_role("link", name="Make a cover").click()
    page.get_by_label("Custom mode").check()
    page.get_by_label("Title").fill("Famous song")
    page.get_by_label("Style", exact=True).fill("synthwave [sandbox:413]")
    page.get_by_label("Lyrics or idea").fill("la la la")
    page.get_by_role("button", name="Make the cover").click()
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f-]+/$"), timeout=60_000)

    expect(page.locator("#job-status")).to_have_attribute("data-state", "failed")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("matches an existing copyrighted work")
    expect(alert).to_contain_text("You were not charged")
    expect(page.get_by_text("Cost: 0 credits")).to_be_visible()
    expect(page.locator(".stage-failed")).to_have_text("Failed")
    expect(page.locator("#credit-balance")).to_have_text(str(start))
    shot(page, "journey_refused_refund")

    page.get_by_role("link", name="Library").first.click()
    row = page.locator("table.library tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Failed")
    expect(row).to_contain_text("(not charged)")
    page.locator("#credit-balance").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Credits")
    expect(page.get_by_role("region", name="Credit history")).to_contain_text("Job failed (413)")

    job = CoverJob.objects.get()
    assert job.state == JobState.FAILED and job.error_code == "413" and job.style.startswith("synth")
    assert list(CreditEntry.objects.filter(job=job).order_by("id")
                .values_list("kind", "amount")) == [(EntryKind.HOLD, -12), (EntryKind.RELEASE, 12)]
    assert credits.disagreements() == []

    # Try again: the form comes back filled in; fixing what the error named makes the cover.
    page.goto(f"/jobs/{job.code}/")
    page.get_by_role("link", name="Try again with these settings").click()
    expect(page.get_by_label("Custom mode")).to_be_checked()
    expect(page.get_by_label("Title")).to_have_value("Famous song")
    expect(page.get_by_label("Lyrics or idea")).to_have_value("la la la")
    style = page.get_by_label("Style", exact=True)
    expect(style).to_have_value("synthwave [sandbox:413]")
    style.fill("synthwave, my own song")
    page.get_by_role("button", name="Make the cover").click()
    expect(page.locator("#job-status")).to_have_attribute("data-state", "succeeded",
                                                          timeout=30_000)
    expect(page.locator("#credit-balance")).to_have_text(str(start - 12))

    # The failed attempt is no use now: delete it (after a confirmation) from its page.
    page.goto(f"/jobs/{job.code}/")
    page.get_by_role("button", name="Delete this job").click()
    page.get_by_role("dialog").get_by_role("button", name="Yes, go ahead").click()
    expect(page).to_have_url(re.compile(r"/library/$"))
    expect(page.get_by_text("and its files.")).to_be_visible()
    rows = page.locator("table.library tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Done")
    expect(page.locator("#credit-balance")).to_have_text(str(start - 12))
