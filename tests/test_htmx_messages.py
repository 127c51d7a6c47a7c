import json

import pytest
from django.contrib import messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.http import HttpResponse
from django.test import RequestFactory

from config.middleware import HtmxMessagesMiddleware

pytestmark = pytest.mark.django_db


def _request(htmx):
    request = RequestFactory().post("/", headers={"HX-Request": "true"} if htmx else {})
    request.session = {}
    request._messages = FallbackStorage(request)
    request.htmx = htmx
    return request


def _view_adding_a_message(request):
    messages.success(request, "Renamed the workspace.")
    response = HttpResponse("partial")
    response.headers["HX-Trigger"] = '{"balanceChanged": 5}'
    return response


def test_htmx_responses_carry_messages_as_a_trigger_event():
    request = _request(htmx=True)
    response = HtmxMessagesMiddleware(_view_adding_a_message)(request)
    assert json.loads(response.headers["HX-Trigger"]) == {
        "balanceChanged": 5,
        "messages": [{"message": "Renamed the workspace.", "tags": "success"}],
    }
    assert request._messages.used  # consumed: the messages middleware will not keep them


def test_plain_requests_keep_messages_for_the_next_page():
    request = _request(htmx=False)
    response = HtmxMessagesMiddleware(_view_adding_a_message)(request)
    assert json.loads(response.headers["HX-Trigger"]) == {"balanceChanged": 5}
    assert not request._messages.used
    assert [str(m) for m in messages.get_messages(request)] == ["Renamed the workspace."]


def test_sandbox_banner_names_the_sandboxed_providers(alice_client, cast, settings):
    settings.SANDBOX_PROVIDER = False
    settings.APIKLEY_API_KEY = "real-key"
    settings.APIINONE_API_KEY = ""
    settings.APIFRAME_API_KEY = ""
    body = alice_client.get("/home/", follow=True).content.decode()
    assert "Sandbox mode." in body
    assert "apiin.one, Apiframe jobs run on the built-in" in body
    assert f'href="/workspaces/{cast.alice_personal.code}/">workspace settings</a>' in body

    settings.APIINONE_API_KEY = settings.APIFRAME_API_KEY = "real-key"
    body = alice_client.get("/home/", follow=True).content.decode()
    assert "Sandbox mode." not in body
