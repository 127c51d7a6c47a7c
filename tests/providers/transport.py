"""`provider_transport`: every provider request and every `http.client()` download goes into
this Django app in-process (httpx's WSGI transport), so adapters talk to the sandbox and the
sandbox calls back our hooks over real HTTP, inside the test's database transaction."""

from urllib.parse import urlsplit

import httpx
import pytest
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections

from covers.providers import http as provider_http


class AppTransport(httpx.BaseTransport):
    """Requests for PUBLIC_BASE_URL's host go to the app; others to `fallback` (default:
    the network, e.g. an S3 endpoint)."""

    def __init__(self, public_base_url, fallback=None):
        parts = urlsplit(public_base_url)
        self.netloc = parts.netloc
        self.app = httpx.WSGITransport(app=get_wsgi_application())
        self.fallback = fallback or httpx.HTTPTransport()
        self.depth = 0
        self.requests = []

    def handle_request(self, request):
        if request.url.netloc.decode() != self.netloc:
            return self.fallback.handle_request(request)
        self.requests.append(request)
        # Django closes "old" connections at the start and end of each request; in a test
        # that would close the test's own transaction (Django's test client disconnects the
        # same signal). Nested requests (a callback sent while serving one) share the window.
        if self.depth == 0:
            signals.request_started.disconnect(close_old_connections)
            signals.request_finished.disconnect(close_old_connections)
        self.depth += 1
        try:
            response = self.app.handle_request(request)
            content = b"".join(response.stream)
            response.stream.close()  # sends request_finished while still disconnected
        finally:
            self.depth -= 1
            if self.depth == 0:
                signals.request_started.connect(close_old_connections)
                signals.request_finished.connect(close_old_connections)
        return httpx.Response(response.status_code, headers=response.headers, content=content,
                              request=request)


@pytest.fixture
def provider_transport(settings, db):
    """Route providers (served by the sandbox) and downloads into the app. Returns the
    transport; `.requests` lists what reached the app."""
    settings.SANDBOX_PROVIDER = True
    settings.PROVIDER_BACKOFF_SECONDS = 0
    settings.SANDBOX_SLOW_SECONDS = 0
    settings.SANDBOX_CALLBACK_RETRY_SECONDS = 0
    settings.SANDBOX_TUNE_SECONDS = 8  # short made-up sources keep the ffmpeg work small
    host = urlsplit(settings.PUBLIC_BASE_URL).hostname
    if host not in settings.ALLOWED_HOSTS and "*" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, host]
    transport = AppTransport(settings.PUBLIC_BASE_URL)
    provider_http.set_transport(transport)
    yield transport
    provider_http.set_transport(None)
