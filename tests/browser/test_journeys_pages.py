"""Every main page, signed in and with something on it, at phone and desktop widths: axe-core
finds no serious or critical violation, nothing scrolls sideways on a phone, and no raw
template syntax reaches the page. Each page leaves a screenshot per width to look at."""

import re

import pytest
from playwright.sync_api import expect

from covers.models import CoverJob, JobState
from tests.base import make_cast
from tests.browser.a11y import axe_violations
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_cover_journey import log_in, upload

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
RAW_TEMPLATE = re.compile(r"\{\{|\{%|%\}|\}\}|\{#")


@pytest.fixture
def sandbox(transactional_db, provider_transport):
    return provider_transport


def make_cover(page, clip, prompt):
    page.goto(f"/clips/{clip.code}/cover/")
    page.get_by_label("Lyrics or idea").fill(prompt)
    page.get_by_role("button", name="Make the cover").click()
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f-]+/$"), timeout=60_000)
    return CoverJob.objects.get(code=page.url.rstrip("/").rsplit("/", 1)[1])


def check_page(page, name):
    """The checks every main page passes, at the width the page is at now: a list of what is
    wrong (empty when nothing is), so one run reports every page."""
    problems = []
    text = page.locator("body").inner_text()
    raw = RAW_TEMPLATE.search(text)
    if raw:
        problems.append(f"{page.url}: raw template text near "
                        f"{text[max(raw.start() - 40, 0):raw.end() + 40]!r}")
    problems += [f"{page.url} at {page.viewport_size['width']}px: {v}" for v in axe_violations(page)]
    width = page.viewport_size["width"]
    overflow = page.evaluate(
        """() => {
            const doc = document.documentElement;
            if (doc.scrollWidth <= window.innerWidth) return null;
            // Name the widest culprits, so a failure says what to fix.
            return [doc.scrollWidth, [...document.querySelectorAll('body *')]
                .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1)
                .filter(el => !el.closest('.table-wrap'))
                .slice(0, 5).map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
                    + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().replace(/\\s+/g, '.') : ''))];
        }"""
    )
    if overflow:
        problems.append(f"{page.url} at {width}px scrolls sideways: {overflow}")
    if width <= 600:
        # On a phone tables become cards (table.stack): none may hide columns off to the side.
        hidden = page.evaluate(
            """() => [...document.querySelectorAll('.table-wrap')]
                .filter(el => el.scrollWidth > el.clientWidth + 1)
                .map(el => el.querySelector('table')?.className || el.id || 'table-wrap')"""
        )
        if hidden:
            problems.append(f"{page.url} at {width}px: a table scrolls sideways: {hidden}")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"page-{name}-{width}.png"), full_page=True)
    return problems


def check_pages(page, pages, suffix=""):
    problems = []
    for name, path in pages.items():
        page.goto(path)
        expect(page.get_by_role("heading", level=1).first).to_be_visible()
        problems += check_page(page, name + suffix)
    return problems


def test_main_pages_at_phone_and_desktop(page, sandbox, tmp_path):
    cast = make_cast()
    log_in(page, "alice@example.org")
    clip = upload(page, tmp_path)
    done = make_cover(page, clip, "a dreamy lofi take with soft keys")
    expect(page.locator("#job-status")).to_have_attribute("data-state", "succeeded")
    failed = make_cover(page, clip, "a famous song [sandbox:413]")
    expect(page.locator("#job-status")).to_have_attribute("data-state", "failed")
    running = make_cover(page, clip, "callbacks never arrive [sandbox:lost]")
    expect(page.locator("#job-status")).to_have_attribute("data-state", "submitted")
    assert {done.state, failed.state} == {JobState.SUCCEEDED, JobState.FAILED}

    pages = {
        "home": "/home/",
        "library": "/library/",
        "library-filtered": f"/library/?state=succeeded&member={cast.alice.pk}",
        "clips": "/clips/",
        "clip": f"/clips/{clip.code}/",
        "trim": f"/clips/{clip.code}/trim/",
        "cover-form": f"/clips/{clip.code}/cover/",
        "job-running": f"/jobs/{running.code}/",
        "job-done": f"/jobs/{done.code}/",
        "job-failed": f"/jobs/{failed.code}/",
        "import": "/covers/import/",
        "workspaces": "/workspaces/",
        "workspace-settings": f"/workspaces/{cast.team.code}/",
        "credits": f"/workspaces/{cast.alice_personal.code}/credits/",
        "profile": "/accounts/profile/",
        "notifications": "/notifications/",
        "password-change": "/accounts/password/change/",
        "not-found": "/jobs/00000000-0000-0000-0000-000000000000/",
    }
    problems = []
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        problems += check_pages(page, pages)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_public_pages_at_phone_width(page, scheme):
    page.emulate_media(color_scheme=scheme)
    page.set_viewport_size(PHONE)
    problems = check_pages(page, {"landing": "/", "signup": "/accounts/signup/",
                        "login": "/accounts/login/"}, suffix=f"-{scheme}")
    assert not problems, "\n".join(problems)


def test_signed_in_pages_in_dark_mode(page, sandbox, tmp_path):
    cast = make_cast()
    page.emulate_media(color_scheme="dark")
    log_in(page, "alice@example.org")
    clip = upload(page, tmp_path)
    done = make_cover(page, clip, "a dreamy lofi take")
    expect(page.locator("#job-status")).to_have_attribute("data-state", "succeeded")
    problems = check_pages(page, {
        "library": "/library/", "clips": "/clips/", "cover-form": f"/clips/{clip.code}/cover/",
        "job-done": f"/jobs/{done.code}/", "workspace-settings": f"/workspaces/{cast.team.code}/",
        "credits": f"/workspaces/{cast.alice_personal.code}/credits/",
    }, suffix="-dark")
    assert not problems, "\n".join(problems)
