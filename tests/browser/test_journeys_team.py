"""Working together: a teammate invited into Alice's Band switches to it, uploads, and makes a
cover paid from the team's balance, which Alice then finds in the team library; a viewer sees
the work but has no control that spends, and a hand-made POST is refused with a readable page."""

import re
import uuid

import pytest
from django.test import Client
from playwright.sync_api import expect

from accounts.models import Role
from covers.models import CoverJob, JobState, SourceClip
from tests.audio import make_tone
from tests.base import make_cast, set_role, use_workspace
from tests.browser.test_cover_journey import log_in, shot

NEW_PASSWORD = "a long and unusual pass phrase"


@pytest.fixture
def sandbox(transactional_db, provider_transport):
    return provider_transport


def switch_to(page, name):
    """Choose a workspace in the top bar's switcher, as a person would."""
    page.get_by_label("Current workspace").select_option(label=name)
    page.get_by_role("button", name="Switch").click()
    expect(page.get_by_label("Current workspace").locator("option:checked")).to_have_text(name)


def test_invited_teammate_works_in_the_team(page, browser, live_server, sandbox, settings,
                                            tmp_path):
    cast = make_cast(team_credits=300)
    settings.PUBLIC_BASE_URL = live_server.url
    log_in(page, "alice@example.org")
    page.goto(f"/workspaces/{cast.team.code}/")
    page.get_by_label("Email").fill("dana@example.org")
    page.get_by_label("Role", exact=True).select_option("member")
    page.get_by_role("button", name="Send invitation").click()
    link = page.get_by_label("Invitation link for dana@example.org").input_value()

    dana_context = browser.new_context(base_url=live_server.url,
                                       viewport={"width": 1280, "height": 900})
    dana_context.set_default_timeout(15_000)
    try:
        dana = dana_context.new_page()
        dana.goto(link)
        dana.get_by_role("link", name="Sign up to accept").click()
        dana.get_by_label("Password").fill(NEW_PASSWORD)
        dana.get_by_role("button", name="Sign up").click()
        dana.get_by_role("button", name="Accept and join").click()
        expect(dana.get_by_text("Welcome to Alice's Band.")).to_be_visible()

        # Dana looks at her own workspace first, then switches to the band to work there.
        switch_to(dana, "Personal")
        personal_balance = int(dana.locator("#credit-balance").inner_text())
        switch_to(dana, "Alice's Band")
        expect(dana.locator("#credit-balance")).to_have_text("300")

        dana.get_by_role("link", name="Clips", exact=True).click()
        expect(dana.get_by_text("in Alice's Band")).to_be_visible()
        song = make_tone(tmp_path / "band demo.mp3", 4.0, "mp3")
        dana.get_by_label("Audio file").set_input_files(str(song))
        row = dana.locator("#clip-rows tr").first
        expect(row).to_contain_text("band demo.mp3")
        expect(row).to_contain_text("dana@example.org")
        row.get_by_role("link", name="Cover").click()
        expect(dana.get_by_text("of 300 in Alice's Band")).to_be_visible()
        dana.get_by_label("Lyrics or idea").fill("the band demo as a slow soul ballad")
        dana.get_by_role("button", name="Make the cover").click()
        expect(dana).to_have_url(re.compile(r"/jobs/[0-9a-f-]+/$"), timeout=60_000)
        expect(dana.locator("#job-status")).to_have_attribute("data-state", "succeeded")
        expect(dana.get_by_text("Cost: 12 credits")).to_be_visible()
        expect(dana.locator("#credit-balance")).to_have_text("288")
        shot(dana, "journey_teammate_cover")
        switch_to(dana, "Personal")
        expect(dana.locator("#credit-balance")).to_have_text(str(personal_balance))
    finally:
        dana_context.close()

    # Alice finds it in the band's library, with who ran it.
    page.goto("/library/")
    switch_to(page, "Alice's Band")
    expect(page.locator("#credit-balance")).to_have_text("288")
    rows = page.locator("table.library tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Cover of band demo.mp3")
    expect(rows.first.locator("td").nth(3)).to_have_text("dana@example.org")
    page.get_by_label("Member").select_option(label="dana@example.org")
    expect(page).to_have_url(re.compile(r"member="))
    expect(rows).to_have_count(1)
    page.get_by_label("Member").select_option(label="alice@example.org")
    expect(page.get_by_text("No job matches these filters.")).to_be_visible()
    shot(page, "journey_team_library")

    job = CoverJob.objects.get()
    assert job.workspace == cast.team and job.created_by.email == "dana@example.org"
    assert job.state == JobState.SUCCEEDED and job.credits_charged == 12


def team_work(cast, tmp_path):
    """A clip and a finished cover in the band, made by Alice through the app."""
    client = Client()
    client.force_login(cast.alice)
    use_workspace(client, cast.team)
    with make_tone(tmp_path / "band take.mp3", 4.0, "mp3").open("rb") as f:
        assert client.post("/clips/upload/", {"file": f}).status_code in (200, 302)
    clip = SourceClip.objects.get()
    response = client.post(f"/clips/{clip.code}/cover/", {
        "idempotency_key": uuid.uuid4().hex, "provider": "apikley", "model": "V5",
        "prompt": "a bright pop version"})
    assert response.status_code == 302
    job = CoverJob.objects.get()
    assert job.state == JobState.SUCCEEDED, job.error_message
    return clip, job


def post_from_page(page, url):
    """Submit a POST to `url` from the page with its CSRF token, as a hand-made form would."""
    page.evaluate(
        """url => {
            const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken'];
            const form = document.createElement('form');
            form.method = 'post';
            form.action = url;
            for (const [name, value] of [['csrfmiddlewaretoken', token], ['idempotency_key', 'x1'],
                                         ['provider', 'apikley'], ['model', 'V5'],
                                         ['prompt', 'sneaking in a cover']]) {
                const input = document.createElement('input');
                input.type = 'hidden'; input.name = name; input.value = value;
                form.appendChild(input);
            }
            document.body.appendChild(form);
            form.submit();
        }""",
        url,
    )


def test_viewer_sees_the_work_but_cannot_spend(page, sandbox, tmp_path):
    cast = make_cast()
    clip, job = team_work(cast, tmp_path)
    set_role(cast.bob, cast.team, Role.VIEWER)
    cast.team.refresh_from_db()
    balance = cast.team.credit_balance

    log_in(page, "bob@example.org")
    page.goto("/clips/")
    switch_to(page, "Alice's Band")
    expect(page.locator("#clip-rows tr")).to_have_count(1)
    expect(page.get_by_label("Audio file")).to_have_count(0)
    expect(page.get_by_role("button", name="Upload")).to_have_count(0)
    row = page.locator("#clip-rows tr").first
    expect(row.get_by_role("link", name="Cover")).to_have_count(0)
    expect(row.get_by_role("button", name="Delete")).to_have_count(0)
    shot(page, "journey_viewer_clips")

    page.goto(f"/clips/{clip.code}/")
    expect(page.get_by_role("link", name="Make a cover")).to_have_count(0)
    page.goto("/library/")
    expect(page.get_by_role("link", name="Cover a clip")).to_have_count(0)
    page.get_by_role("link", name=re.compile("Cover of band take")).click()
    expect(page.locator("#job-status")).to_have_attribute("data-state", "succeeded")
    expect(page.locator("#job-status audio")).to_have_count(2)  # viewers may listen
    expect(page.get_by_role("button", name=re.compile("Make cover art"))).to_have_count(0)
    expect(page.get_by_role("link", name="Cover this track")).to_have_count(0)
    shot(page, "journey_viewer_job")

    for url in (f"/clips/{clip.code}/cover/", f"/jobs/{job.code}/art/"):
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            post_from_page(page, url)
        assert answer.value.status == 403, url
        expect(page.get_by_role("heading", level=1)).to_have_text("You can't do that here")
        expect(page.get_by_text("This needs the member role in Alice's Band.")).to_be_visible()
        expect(page.locator("#credit-balance")).to_have_text(str(balance))
    shot(page, "journey_viewer_refused")

    assert CoverJob.objects.count() == 1
    cast.team.refresh_from_db()
    assert cast.team.credit_balance == balance
