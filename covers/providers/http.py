"""The one HTTP wrapper every provider adapter uses.

- connect/read timeouts; bounded retries with exponential backoff and jitter on connection
  errors, timeouts, HTTP 429/5xx and their in-body twins (HTTP 200 with `code` 429, 455 or
  5xx), never on anything else;
- one recorded call per attempt, through a `record` callback (the registry passes one that
  writes a ProviderCall row), with keys, tokens and callback tokens redacted;
- one seam for tests: `set_transport()` (or the PROVIDER_TRANSPORT setting) swaps the httpx
  transport of every provider request and of every `client()`.

No Django models, views or credits in here.
"""

import json
import random
import re
import time

import httpx

from covers.providers.base import ProviderError

RETRY_STATUS = {429, 500, 502, 503, 504}
RETRY_BODY_CODES = {429, 455, 500, 502, 503, 504}
RESPONSE_BODY_LIMIT = 2000
REDACTED = "***"

_transport = None


def set_transport(transport):
    """Route every provider request and `client()` through `transport` (None: the network)."""
    global _transport
    _transport = transport


def get_transport():
    if _transport is not None:
        return _transport
    from django.conf import settings

    return getattr(settings, "PROVIDER_TRANSPORT", None)


def timeout():
    from django.conf import settings

    return httpx.Timeout(
        getattr(settings, "PROVIDER_READ_TIMEOUT", 30.0),
        connect=getattr(settings, "PROVIDER_CONNECT_TIMEOUT", 5.0),
    )


def client(**kwargs):
    """An httpx.Client with the configured transport and timeouts (for downloads too).
    Use it as a context manager."""
    kwargs.setdefault("transport", get_transport())
    kwargs.setdefault("timeout", timeout())
    kwargs.setdefault("follow_redirects", True)
    return httpx.Client(**kwargs)


def envelope(response):
    """(code, message) of a JSON `{code, msg|message}` envelope; (None, "") otherwise."""
    try:
        data = response.json()
    except ValueError:
        return None, ""
    if not isinstance(data, dict):
        return None, ""
    code = data.get("code")
    if isinstance(code, str) and code.isdigit():
        code = int(code)
    message = data.get("msg") or data.get("message") or ""
    return (code if isinstance(code, int) else None), str(message)


def body_code(response):
    return envelope(response)[0]


def should_retry(response):
    code, message = envelope(response)
    if code == 429 and "credit" in message.lower():
        return False  # some upstreams say 429 for "no credits left": retrying cannot help
    return response.status_code in RETRY_STATUS or code in RETRY_BODY_CODES


# Long random-looking path segments in URLs we send are tokens (callbacks, signed files).
_TOKEN_SEGMENT = re.compile(r"(?<=/)[A-Za-z0-9_\-]{20,}(?=/|$|\?)")
_SECRET_FIELD = re.compile(
    r"(key|token|secret|password|authorization|signature|credential)", re.I)


class Redactor:
    """Replaces known secrets everywhere, and token-looking parts of URLs in bodies."""

    def __init__(self, secrets=()):
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def text(self, value):
        for secret in self.secrets:
            value = value.replace(secret, REDACTED)
        return value

    def url(self, value, *, path_tokens=True):
        """A URL without secrets: secret-named query values, and (unless `path_tokens` is
        off, as for our own request URLs whose paths hold task ids) long random-looking path
        segments such as callback tokens and signed-file tokens."""
        value = self.text(value)
        base, _, query = value.partition("?")
        if path_tokens:
            base = _TOKEN_SEGMENT.sub(REDACTED, base)
        if query:
            parts = []
            for pair in query.split("&"):
                name = pair.partition("=")[0]
                parts.append(f"{name}={REDACTED}" if _SECRET_FIELD.search(name) else pair)
            base += "?" + "&".join(parts)
        return base

    def data(self, value, name=""):
        if isinstance(value, dict):
            return {k: self.data(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.data(v, name) for v in value]
        if isinstance(value, str):
            if _SECRET_FIELD.search(name):
                return REDACTED
            if value.startswith(("http://", "https://")):
                return self.url(value)
            return self.text(value)
        return value


class Http:
    """Requests to one provider: base URL, auth headers, retries and call records."""

    def __init__(
        self,
        provider,
        base_url,
        headers=None,
        *,
        secrets=(),
        record=None,
        max_attempts=3,
        backoff=0.5,
        backoff_cap=8.0,
        sleep=time.sleep,
    ):
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers or {})
        self.redactor = Redactor(secrets)
        self.record = record
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self.backoff_cap = backoff_cap
        self.sleep = sleep

    def url(self, path):
        return path if path.startswith(("http://", "https://")) else self.base_url + path

    def delay(self, attempt):
        """Exponential backoff with jitter: between half and all of a doubling ceiling."""
        ceiling = min(self.backoff_cap, self.backoff * 2 ** (attempt - 1))
        return ceiling * random.uniform(0.5, 1.0)

    def request(self, method, path, *, json_body=None, params=None, files=None, data=None,
                record_body=None):
        """Send with retries; return the last httpx.Response (the adapter reads its envelope).
        Raises ProviderError (transient) when every attempt failed to get any response."""
        url = self.url(path)
        logged_body = record_body if record_body is not None else json_body
        last_error = None
        with client(headers=self.headers) as http:
            for attempt in range(1, self.max_attempts + 1):
                started = time.monotonic()
                response = None
                try:
                    response = http.request(
                        method, url, json=json_body, params=params, files=files, data=data
                    )
                    error = ""
                    if response.status_code >= 400 or (body_code(response) or 200) != 200:
                        error = f"HTTP {response.status_code}, code {body_code(response)}"
                except httpx.TransportError as exc:
                    error = f"{type(exc).__name__}: {exc}"
                    last_error = exc
                self._record(method, url, params, attempt, response, started, error, logged_body)
                retry = response is None or should_retry(response)
                if not retry or attempt == self.max_attempts:
                    break
                self.sleep(self.delay(attempt))
        if response is None:
            raise ProviderError(
                f"{self.provider} could not be reached: {self.redactor.text(str(last_error))}",
                permanent=False,
            )
        return response

    def _record(self, method, url, params, attempt, response, started, error, body):
        if self.record is None:
            return
        endpoint = url
        if params:
            endpoint += "?" + "&".join(f"{k}={v}" for k, v in params.items())
        text = ""
        if response is not None:
            try:
                text = response.text
            except UnicodeDecodeError:
                text = f"<{len(response.content)} bytes>"
        if isinstance(body, (dict, list)):
            body = self.redactor.data(json.loads(json.dumps(body, default=str)))
        self.record(
            provider=self.provider,
            method=method,
            endpoint=self.redactor.url(endpoint, path_tokens=False)[:500],
            attempt=attempt,
            status_code=response.status_code if response is not None else None,
            duration_ms=int((time.monotonic() - started) * 1000),
            error=self.redactor.text(error),
            request_body=body,
            response_body=self.redactor.text(text)[:RESPONSE_BODY_LIMIT],
        )
