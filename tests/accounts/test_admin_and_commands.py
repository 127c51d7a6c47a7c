import csv
import io
import uuid

import pytest
from django.core.management import CommandError, call_command

from accounts import credits
from accounts.models import AuditLog, CreditEntry, EntryKind, User, Workspace

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, cast):
    staff = User.objects.create_superuser("ops@example.org", "an operator's long phrase")
    client.force_login(staff)
    client.staff = staff
    return client


def tamper(workspace, balance):
    Workspace.objects.filter(pk=workspace.pk).update(credit_balance=balance)


# The ledger in the admin ------------------------------------------------------------------

def test_ledger_is_read_only_in_the_admin(staff_client, cast):
    entry = cast.team.credit_entries.get()
    assert staff_client.get("/admin/accounts/creditentry/").status_code == 200
    assert staff_client.get("/admin/accounts/creditentry/add/").status_code == 403
    page = staff_client.get(f"/admin/accounts/creditentry/{entry.pk}/change/").content.decode()
    assert '<div class="readonly">Test credits</div>' in page
    assert 'name="amount"' not in page and 'name="_save"' not in page
    response = staff_client.post(f"/admin/accounts/creditentry/{entry.pk}/change/", {"amount": 1})
    assert response.status_code == 403
    assert staff_client.post(f"/admin/accounts/creditentry/{entry.pk}/delete/").status_code == 403
    entry.refresh_from_db()
    assert entry.amount == 500


def test_ledger_filters_and_search(staff_client, cast):
    credits.adjust(cast.team, -3, actor=cast.alice, reason="Returned a duplicate")
    url = "/admin/accounts/creditentry/"
    page = staff_client.get(url).content.decode()
    for title in ("By kind", "By created at", "By workspace", "By actor"):
        assert title in page
    page = staff_client.get(url, {"q": "Test credits"}).content.decode()
    assert "Alice&#x27;s Band" in page
    page = staff_client.get(url, {"q": str(cast.team.code)}).content.decode()
    assert "2 results" in page
    page = staff_client.get(url, {"q": "alice@example.org"}).content.decode()
    assert "Returned a duplicate" in page and "Test credits" not in page
    page = staff_client.get(url, {"actor__id__exact": cast.alice.pk}).content.decode()
    assert "Returned a duplicate" in page and "Test credits" not in page
    page = staff_client.get(url, {"q": f"starter:{cast.bob_personal.code}"}).content.decode()
    assert "1 result" in page


def test_ledger_names_personal_workspaces_by_their_owner(staff_client, cast):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = "/admin/accounts/creditentry/"
    with CaptureQueriesContext(connection) as few:
        page = staff_client.get(url).content.decode()
    for email in ("alice", "bob", "charlie"):  # the filter and the rows tell them apart
        assert page.count(f"Personal ({email}@example.org)") >= 2
    assert "Alice&#x27;s Band" in page and "Alice&#x27;s Band (" not in page
    page = staff_client.get(url, {"workspace__id__exact": cast.bob_personal.pk}).content.decode()
    assert "1 result" in page and "Personal (bob@example.org)" in page
    for _ in range(5):
        credits.grant(cast.charlie_personal, 1, note="More")
    with CaptureQueriesContext(connection) as more:
        staff_client.get(url)
    assert len(more) == len(few)  # no query per row


def test_ledger_csv_export_follows_the_filters(staff_client, cast):
    page = staff_client.get("/admin/accounts/creditentry/", {"kind__exact": "grant"}).content.decode()
    assert 'href="/admin/accounts/creditentry/export.csv?kind__exact=grant"' in page
    response = staff_client.get(
        "/admin/accounts/creditentry/export.csv", {"q": "Alice's Band"}
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:5] == ["created_at", "workspace", "workspace_code", "kind", "amount"]
    assert [(r[1], r[3], r[4]) for r in rows[1:]] == [("Alice's Band", "grant", "500")]
    response = staff_client.get("/admin/accounts/creditentry/export.csv")
    assert len(list(csv.reader(io.StringIO(response.content.decode())))) == 1 + 4


def test_ledger_admin_is_for_staff_only(alice_client, cast):
    response = alice_client.get("/admin/accounts/creditentry/export.csv")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


# Workspaces in the admin ------------------------------------------------------------------

def test_workspace_list_shows_balance_and_ledger_sum(staff_client, cast):
    page = staff_client.get("/admin/accounts/workspace/").content.decode()
    assert 'class="disagrees"' not in page
    for email in ("alice", "bob", "charlie"):  # whose each "Personal" workspace is
        assert f'<td class="field-owner">{email}@example.org</td>' in page
    tamper(cast.team, 7)
    page = staff_client.get("/admin/accounts/workspace/").content.decode()
    assert '<strong class="disagrees" style="color:#ba2121">500 (balance differs by -493)</strong>' in page
    page = staff_client.get("/admin/accounts/workspace/", {"q": "bob@example.org"}).content.decode()
    assert "2 workspaces" in page or "2 results" in page


def grant_action(client, workspaces, **data):
    return client.post("/admin/accounts/workspace/", {
        "action": "grant_or_adjust_credits",
        "_selected_action": [ws.pk for ws in workspaces],
        **data,
    })


def test_grant_action_asks_then_writes_an_attributed_entry(staff_client, cast):
    response = grant_action(staff_client, [cast.team])
    page = response.content.decode()
    assert response.status_code == 200 and 'name="amount"' in page and 'name="reason"' in page
    token = page.split('name="token" value="', 1)[1].split('"', 1)[0]

    response = grant_action(staff_client, [cast.team], apply="1", amount="", reason="", token=token)
    assert "This field is required." in response.content.decode()

    data = {"apply": "1", "amount": "25", "reason": "Goodwill after outage", "token": token}
    response = grant_action(staff_client, [cast.team], **data)
    assert response.status_code == 302
    grant_action(staff_client, [cast.team], **data)  # a double submit moves credits once
    cast.team.refresh_from_db()
    assert cast.team.credit_balance == 525
    entry = cast.team.credit_entries.first()
    assert (entry.kind, entry.amount, entry.actor, entry.note) == (
        EntryKind.GRANT, 25, staff_client.staff, "Goodwill after outage"
    )
    assert AuditLog.objects.filter(action="credits.grant", actor=staff_client.staff, workspace=cast.team).count() == 1


def test_negative_amount_is_an_adjustment_refused_when_too_low(staff_client, cast):
    data = {"apply": "1", "amount": "-200", "reason": "Chargeback", "token": uuid.uuid4().hex}
    response = grant_action(staff_client, [cast.team, cast.alice_personal], **data)
    cast.team.refresh_from_db()
    assert cast.team.credit_balance == 300
    assert cast.team.credit_entries.first().kind == EntryKind.ADJUSTMENT
    messages = [str(m) for m in response.wsgi_request._messages]
    assert "Personal: This needs 200 credits and the workspace has 100." in messages
    assert "-200 credits for 1 workspace." in messages


def test_admin_membership_edits_are_audited(staff_client, cast):
    m = cast.membership(cast.bob)
    response = staff_client.post(f"/admin/accounts/membership/{m.pk}/change/", {
        "user": cast.bob.pk, "workspace": cast.team.pk, "role": "viewer", "monthly_cap": "",
    })
    assert response.status_code == 302
    log = AuditLog.objects.get(action="admin.membership.change")
    assert log.actor == staff_client.staff and log.data == {"fields": ["role"]}


@pytest.mark.parametrize("url", [
    "/admin/accounts/user/", "/admin/accounts/workspace/", "/admin/accounts/membership/",
    "/admin/accounts/invitation/", "/admin/accounts/auditlog/", "/admin/accounts/user/add/",
])
def test_admin_pages_open(staff_client, cast, url):
    assert staff_client.get(url).status_code == 200


def test_admin_change_pages_open(staff_client, cast):
    assert staff_client.get(f"/admin/accounts/workspace/{cast.team.pk}/change/").status_code == 200
    assert staff_client.get(f"/admin/accounts/user/{cast.bob.pk}/change/").status_code == 200


# Reconciliation ---------------------------------------------------------------------------

def test_reconciliation_page(staff_client, cast):
    index = staff_client.get("/admin/").content.decode()
    assert 'href="/admin/accounts/creditentry/reconciliation/"' in index
    page = staff_client.get("/admin/accounts/creditentry/reconciliation/").content.decode()
    assert "All 4 workspaces reconcile" in page
    tamper(cast.team, 7)
    page = staff_client.get("/admin/accounts/creditentry/reconciliation/").content.decode()
    assert "1 of 4 workspaces has a balance" in page
    assert str(cast.team.code) in page and "<strong>-493</strong>" in page


def test_audit_credits_command(cast, capsys):
    call_command("audit_credits")
    assert capsys.readouterr().out == "All 4 workspaces reconcile.\n"
    tamper(cast.team, 7)
    with pytest.raises(SystemExit) as exit:
        call_command("audit_credits")
    assert exit.value.code == 1
    out = capsys.readouterr().out
    assert "1 of 4 workspaces disagree" in out
    assert f"{cast.team.code}  Alice's Band: balance 7, ledger 500, difference -493" in out


def test_grant_credits_command(cast, capsys):
    call_command("grant_credits", str(cast.team.code), "40", "--reason", "Prize")
    assert "balance now 540" in capsys.readouterr().out
    call_command("grant_credits", str(cast.team.code), "-15", "--reason", "Correction")
    kinds = list(cast.team.credit_entries.values_list("kind", "amount", "note")[:2])
    assert kinds == [("adjustment", -15, "Correction"), ("grant", 40, "Prize")]


def test_grant_credits_command_errors(cast):
    with pytest.raises(CommandError, match="No workspace has the code 'nope'"):
        call_command("grant_credits", "nope", "5", "--reason", "x")
    with pytest.raises(CommandError, match="No workspace has the code"):
        call_command("grant_credits", str(uuid.uuid4()), "5", "--reason", "x")
    with pytest.raises(CommandError, match="--reason"):
        call_command("grant_credits", str(cast.team.code), "5")
    with pytest.raises(CommandError, match="This needs 1000 credits and the workspace has 500"):
        call_command("grant_credits", str(cast.team.code), "-1000", "--reason", "x")
    with pytest.raises(CommandError, match="zero credits"):
        call_command("grant_credits", str(cast.team.code), "0", "--reason", "x")
    assert CreditEntry.objects.filter(workspace=cast.team).count() == 1
