import re

from playwright.sync_api import expect


def test_sign_up_lands_on_home_with_starter_credits(page, settings):
    page.goto("/accounts/signup/")
    page.get_by_label("Email").fill("dana@example.org")
    page.get_by_label("Password").fill("a long and unusual pass phrase")
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(re.compile(r"/home/$"))
    expect(page.locator("#credit-balance")).to_have_text(str(settings.STARTER_CREDITS))
    # The sandbox banner says so in one line; how to use a real provider opens on demand.
    banner = page.locator(".sandbox-banner")
    expect(banner).to_contain_text("Sandbox mode.")
    settings_link = banner.get_by_role("link", name="workspace settings")
    expect(settings_link).to_be_hidden()
    banner.get_by_text("How to use a real provider").click()
    expect(settings_link).to_be_visible()
