"""Alice starts a team and brings Bob in through an invitation link; both share one balance."""

import json
import re

from django.core import mail
from playwright.sync_api import expect

from accounts import credits
from accounts.models import Membership, Workspace
from tests.browser.conftest import ARTIFACTS

PASSWORD = "a long and unusual pass phrase"


def sign_up(page, email):
    page.goto("/accounts/signup/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()


def test_team_journey(page, browser, live_server, settings):
    settings.PUBLIC_BASE_URL = live_server.url
    sign_up(page, "alice@example.org")
    expect(page).to_have_url(re.compile(r"/home/$"))

    page.get_by_role("link", name="Workspaces").click()
    page.get_by_label("Workspace name").fill("Alice's Band")
    page.get_by_role("button", name="Create workspace").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Alice's Band")
    team = Workspace.objects.get(name="Alice's Band")
    expect(page).to_have_url(re.compile(rf"/workspaces/{team.code}/$"))

    page.get_by_label("Email").fill("bob@example.org")
    page.get_by_label("Role").select_option("member")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invitation sent to bob@example.org")).to_be_visible()
    link_field = page.get_by_label("Invitation link for bob@example.org")
    invite_link = link_field.input_value()
    assert re.fullmatch(rf"{live_server.url}/invitations/\S+/", invite_link)
    assert invite_link in mail.outbox[-1].body and mail.outbox[-1].to == ["bob@example.org"]
    page.get_by_role("button", name="Copy link").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()

    credits.grant(team, 250, note="Team credits")

    # Bob has no account: the link leads him through sign-up and back to accept.
    bob_context = browser.new_context(base_url=live_server.url)
    try:
        bob = bob_context.new_page()
        bob.goto(invite_link)
        expect(bob.get_by_role("heading", level=1)).to_have_text("Join Alice's Band")
        bob.get_by_role("link", name="Sign up to accept").click()
        expect(bob.get_by_label("Email")).to_have_value("bob@example.org")
        bob.get_by_label("Password").fill(PASSWORD)
        bob.get_by_role("button", name="Sign up").click()
        bob.get_by_role("button", name="Accept and join").click()
        expect(bob).to_have_url(re.compile(rf"/workspaces/{team.code}/$"))
        expect(bob.get_by_text("Welcome to Alice's Band.")).to_be_visible()
        expect(bob.locator("#credit-balance")).to_have_text("250")
        expect(bob.get_by_label("Current workspace")).to_have_value(str(team.code))
        ARTIFACTS.mkdir(exist_ok=True)
        bob.screenshot(path=str(ARTIFACTS / "test_team_journey_bob.png"), full_page=True)
    finally:
        bob_context.close()

    assert Membership.objects.get(workspace=team, user__email="bob@example.org").role == "member"
    page.reload()
    expect(page.locator("#credit-balance")).to_have_text("250")
    expect(page.get_by_role("cell", name="bob@example.org", exact=True)).to_be_visible()


def test_healthz_answers_in_the_browser(page):
    page.goto("/healthz")
    body = json.loads(page.locator("body").inner_text())
    assert body == {"status": "ok", "checks": {"database": "ok", "broker": "ok", "storage": "ok"}}
