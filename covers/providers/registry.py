"""Which adapter, base URL and key serve a provider: the real API, or the built-in sandbox.

The key is the workspace's own (accounts.ProviderKey, "bring your own key") when it has one,
else the site's (settings.*_API_KEY). The sandbox serves a provider when SANDBOX_PROVIDER is
on or there is no key at all. Its base URL is PUBLIC_BASE_URL + "/sandbox/<provider>" plus the
real API's own path prefix, and it only accepts sandbox_key().

A saved job always talks with what it was created with: the sandbox if it ran there, else
the workspace key in force at its creation (or the site's), so polls and Apiframe's webhook
signatures use the key that submitted it even after an owner replaced or removed that key.
"""

import hashlib
import hmac
import logging
from dataclasses import dataclass

from django.conf import settings

from covers.providers.http import Http

log = logging.getLogger(__name__)

# provider -> (base URL setting, API key setting, path prefix of the real API's base URL)
PROVIDERS = {
    "apikley": ("APIKLEY_BASE_URL", "APIKLEY_API_KEY", ""),
    "apiinone": ("APIINONE_BASE_URL", "APIINONE_API_KEY", "/api/v1"),
    "apiframe": ("APIFRAME_BASE_URL", "APIFRAME_API_KEY", ""),
}


@dataclass(frozen=True)
class Credentials:
    base_url: str
    api_key: str
    sandbox: bool
    file_upload_url: str = ""  # Apikley's file-upload host


def sandbox_key():
    """The key the sandbox accepts: SANDBOX_API_KEY when set, otherwise derived from
    SECRET_KEY. It must not be guessable: on a server where a provider has no key the
    sandbox is live, and it fetches the source URL it is given."""
    configured = getattr(settings, "SANDBOX_API_KEY", "")
    if configured:
        return configured
    digest = hmac.new(settings.SECRET_KEY.encode(), b"coverlab.sandbox-key", hashlib.sha256)
    return "sbx_" + digest.hexdigest()[:40]


def sandbox_base_url(provider):
    return f"{settings.PUBLIC_BASE_URL}/sandbox/{provider}"


def uses_sandbox(provider, workspace=None):
    """True when new jobs of `workspace` (or of the site, when None) run on the sandbox."""
    return bool(settings.SANDBOX_PROVIDER) or not _api_key(provider, workspace)


def sandbox_enabled():
    """The sandbox app answers when any provider is served by it."""
    return any(uses_sandbox(p) for p in PROVIDERS)


def sandboxed_providers(workspace=None):
    """The providers the sandbox serves for `workspace`'s new jobs, in one query."""
    if settings.SANDBOX_PROVIDER:
        return list(PROVIDERS)
    own = set()
    if workspace is not None:
        from accounts.models import ProviderKey

        own = set(ProviderKey.objects.filter(workspace=workspace, retired_at=None)
                  .values_list("provider", flat=True))
    return [p for p in PROVIDERS if p not in own and not _site_key(p)]


def _site_key(provider):
    return getattr(settings, PROVIDERS[str(provider)][1], "") or ""


def _workspace_key(provider, workspace, at=None):
    """The workspace's own key (the one in force at `at`, else the live one), or ""."""
    if workspace is None:
        return ""
    from accounts import crypto
    from accounts.models import ProviderKey

    row = ProviderKey.in_force(workspace, provider, at)
    if row is None:
        return ""
    try:
        return row.plaintext()
    except crypto.InvalidToken:
        # SECRET_KEY (or FIELD_ENCRYPTION_KEY) changed without a fallback: the owner must set
        # the key again. Never log the token itself.
        log.warning("The %s key of workspace %s cannot be decrypted; using the site's key.",
                    provider, getattr(workspace, "pk", workspace))
        return ""


def _api_key(provider, workspace=None, at=None):
    return _workspace_key(provider, workspace, at) or _site_key(provider)


def credentials(provider, workspace=None, *, job=None):
    """Base URL and key for `provider`: `job`'s own (see the module doc) when a saved job is
    given, else those new jobs of `workspace` get."""
    provider = str(provider)
    base_setting, _, prefix = PROVIDERS[provider]
    at = None
    if job is not None and job.pk is not None:
        workspace, at = job.workspace, job.created_at
    api_key = _api_key(provider, workspace, at)
    forced = job is not None and job.pk is not None and job.sandbox
    if forced or settings.SANDBOX_PROVIDER or not api_key:
        root = sandbox_base_url(provider)
        return Credentials(
            base_url=root + prefix,
            api_key=sandbox_key(),
            sandbox=True,
            file_upload_url=root + "/file-upload" if provider == "apikley" else "",
        )
    base_url = getattr(settings, base_setting).rstrip("/")
    upload = ""
    if provider == "apikley":
        upload = getattr(settings, "APIKLEY_FILE_UPLOAD_URL", "") or base_url + "/file-upload"
    return Credentials(base_url, api_key, False, upload)


def call_recorder(job=None):
    """A `record` callback for Http that writes one ProviderCall row per attempt."""

    def record(**fields):
        from covers.models import ProviderCall

        ProviderCall.objects.create(job_id=getattr(job, "pk", None), **fields)

    return record


def _http(provider, base_url, headers, creds, job):
    secrets = [creds.api_key]
    if job is not None and getattr(job, "callback_token", ""):
        secrets.append(job.callback_token)
    return Http(
        provider,
        base_url,
        headers,
        secrets=secrets,
        record=call_recorder(job),
        max_attempts=getattr(settings, "PROVIDER_MAX_ATTEMPTS", 3),
        backoff=getattr(settings, "PROVIDER_BACKOFF_SECONDS", 0.5),
    )


def get_adapter(provider, *, job=None):
    """The adapter for `provider` ("apikley", "apiinone", "apiframe"); `job` (optional)
    links the ProviderCall rows and has its callback token redacted from them."""
    from covers.providers.apiframe import ApiframeAdapter
    from covers.providers.apiinone import ApiinoneAdapter
    from covers.providers.apikley import ApikleyAdapter

    provider = str(provider)
    creds = credentials(provider, getattr(job, "workspace", None) if job else None, job=job)
    if provider == "apikley":
        headers = {"Authorization": f"Bearer {creds.api_key}"}
        return ApikleyAdapter(
            _http(provider, creds.base_url, headers, creds, job),
            upload_http=_http(provider, creds.file_upload_url, headers, creds, job),
        )
    if provider == "apiinone":
        headers = {"Authorization": f"Bearer {creds.api_key}"}
        return ApiinoneAdapter(_http(provider, creds.base_url, headers, creds, job))
    if provider == "apiframe":
        headers = {"X-API-Key": creds.api_key}
        return ApiframeAdapter(_http(provider, creds.base_url, headers, creds, job),
                               api_key=creds.api_key)
    raise KeyError(f"Unknown provider {provider!r}")
