import csv
import io
import uuid

import pytest

from accounts import credits
from accounts.models import CreditEntry, EntryKind

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def ledger(cast):
    """The team's grant of 500, then bob's and alice's jobs."""
    h = credits.hold(cast.team, 30, member=cast.bob, idempotency_key="bob-1", note="Bob's cover")
    credits.capture(h)
    h = credits.hold(cast.team, 20, member=cast.alice, idempotency_key="alice-1")
    credits.release(h, note="provider failed")
    credits.adjust(cast.team, -5, actor=cast.alice, reason="=HYPERLINK(\"x\")")
    return cast


def test_credits_page_lists_the_ledger(bob_client, ledger):
    page = bob_client.get(f"/workspaces/{ledger.team.code}/credits/").content.decode()
    assert "Balance: <strong>465</strong>" in page
    assert page.count("<tr>") == 1 + 6
    assert "Bob&#x27;s cover" in page and "provider failed" in page


def test_filter_by_member_and_kind(alice_client, ledger):
    bob = ledger.membership(ledger.bob)
    url = f"/workspaces/{ledger.team.code}/credits/"
    page = alice_client.get(url, {"member": str(bob.code)}).content.decode()
    assert page.count("<tr>") == 1 + 2 and "2 entries match the filter" in page
    page = alice_client.get(url, {"kind": "release"}).content.decode()
    assert page.count("<tr>") == 1 + 1 and "provider failed" in page
    page = alice_client.get(url, {"member": str(bob.code), "kind": "release"}).content.decode()
    assert "No entries match this filter." in page


def test_filter_ignores_someone_elses_member_code(alice_client, ledger):
    outsider = ledger.membership(ledger.charlie, ledger.charlie_personal)
    page = alice_client.get(
        f"/workspaces/{ledger.team.code}/credits/", {"member": str(outsider.code)}
    ).content.decode()
    assert "Select a valid choice" in page


def test_htmx_gets_the_ledger_partial(alice_client, ledger):
    response = alice_client.get(f"/workspaces/{ledger.team.code}/credits/", {"kind": "hold"}, **HX)
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="ledger"') and "<html" not in body
    assert "HX-Request" in response["Vary"]


def test_pagination_keeps_the_filter(alice_client, cast):
    for i in range(55):
        credits.grant(cast.team, 1, note=f"gift {i}")
    url = f"/workspaces/{cast.team.code}/credits/"
    page = alice_client.get(url, {"kind": "grant"}).content.decode()
    assert "Page 1 of 2" in page and 'href="?kind=grant&amp;page=2"' in page
    page = alice_client.get(url, {"kind": "grant", "page": 2}).content.decode()
    assert page.count("<tr>") == 1 + 6 and "Test credits" in page


def test_csv_export_of_the_filtered_rows(alice_client, ledger):
    bob = ledger.membership(ledger.bob)
    response = alice_client.get(
        f"/workspaces/{ledger.team.code}/credits.csv", {"member": str(bob.code)}
    )
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="coverlab-credits-alices-band-' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["when", "kind", "amount", "balance_after", "actor", "member", "job", "note"]
    assert [(r[1], r[2], r[5]) for r in rows[1:]] == [
        ("capture", "0", "bob@example.org"), ("hold", "-30", "bob@example.org"),
    ]


def test_csv_export_defuses_formulas(alice_client, ledger):
    response = alice_client.get(f"/workspaces/{ledger.team.code}/credits.csv", {"kind": "adjustment"})
    [row] = list(csv.reader(io.StringIO(response.content.decode())))[1:]
    assert row[2] == "-5" and row[7] == "'=HYPERLINK(\"x\")"


def test_credits_are_private_to_the_workspace(charlie_client, cast):
    assert charlie_client.get(f"/workspaces/{cast.team.code}/credits/").status_code == 404
    assert charlie_client.get(f"/workspaces/{cast.team.code}/credits.csv").status_code == 404
    assert charlie_client.get(f"/workspaces/{uuid.uuid4()}/credits/").status_code == 404


def test_empty_ledger(alice_client, cast):
    from accounts import services

    ws = services.create_workspace(cast.alice, "Empty")
    page = alice_client.get(f"/workspaces/{ws.code}/credits/").content.decode()
    assert "No credits have moved yet." in page
    assert not CreditEntry.objects.filter(workspace=ws, kind=EntryKind.GRANT).exists()
