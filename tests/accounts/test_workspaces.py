import uuid

import pytest

from accounts import credits
from accounts.models import AuditLog, Invitation, Membership, Role, Workspace
from tests.base import set_role

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def bob_member(cast):
    return cast.membership(cast.bob)


def alice_member(cast):
    return cast.membership(cast.alice)


def pending_invitation(cast, email="dana@example.org"):
    from accounts import services

    return services.invite(alice_member(cast), email, Role.MEMBER)


# Every state-changing view on a workspace: (url, POST data, the role it needs).
def changes(cast):
    team, bob = cast.team, bob_member(cast)
    invitation = pending_invitation(cast)
    return [
        (f"/workspaces/{team.code}/rename/", {"name": "The Band"}, Role.ADMIN),
        (f"/workspaces/{team.code}/invitations/", {"email": "x@example.org", "role": "member"}, Role.ADMIN),
        (f"/workspaces/{team.code}/invitations/{invitation.code}/resend/", {}, Role.ADMIN),
        (f"/workspaces/{team.code}/invitations/{invitation.code}/revoke/", {}, Role.ADMIN),
        (f"/workspaces/{team.code}/members/{bob.code}/role/", {f"{bob.code}-role": "viewer"}, Role.ADMIN),
        (f"/workspaces/{team.code}/members/{bob.code}/cap/", {f"{bob.code}-monthly_cap": "9"}, Role.ADMIN),
        (f"/workspaces/{team.code}/members/{bob.code}/remove/", {}, Role.ADMIN),
        (f"/workspaces/{team.code}/members/{bob.code}/transfer/", {}, Role.OWNER),
        (f"/workspaces/{team.code}/leave/", {}, Role.VIEWER),
    ]


@pytest.fixture
def audit_count(db):
    return lambda: AuditLog.objects.count()


def test_every_change_refuses_get(alice_client, cast):
    for url, _, _ in changes(cast):
        assert alice_client.get(url).status_code == 405, url


def test_every_change_is_404_for_an_outsider(charlie_client, cast):
    for url, data, _ in changes(cast):
        assert charlie_client.post(url, data).status_code == 404, url


def test_every_change_is_404_for_a_bad_workspace_code(alice_client, cast):
    for url, data, _ in changes(cast):
        bad = url.replace(str(cast.team.code), str(uuid.uuid4()))
        assert alice_client.post(bad, data).status_code == 404, bad
        assert alice_client.post(url.replace(str(cast.team.code), "not-a-code"), data).status_code == 404


def test_member_and_invitation_codes_must_belong_to_the_workspace(alice_client, cast):
    charlie_team_member = Membership.objects.get(user=cast.charlie)
    for url in [
        f"/workspaces/{cast.team.code}/members/{uuid.uuid4()}/remove/",
        f"/workspaces/{cast.team.code}/members/{charlie_team_member.code}/remove/",
        f"/workspaces/{cast.team.code}/invitations/{uuid.uuid4()}/revoke/",
    ]:
        assert alice_client.post(url).status_code == 404, url
    assert Membership.objects.filter(pk=charlie_team_member.pk).exists()


def test_changes_need_their_role(bob_client, cast):
    for url, data, role in changes(cast):
        if role == Role.VIEWER:
            continue
        assert bob_client.post(url, data).status_code == 403, url
    assert Membership.objects.get(user=cast.bob, workspace=cast.team).role == Role.MEMBER


# Creating and listing ---------------------------------------------------------------------

def test_create_workspace_makes_you_owner_and_current(bob_client, cast):
    response = bob_client.post("/workspaces/new/", {"name": "  Bob's Duo "})
    workspace = Workspace.objects.get(name="Bob's Duo")
    assert response.status_code == 302
    assert response["Location"] == f"/workspaces/{workspace.code}/"
    assert Membership.objects.get(workspace=workspace).role == Role.OWNER
    assert bob_client.session["workspace_code"] == str(workspace.code)
    assert AuditLog.objects.filter(workspace=workspace, action="workspace.create").exists()


def test_create_workspace_needs_a_name(bob_client, cast):
    response = bob_client.post("/workspaces/new/", {"name": "   "})
    assert response.status_code == 200
    assert "Give the workspace a name." in response.content.decode()


def test_create_workspace_refuses_get(bob_client, cast):
    assert bob_client.get("/workspaces/new/").status_code == 405


def test_workspace_list_shows_only_your_workspaces(bob_client, cast):
    page = bob_client.get("/workspaces/").content.decode()
    assert "Alice&#x27;s Band" in page and f"/workspaces/{cast.team.code}/" in page
    assert str(cast.charlie_personal.code) not in page


def test_settings_page_for_each_role(alice_client, client, cast):
    page = alice_client.get(f"/workspaces/{cast.team.code}/").content.decode()
    assert "bob@example.org" in page and "Invite people" in page and "Rename" in page

    client.force_login(cast.bob)
    page = client.get(f"/workspaces/{cast.team.code}/").content.decode()
    assert "alice@example.org" in page
    assert "Invite people" not in page and "Rename" not in page

    client.force_login(cast.charlie)
    assert client.get(f"/workspaces/{cast.team.code}/").status_code == 404
    assert client.get(f"/workspaces/{uuid.uuid4()}/").status_code == 404


def test_switch_changes_the_current_workspace(bob_client, cast):
    response = bob_client.post(
        "/workspaces/switch/", {"workspace": str(cast.team.code), "next": "/workspaces/"}
    )
    assert response.status_code == 302 and response["Location"] == "/workspaces/"
    assert bob_client.session["workspace_code"] == str(cast.team.code)
    page = bob_client.get("/home/").content.decode()
    assert '<span id="credit-balance">500</span>' in page


def test_switch_to_someone_elses_workspace_is_404(charlie_client, cast):
    assert charlie_client.post("/workspaces/switch/", {"workspace": str(cast.team.code)}).status_code == 404
    assert charlie_client.get("/workspaces/switch/").status_code == 405


# Rename -----------------------------------------------------------------------------------

def test_rename(alice_client, cast):
    response = alice_client.post(f"/workspaces/{cast.team.code}/rename/", {"name": "The Band"})
    assert response.status_code == 302
    assert response["Location"] == f"/workspaces/{cast.team.code}/"
    cast.team.refresh_from_db()
    assert cast.team.name == "The Band"
    log = AuditLog.objects.get(action="workspace.rename")
    assert log.actor == cast.alice and log.data == {"old": "Alice's Band"}


def test_rename_htmx_gets_the_section(alice_client, cast):
    response = alice_client.post(f"/workspaces/{cast.team.code}/rename/", {"name": "The Band"}, **HX)
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="name"') and "<html" not in body
    assert "Workspace renamed." in body and "The Band" in body
    assert "HX-Request" in response["Vary"]


def test_rename_plain_request_ends_on_the_full_page(alice_client, cast):
    response = alice_client.post(
        f"/workspaces/{cast.team.code}/rename/", {"name": "The Band"}, follow=True
    )
    body = response.content.decode()
    assert "<html" in body and "Workspace renamed." in body


def test_rename_with_blank_name_shows_the_error(alice_client, cast):
    response = alice_client.post(f"/workspaces/{cast.team.code}/rename/", {"name": ""}, **HX)
    assert response.status_code == 200
    assert "Give the workspace a name." in response.content.decode()
    cast.team.refresh_from_db()
    assert cast.team.name == "Alice's Band"


def test_admin_may_rename(bob_client, cast):
    set_role(cast.bob, cast.team, Role.ADMIN)
    assert bob_client.post(f"/workspaces/{cast.team.code}/rename/", {"name": "B"}).status_code == 302


# Roles ------------------------------------------------------------------------------------

def role_url(cast, member):
    return f"/workspaces/{cast.team.code}/members/{member.code}/role/"


def test_owner_changes_a_role(alice_client, cast):
    bob = bob_member(cast)
    response = alice_client.post(role_url(cast, bob), {f"{bob.code}-role": "viewer"})
    assert response.status_code == 302
    bob.refresh_from_db()
    assert bob.role == Role.VIEWER
    log = AuditLog.objects.get(action="member.role")
    assert (log.actor, log.target, log.data) == (cast.alice, "bob@example.org", {"old": "member", "new": "viewer"})


def test_role_change_htmx_gets_the_members_section(alice_client, cast):
    bob = bob_member(cast)
    response = alice_client.post(role_url(cast, bob), {f"{bob.code}-role": "admin"}, **HX)
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="members"') and "<html" not in body
    assert "is now admin" in body


def test_admin_cannot_touch_an_owner_or_grant_owner(client, cast):
    set_role(cast.bob, cast.team, Role.ADMIN)
    client.force_login(cast.bob)
    alice = alice_member(cast)
    assert client.post(role_url(cast, alice), {f"{alice.code}-role": "member"}).status_code == 403
    assert client.post(f"/workspaces/{cast.team.code}/members/{alice.code}/remove/").status_code == 403
    dana = Membership.objects.create(
        user=cast.charlie, workspace=cast.team, role=Role.MEMBER
    )
    assert client.post(role_url(cast, dana), {f"{dana.code}-role": "owner"}).status_code == 403
    alice.refresh_from_db()
    dana.refresh_from_db()
    assert alice.role == Role.OWNER and dana.role == Role.MEMBER


def test_admin_manages_members_below_owner(client, cast):
    set_role(cast.bob, cast.team, Role.ADMIN)
    client.force_login(cast.bob)
    dana = Membership.objects.create(user=cast.charlie, workspace=cast.team, role=Role.MEMBER)
    assert client.post(role_url(cast, dana), {f"{dana.code}-role": "viewer"}).status_code == 302
    dana.refresh_from_db()
    assert dana.role == Role.VIEWER


def test_last_owner_cannot_be_demoted(alice_client, cast):
    alice = alice_member(cast)
    response = alice_client.post(role_url(cast, alice), {f"{alice.code}-role": "admin"}, **HX)
    assert "A workspace always keeps an owner" in response.content.decode()
    assert alice_member(cast).role == Role.OWNER


def test_an_owner_may_step_down_when_another_owner_stays(alice_client, cast):
    set_role(cast.bob, cast.team, Role.OWNER)
    alice = alice_member(cast)
    alice_client.post(role_url(cast, alice), {f"{alice.code}-role": "admin"})
    assert alice_member(cast).role == Role.ADMIN


def test_unknown_role_is_an_error_not_a_change(alice_client, cast):
    bob = bob_member(cast)
    response = alice_client.post(role_url(cast, bob), {f"{bob.code}-role": "emperor"}, **HX)
    assert "Choose one of the roles." in response.content.decode()
    bob.refresh_from_db()
    assert bob.role == Role.MEMBER


def test_transfer_ownership(alice_client, cast):
    bob = bob_member(cast)
    response = alice_client.post(f"/workspaces/{cast.team.code}/members/{bob.code}/transfer/")
    assert response.status_code == 302
    assert bob_member(cast).role == Role.OWNER
    assert alice_member(cast).role == Role.ADMIN
    assert AuditLog.objects.filter(action="workspace.transfer", target="bob@example.org").exists()


def test_admin_cannot_transfer_ownership(client, cast):
    set_role(cast.bob, cast.team, Role.ADMIN)
    client.force_login(cast.bob)
    dana = Membership.objects.create(user=cast.charlie, workspace=cast.team, role=Role.MEMBER)
    response = client.post(f"/workspaces/{cast.team.code}/members/{dana.code}/transfer/")
    assert response.status_code == 403
    assert alice_member(cast).role == Role.OWNER


# Caps -------------------------------------------------------------------------------------

def cap_url(cast, member):
    return f"/workspaces/{cast.team.code}/members/{member.code}/cap/"


def test_set_and_clear_a_monthly_cap(alice_client, cast):
    bob = bob_member(cast)
    assert alice_client.post(cap_url(cast, bob), {f"{bob.code}-monthly_cap": "40"}).status_code == 302
    bob.refresh_from_db()
    assert bob.monthly_cap == 40
    alice_client.post(cap_url(cast, bob), {f"{bob.code}-monthly_cap": ""})
    bob.refresh_from_db()
    assert bob.monthly_cap is None
    assert list(AuditLog.objects.filter(action="member.cap").values_list("data", flat=True)) == [
        {"old": 40, "new": None}, {"old": None, "new": 40},
    ]


def test_bad_cap_is_refused(alice_client, cast):
    bob = bob_member(cast)
    response = alice_client.post(cap_url(cast, bob), {f"{bob.code}-monthly_cap": "-3"}, **HX)
    assert "whole number" in response.content.decode()
    bob.refresh_from_db()
    assert bob.monthly_cap is None


def test_members_table_shows_spend_this_month(alice_client, cast):
    h = credits.hold(cast.team, 30, member=cast.bob, idempotency_key="job-a")
    credits.capture(h)
    credits.hold(cast.team, 12, member=cast.bob, idempotency_key="job-b")
    response = alice_client.post(cap_url(cast, bob_member(cast)), {f"{bob_member(cast).code}-monthly_cap": "100"}, **HX)
    body = response.content.decode()
    row = body[body.index("bob@example.org"):]
    assert '<td data-label="Spent this month">42</td>' in row[:2000]


# Remove and leave -------------------------------------------------------------------------

def test_remove_a_member(alice_client, cast):
    bob = bob_member(cast)
    response = alice_client.post(f"/workspaces/{cast.team.code}/members/{bob.code}/remove/", **HX)
    assert response.status_code == 200
    assert "was removed" in response.content.decode()
    assert not Membership.objects.filter(pk=bob.pk).exists()
    assert AuditLog.objects.filter(action="member.remove", target="bob@example.org").exists()


def test_you_cannot_remove_yourself(alice_client, cast):
    alice = alice_member(cast)
    response = alice_client.post(f"/workspaces/{cast.team.code}/members/{alice.code}/remove/", follow=True)
    assert "leave the workspace instead" in response.content.decode()
    assert Membership.objects.filter(pk=alice.pk).exists()


def test_member_leaves(bob_client, cast):
    response = bob_client.post(f"/workspaces/{cast.team.code}/leave/")
    assert response.status_code == 302 and response["Location"] == "/workspaces/"
    assert not Membership.objects.filter(user=cast.bob, workspace=cast.team).exists()
    assert AuditLog.objects.filter(action="member.leave", actor=cast.bob).exists()


def test_leave_with_htmx_redirects_the_browser(bob_client, cast):
    response = bob_client.post(f"/workspaces/{cast.team.code}/leave/", **HX)
    assert response["HX-Redirect"] == "/workspaces/"


def test_last_owner_cannot_leave(alice_client, cast):
    response = alice_client.post(f"/workspaces/{cast.team.code}/leave/", follow=True)
    assert "Transfer ownership to another member before you leave" in response.content.decode()
    assert Membership.objects.filter(user=cast.alice, workspace=cast.team).exists()


def test_an_owner_may_leave_when_another_owner_stays(alice_client, cast):
    set_role(cast.bob, cast.team, Role.OWNER)
    alice_client.post(f"/workspaces/{cast.team.code}/leave/")
    assert not Membership.objects.filter(user=cast.alice, workspace=cast.team).exists()


def test_personal_workspace_cannot_be_left_or_shared(alice_client, cast):
    ws = cast.alice_personal
    alice_client.post(f"/workspaces/{ws.code}/leave/")
    assert Membership.objects.filter(user=cast.alice, workspace=ws).exists()
    response = alice_client.post(
        f"/workspaces/{ws.code}/invitations/", {"email": "dana@example.org", "role": "member"},
        follow=True,
    )
    assert "cannot be shared" in response.content.decode()
    assert not Invitation.objects.filter(workspace=ws).exists()


def test_admins_see_recent_activity_and_members_do_not(alice_client, client, cast):
    bob = bob_member(cast)
    alice_client.post(role_url(cast, bob), {f"{bob.code}-role": "viewer"})
    alice_client.post(f"/workspaces/{cast.team.code}/rename/", {"name": "The Band"})
    page = alice_client.get(f"/workspaces/{cast.team.code}/").content.decode()
    assert "Recent activity" in page
    assert "alice@example.org renamed the workspace to The Band" in page
    assert "alice@example.org changed the role of bob@example.org (viewer)" in page

    client.force_login(cast.bob)
    assert "Recent activity" not in client.get(f"/workspaces/{cast.team.code}/").content.decode()
