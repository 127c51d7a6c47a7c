"""The main flows with the keyboard only: Tab reaches each control with a visible focus ring,
Enter and Space activate; log in, switch workspace, upload, cover, compare A and B, rename a
clip, and the confirmation before deleting closes on Escape without deleting."""

import re

import pytest
from playwright.sync_api import expect

from covers.models import SourceClip
from tests.audio import make_tone
from tests.base import PASSWORD, make_cast
from tests.browser.test_cover_journey import shot


@pytest.fixture
def sandbox(transactional_db, provider_transport):
    return provider_transport


def tab_to(page, locator, limit=80):
    """Press Tab until `locator` has focus; fail if it never does. Checks the focus ring."""
    target = locator.element_handle()
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("el => document.activeElement === el", target):
            ring = page.evaluate(
                """el => ({visible: el.matches(':focus-visible'),
                           style: getComputedStyle(el).outlineStyle,
                           width: parseFloat(getComputedStyle(el).outlineWidth)})""",
                target,
            )
            assert ring["visible"] and ring["style"] != "none" and ring["width"] >= 2, ring
            return
    raise AssertionError(f"Tab never reached {locator}")


def test_keyboard_only(page, sandbox, tmp_path):
    make_cast()
    # Listening from the start: expect_file_chooser() subscribes asynchronously and can miss a
    # chooser opened right after it.
    choosers = []
    page.on("filechooser", lambda chooser: choosers.append(chooser))
    page.goto("/accounts/login/")
    expect(page.get_by_label("Email")).to_be_focused()  # the form starts there
    page.keyboard.type("alice@example.org")
    tab_to(page, page.get_by_label("Password"))
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/home/$"))

    # The first Tab offers the skip link; Enter moves to the content.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()

    # Workspace switcher: arrowing through the options changes nothing until Switch.
    tab_to(page, page.get_by_label("Current workspace"))
    page.keyboard.press("ArrowDown")
    page.wait_for_timeout(300)
    expect(page.locator("#credit-balance")).not_to_have_text("500")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Switch")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#credit-balance")).to_have_text("500")

    # Upload from the file chooser, opened with Enter.
    tab_to(page, page.get_by_role("link", name="Clips", exact=True))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/clips/$"))
    song = make_tone(tmp_path / "keys.mp3", 4.0, "mp3")
    tab_to(page, page.get_by_label("Audio file"))
    page.keyboard.press("Enter")
    for _ in range(100):
        if choosers:
            break
        page.wait_for_timeout(100)
    assert choosers, "Enter on the file field opened no file chooser"
    choosers[0].set_files(str(song))
    row = page.locator("#clip-rows tr").first
    expect(row).to_contain_text("keys.mp3")
    clip = SourceClip.objects.get()

    # Rename on the clip page: the disclosure opens with Enter.
    page.goto(f"/clips/{clip.code}/")
    tab_to(page, page.get_by_text("Rename", exact=True))
    page.keyboard.press("Enter")
    tab_to(page, page.get_by_label("Name"))
    page.keyboard.press("Control+A")
    page.keyboard.type("Keyboard take")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Keyboard take")

    # The cover form: type, tick a box with Space, submit with Enter on the button.
    tab_to(page, page.get_by_role("link", name="Make a cover"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="New cover")).to_be_visible()
    tab_to(page, page.get_by_label("Lyrics or idea"))
    page.keyboard.type("a gentle piano version")
    tab_to(page, page.get_by_label("Instrumental"))
    page.keyboard.press("Space")
    expect(page.get_by_label("Instrumental")).to_be_checked()
    page.keyboard.press("Space")
    expect(page.get_by_label("Instrumental")).not_to_be_checked()
    tab_to(page, page.get_by_role("button", name="Make the cover"))
    shot(page, "journey_keyboard_cover_form")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f-]+/$"), timeout=60_000)
    expect(page.locator("#job-status")).to_have_attribute("data-state", "succeeded")

    # A/B: Space starts both, Enter switches to B.
    tab_to(page, page.get_by_role("button", name="Play A and B in sync"))
    page.keyboard.press("Space")
    expect(page.get_by_role("button", name="Pause both")).to_be_focused()
    hear_b = page.get_by_role("button", name="Hear B")
    tab_to(page, hear_b)
    page.keyboard.press("Enter")
    expect(hear_b).to_have_attribute("aria-pressed", "true")
    shot(page, "journey_keyboard_ab")

    # Deleting asks first, in a modal dialog that holds the focus; Escape closes it and
    # nothing is deleted; Enter on its "Yes" deletes.
    page.goto("/clips/")
    delete = page.locator(f"#clip-{clip.code}").get_by_role("button", name="Delete")
    tab_to(page, delete)
    page.keyboard.press("Enter")
    confirm = page.get_by_role("dialog")
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text("Delete “Keyboard take” and its file?")
    expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()
    shot(page, "journey_keyboard_confirm")
    for _ in range(3):  # Tab cycles inside the dialog, never to the page behind it
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.closest('dialog') !== null")
    page.keyboard.press("Escape")
    expect(confirm).to_be_hidden()
    expect(page.locator(f"#clip-{clip.code}")).to_have_count(1)
    expect(delete).to_be_focused()  # focus goes back where it was
    page.keyboard.press("Enter")
    expect(confirm).to_be_visible()
    tab_to(page, confirm.get_by_role("button", name="Yes, go ahead"))
    page.keyboard.press("Enter")
    expect(page.locator(f"#clip-{clip.code}")).to_have_count(0)
