import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_404_page_is_styled_and_does_not_confirm_existence(alice_client):
    response = alice_client.get("/no/such/page/")
    assert response.status_code == 404
    assert b"We couldn't find that" in response.content
    assert b"app.css" in response.content


def test_csrf_failure_page_says_what_to_do(cast):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.alice)
    response = client.post("/workspaces/switch/", {"workspace": str(cast.team.code)})
    assert response.status_code == 403
    assert b"This form has expired" in response.content


def test_500_page_renders_without_a_request_context():
    from django.template.loader import get_template

    html = get_template("500.html").render({})
    assert "Something went wrong on our side" in html
