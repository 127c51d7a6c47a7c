import json
from pathlib import Path

import httpx
import pytest

from covers.providers import http as provider_http

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "providers"

APIKLEY_KEY = "ak-secret-key"
APIINONE_KEY = "aio_secret_key"
APIFRAME_KEY = "afk_secret_key"
CALLBACK_TOKEN = "cb-token-aaaaaaaaaaaaaaaaaaaaaaaa"


def fixture(name):
    return json.loads((FIXTURES / name).read_text())


class Wire:
    """A fake provider: answers each request with the next queued reply and keeps the
    requests. A reply is an httpx.Response, a JSON-able dict (HTTP 200) or an exception."""

    def __init__(self, replies):
        self.replies = list(replies)
        self.requests = []

    def __call__(self, request):
        request.read()
        self.requests.append(request)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, httpx.Response):
            return reply
        return httpx.Response(200, json=reply)

    @property
    def last(self):
        return self.requests[-1]

    def json(self, index=-1):
        return json.loads(self.requests[index].content)


@pytest.fixture
def real_providers(settings):
    """Adapters aim at the real (here: fake) hosts with real-looking keys; no sleeping."""
    settings.SANDBOX_PROVIDER = False
    settings.APIKLEY_API_KEY = APIKLEY_KEY
    settings.APIKLEY_BASE_URL = "https://api.apikley.test"
    settings.APIINONE_API_KEY = APIINONE_KEY
    settings.APIINONE_BASE_URL = "https://apiin.one.test/api/v1"
    settings.APIFRAME_API_KEY = APIFRAME_KEY
    settings.APIFRAME_BASE_URL = "https://api.apiframe.test"
    settings.PROVIDER_BACKOFF_SECONDS = 0
    return settings


@pytest.fixture
def wire(real_providers):
    """wire(reply, ...) installs a fake provider transport and returns it."""

    def install(*replies):
        fake = Wire(replies)
        provider_http.set_transport(httpx.MockTransport(fake))
        return fake

    yield install
    provider_http.set_transport(None)


def assert_golden(request, name):
    """The request is exactly the golden one: method, URL, the listed headers, JSON body."""
    golden = fixture(name)
    assert request.method == golden["method"]
    assert str(request.url) == golden["url"]
    for header, value in golden["headers"].items():
        assert request.headers.get(header) == value, header
    assert json.loads(request.content) == golden["json"]
