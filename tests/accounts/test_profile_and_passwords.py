import re

import pytest
from django.core import mail

from accounts.models import AuditLog, User
from tests.base import PASSWORD

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def test_profile_sets_name_and_job_emails(bob_client, cast):
    page = bob_client.get("/accounts/profile/").content.decode()
    assert '<label for="id_name">Name</label>' in page
    assert '<label for="id_notify_by_email">Email me when a job finishes or fails</label>' in page
    response = bob_client.post("/accounts/profile/", {"name": " Bob Stone ", "notify_by_email": "on"})
    assert response.status_code == 302 and response["Location"] == "/accounts/profile/"
    bob = User.objects.get(pk=cast.bob.pk)
    assert (bob.display_name, bob.notify_by_email) == ("Bob Stone", True)
    assert AuditLog.objects.filter(action="account.profile", actor=bob).exists()
    bob_client.post("/accounts/profile/", {"name": ""})
    bob.refresh_from_db()
    assert (bob.display_name, bob.notify_by_email) == ("bob@example.org", False)


def test_profile_htmx_gets_the_form_only(bob_client, cast):
    response = bob_client.post("/accounts/profile/", {"name": "Bob"}, **HX)
    body = response.content.decode()
    assert body.lstrip().startswith('<form id="profile-form"') and "<html" not in body
    assert "Your profile was saved." in body
    assert "HX-Request" in response["Vary"]


def test_profile_needs_login(client):
    response = client.get("/accounts/profile/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_login_and_logout(client, cast):
    page = client.get("/accounts/login/").content.decode()
    assert "Forgot your password?" in page
    response = client.post("/accounts/login/", {"username": "alice@example.org", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/home/"
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/home/").status_code == 302


def test_wrong_password_says_so(client, cast):
    response = client.post("/accounts/login/", {"username": "alice@example.org", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct email address and password" in response.content.decode()


def test_password_change(alice_client, cast):
    page = alice_client.get("/accounts/password/change/").content.decode()
    assert "Change your password" in page and 'class="topbar"' in page
    response = alice_client.post("/accounts/password/change/", {
        "old_password": PASSWORD,
        "new_password1": "a fresh and longer phrase",
        "new_password2": "a fresh and longer phrase",
    }, follow=True)
    assert "Password changed" in response.content.decode()
    assert User.objects.get(pk=cast.alice.pk).check_password("a fresh and longer phrase")


def test_password_reset_by_email(client, cast):
    assert "Send reset link" in client.get("/accounts/password/reset/").content.decode()
    response = client.post("/accounts/password/reset/", {"email": "alice@example.org"}, follow=True)
    assert "Check your email" in response.content.decode()
    [message] = mail.outbox
    assert message.subject == "Reset your Coverlab password"
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", message.body).group(1)
    response = client.get(link, follow=True)
    assert "Choose a new password" in response.content.decode()
    response = client.post(response.redirect_chain[-1][0], {
        "new_password1": "a brand new pass phrase",
        "new_password2": "a brand new pass phrase",
    }, follow=True)
    assert "Your password is set" in response.content.decode()
    assert User.objects.get(pk=cast.alice.pk).check_password("a brand new pass phrase")
    assert "This link has expired" in client.get(link, follow=True).content.decode()


def test_signup_prefills_email_and_refuses_duplicates(client, cast):
    page = client.get("/accounts/signup/?email=dana%40example.org").content.decode()
    assert 'value="dana@example.org"' in page
    response = client.post("/accounts/signup/", {"email": "ALICE@example.org", "password": PASSWORD})
    assert "An account with this email already exists" in response.content.decode()
    response = client.post("/accounts/signup/", {"email": "dana@example.org", "password": PASSWORD, "next": "https://evil.example/"})
    assert response["Location"] == "/home/"


def test_every_page_shows_the_balance_and_switcher(bob_client, cast):
    page = bob_client.get("/accounts/profile/").content.decode()
    assert '<span id="credit-balance">100</span>' in page
    assert "Alice&#x27;s Band</option>" in page
