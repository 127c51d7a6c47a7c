import re
from datetime import timedelta

import pytest
from django.core import mail, signing
from django.utils import timezone

from accounts import invitations, services
from accounts.models import AuditLog, Invitation, Membership, Role
from tests.base import PASSWORD

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def invite(alice_client, cast, email="dana@example.org", role="member", **extra):
    return alice_client.post(
        f"/workspaces/{cast.team.code}/invitations/", {"email": email, "role": role}, **extra
    )


def link_in(message):
    return re.search(r"http://\S+/invitations/\S+/", message.body).group(0)


def test_invite_emails_a_signed_link_and_shows_it(alice_client, cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = invite(alice_client, cast, "Dana@Example.org", "viewer")
    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.role, invitation.invited_by) == ("dana@example.org", "viewer", cast.alice)
    assert invitation.expires_at == invitation.sent_at + timedelta(days=7)
    [message] = mail.outbox
    assert message.to == ["dana@example.org"]
    assert "Alice's Band" in message.subject
    url = link_in(message)
    assert url == invitations.url_for(invitation)
    assert signing.TimestampSigner(salt="accounts.invitation").unsign(url.rstrip("/").rsplit("/", 1)[1]) == str(invitation.code)
    page = alice_client.get(f"/workspaces/{cast.team.code}/").content.decode()
    assert url in page and "Copy link" in page
    assert AuditLog.objects.filter(action="invitation.create", target="dana@example.org").exists()


def test_invite_htmx_gets_the_invitations_section(alice_client, cast):
    response = invite(alice_client, cast, **HX)
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="invitations"') and "<html" not in body
    assert "Invitation sent to dana@example.org" in body
    assert invitations.url_for(Invitation.objects.get()) in body


def test_invite_refuses_bad_input_with_reasons(alice_client, cast):
    assert "Enter a valid email address." in invite(alice_client, cast, "nope", **HX).content.decode()
    assert "is already a member" in invite(alice_client, cast, "bob@example.org", **HX).content.decode()
    invite(alice_client, cast)
    assert "already has a pending invitation" in invite(alice_client, cast, **HX).content.decode()
    body = invite(alice_client, cast, "erin@example.org", "owner", **HX).content.decode()
    assert "Select a valid choice" in body
    assert Invitation.objects.count() == 1


def test_resend_signs_a_new_link_and_retires_the_old_one(alice_client, cast, django_capture_on_commit_callbacks):
    invitation = services.invite(cast.membership(cast.alice), "dana@example.org", Role.MEMBER)
    Invitation.objects.filter(pk=invitation.pk).update(sent_at=invitation.sent_at - timedelta(days=1))
    invitation.refresh_from_db()
    old = invitations.path_for(invitation)
    assert alice_client.get(old).status_code == 403  # a valid link, for someone else
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(
            f"/workspaces/{cast.team.code}/invitations/{invitation.code}/resend/", **HX
        )
    assert "the old one no longer works" in response.content.decode()
    invitation.refresh_from_db()
    new = invitations.path_for(invitation)
    assert new != old and new in mail.outbox[-1].body
    response = alice_client.get(old)
    assert response.status_code == 410
    assert "newer invitation link" in response.content.decode()


def test_revoke(alice_client, cast, client):
    invitation = services.invite(cast.membership(cast.alice), "dana@example.org", Role.MEMBER)
    link = invitations.path_for(invitation)
    response = alice_client.post(f"/workspaces/{cast.team.code}/invitations/{invitation.code}/revoke/", **HX)
    assert "was withdrawn" in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert AuditLog.objects.filter(action="invitation.revoke").exists()
    client.logout()
    response = client.get(link)
    assert response.status_code == 410
    assert "was withdrawn" in response.content.decode()


# Accepting --------------------------------------------------------------------------------

@pytest.fixture
def invitation_for_bobs_friend(cast):
    return services.invite(cast.membership(cast.alice), "dana@example.org", Role.VIEWER)


def test_new_person_is_led_through_sign_up_and_back(client, invitation_for_bobs_friend):
    link = invitations.path_for(invitation_for_bobs_friend)
    page = client.get(link).content.decode()
    assert "Join Alice&#x27;s Band" in page
    signup = f"/accounts/signup/?email=dana%40example.org&amp;next={link.replace(':', '%3A')}"
    assert signup in page

    form = client.get(f"/accounts/signup/?email=dana%40example.org&next={link}").content.decode()
    assert 'value="dana@example.org"' in form and f'value="{link}"' in form
    response = client.post(
        "/accounts/signup/", {"email": "dana@example.org", "password": PASSWORD, "next": link}
    )
    assert response.status_code == 302 and response["Location"] == link

    assert "Accept and join" in client.get(link).content.decode()
    response = client.post(link)
    team = invitation_for_bobs_friend.workspace
    assert response.status_code == 302 and response["Location"] == f"/workspaces/{team.code}/"
    dana = Membership.objects.get(workspace=team, user__email="dana@example.org")
    assert dana.role == Role.VIEWER
    assert client.session["workspace_code"] == str(team.code)
    invitation_for_bobs_friend.refresh_from_db()
    assert invitation_for_bobs_friend.accepted_by == dana.user
    assert AuditLog.objects.filter(action="invitation.accept", actor=dana.user).exists()


def test_someone_with_an_account_is_asked_to_log_in(client, cast, invitation_for_bobs_friend):
    services.sign_up("dana@example.org", PASSWORD)
    link = invitations.path_for(invitation_for_bobs_friend)
    page = client.get(link).content.decode()
    assert "Log in to accept" in page and "/accounts/login/?next=" in page


def test_logged_in_with_another_email_is_refused_clearly(charlie_client, invitation_for_bobs_friend):
    link = invitations.path_for(invitation_for_bobs_friend)
    for response in (charlie_client.get(link), charlie_client.post(link)):
        assert response.status_code == 403
        assert "This invitation is for dana@example.org, and you are logged in as charlie@example.org" in response.content.decode()
    assert not Membership.objects.filter(user__email="charlie@example.org", workspace=invitation_for_bobs_friend.workspace).exists()


def test_expired_link(client, cast, invitation_for_bobs_friend, settings):
    link = invitations.path_for(invitation_for_bobs_friend)
    settings.INVITATION_MAX_AGE_DAYS = 0
    response = client.get(link)
    assert response.status_code == 410
    assert "This invitation has expired. Ask the person who invited you" in response.content.decode()


def test_expired_by_date_even_with_a_fresh_signature(client, invitation_for_bobs_friend):
    Invitation.objects.filter(pk=invitation_for_bobs_friend.pk).update(expires_at=timezone.now())
    response = client.get(invitations.path_for(invitation_for_bobs_friend))
    assert response.status_code == 410 and "expired" in response.content.decode()


def test_tampered_link(client, invitation_for_bobs_friend):
    link = invitations.path_for(invitation_for_bobs_friend)
    response = client.get(link[:-3] + "xx/")
    assert response.status_code == 404
    assert "not valid. Check that you copied the whole link" in response.content.decode()
    other = signing.TimestampSigner(salt="accounts.invitation", key="not our key").sign(
        str(invitation_for_bobs_friend.code)
    )
    assert client.get(f"/invitations/{other}/").status_code == 404


def test_accepting_twice_changes_nothing(client, cast):
    invitation = services.invite(cast.membership(cast.alice), "dana@example.org", Role.MEMBER)
    dana = services.sign_up("dana@example.org", PASSWORD)
    client.force_login(dana)
    link = invitations.path_for(invitation)
    client.post(link)
    response = client.post(link)
    assert response.status_code == 302 and response["Location"] == f"/workspaces/{cast.team.code}/"
    assert Membership.objects.filter(user=dana, workspace=cast.team).count() == 1
    assert AuditLog.objects.filter(action="invitation.accept").count() == 1


def test_a_used_link_does_not_let_a_removed_member_back(client, cast):
    invitation = services.invite(cast.membership(cast.alice), "dana@example.org", Role.MEMBER)
    dana = services.sign_up("dana@example.org", PASSWORD)
    client.force_login(dana)
    link = invitations.path_for(invitation)
    client.post(link)
    Membership.objects.filter(user=dana, workspace=cast.team).delete()
    response = client.post(link)
    assert response.status_code == 410 and "already used" in response.content.decode()
    assert not Membership.objects.filter(user=dana, workspace=cast.team).exists()


def test_wrong_account_can_log_out_and_come_back_to_the_link(charlie_client, invitation_for_bobs_friend):
    link = invitations.path_for(invitation_for_bobs_friend)
    page = charlie_client.get(link).content.decode()
    assert f'<input type="hidden" name="next" value="{link}">' in page
    response = charlie_client.post("/accounts/logout/", {"next": link})
    assert response.status_code == 302 and response["Location"] == link
    assert "Sign up to accept" in charlie_client.get(link).content.decode()
