"""An operator audits credits in /admin/: filters the read-only ledger, exports it as CSV, grants
a team credits with a reason, checks the reconciliation page, and the team sees the credits."""

import csv
import io
import re

from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from accounts import credits
from accounts.models import AuditLog, CreditEntry, EntryKind
from tests.base import PASSWORD, make_cast
from tests.browser.test_cover_journey import log_in, shot


def test_operator_audits_and_grants_credits(page, browser, live_server, transactional_db):
    cast = make_cast(team_credits=500)
    credits.adjust(cast.team, -20, actor=cast.alice, reason="Refund of a duplicate top-up")
    get_user_model().objects.create_superuser("ops@example.org", PASSWORD)

    page.goto("/admin/")
    page.get_by_label("Email").fill("ops@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name="Credit entries")).to_be_visible()

    # The ledger: read-only, filtered by kind and workspace.
    page.get_by_role("link", name="Credit entries").click()
    expect(page.get_by_role("link", name=re.compile("Add credit entry"))).to_have_count(0)
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(CreditEntry.objects.count())
    filters = page.locator("#changelist-filter")
    filters.get_by_role("link", name="Grant", exact=True).click()
    expect(page).to_have_url(re.compile(r"kind__exact=grant"))
    expect(rows).to_have_count(CreditEntry.objects.filter(kind=EntryKind.GRANT).count())
    filters.get_by_role("link", name="Alice's Band", exact=True).click()
    expect(page).to_have_url(re.compile(rf"workspace__id__exact={cast.team.pk}"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Test credits")
    shot(page, "journey_admin_ledger")
    rows.first.locator("th a, td a").first.click()
    expect(page.get_by_role("button", name=re.compile("Save"))).to_have_count(0)
    expect(page.get_by_role("link", name=re.compile("Delete"))).to_have_count(0)
    page.go_back()

    # Export what is on screen.
    with page.expect_download() as download:
        page.get_by_role("link", name="Export these entries as CSV").click()
    table = list(csv.reader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    assert table[0][:5] == ["created_at", "workspace", "workspace_code", "kind", "amount"]
    assert [(r[1], r[3], r[4]) for r in table[1:]] == [("Alice's Band", "grant", "500")]

    # Grant the band 40 credits with a reason.
    page.goto("/admin/accounts/workspace/")
    page.get_by_role("row", name=re.compile("Alice's Band")).get_by_role("checkbox").check()
    page.get_by_label("Action:").select_option(label="Grant or adjust credits")
    page.locator("button[name=index]").click()
    expect(page.get_by_role("heading", name="Grant or adjust credits")).to_be_visible()
    page.get_by_label("Amount").fill("40")
    page.get_by_label("Reason").fill("Prize for the spring contest")
    shot(page, "journey_admin_grant_form")
    page.get_by_role("button", name="Apply to 1 workspace").click()
    expect(page.get_by_text("+40 credits for 1 workspace.")).to_be_visible()

    # Reconciliation is clean.
    page.goto("/admin/accounts/creditentry/")
    page.get_by_role("link", name="Reconciliation").click()
    expect(page.get_by_text(re.compile(r"All \d+ workspaces reconcile"))).to_be_visible()
    shot(page, "journey_admin_reconciliation")

    grant = CreditEntry.objects.filter(workspace=cast.team).latest("id")
    assert (grant.kind, grant.amount, grant.note, grant.actor.email) == (
        EntryKind.GRANT, 40, "Prize for the spring contest", "ops@example.org")
    assert AuditLog.objects.filter(workspace=cast.team, actor=grant.actor).exists()

    # The band sees it in the app.
    alice_context = browser.new_context(base_url=live_server.url)
    try:
        alice = alice_context.new_page()
        log_in(alice, "alice@example.org")
        alice.get_by_label("Current workspace").select_option(label="Alice's Band")
        alice.get_by_role("button", name="Switch").click()
        expect(alice.locator("#credit-balance")).to_have_text(str(500 - 20 + 40))
        alice.locator("#credit-balance").click()
        expect(alice.get_by_role("region", name="Credit history").locator("tbody tr").first
               ).to_contain_text("Prize for the spring contest")
    finally:
        alice_context.close()
