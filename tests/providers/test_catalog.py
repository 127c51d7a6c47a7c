"""The capability, price and retention table, and the registry that picks real or sandbox."""

import pytest

from covers.providers import catalog, registry


def test_capabilities_match_the_design_matrix():
    assert [p.name for p in catalog.providers_for("upload_cover")] == ["apikley", "apiinone"]
    assert [p.name for p in catalog.providers_for("track_cover")] == [
        "apikley", "apiinone", "apiframe"]
    assert [p.name for p in catalog.providers_for("cover_art")] == ["apikley", "apiinone"]
    assert all(p.can("import") for p in catalog.PROVIDERS.values())


def test_prices_default_to_the_published_figures(settings):
    settings.PROVIDER_PRICES = {}
    assert catalog.price("apiframe", "track_cover") == 11
    assert catalog.price("apiinone", "cover_art") == 1
    assert catalog.price("apiinone", "upload_cover") == 12
    assert catalog.price("apikley", "upload_cover") == 12
    assert catalog.price("apikley", "cover_art") == 2
    with pytest.raises(KeyError):
        catalog.price("apiframe", "cover_art")


def test_an_operator_overrides_prices(settings):
    settings.PROVIDER_PRICES = {"apikley": {"upload_cover": 15},
                                "apiinone": {"upload_cover": {"fast": 5, "best": 12}}}
    assert catalog.price("apikley", "upload_cover") == 15
    assert catalog.price("apikley", "cover_art") == 2
    assert catalog.price("apiinone", "upload_cover", "fast") == 5
    assert catalog.price("apiinone", "upload_cover") == 12  # unknown model: the ceiling


def test_source_windows_and_retention():
    assert catalog.source_window("apikley", "V5") == (None, 480)
    assert catalog.source_window("apikley", "V4_5ALL") == (None, 60)
    assert catalog.source_window("apiinone") == (6, 60)
    assert catalog.APIKLEY.retention_days == {"audio": 15, "images": 14, "uploads": 3}


def test_sandbox_serves_providers_without_a_key(settings):
    settings.SANDBOX_PROVIDER = False
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    settings.APIKLEY_API_KEY = "real"
    settings.APIINONE_API_KEY = ""
    settings.APIFRAME_API_KEY = ""
    assert not registry.uses_sandbox("apikley") and registry.uses_sandbox("apiinone")
    assert registry.sandbox_enabled()
    assert registry.credentials("apikley") == registry.Credentials(
        "https://api.apikley.ru", "real", False, "https://api.apikley.ru/file-upload")
    assert registry.credentials("apiinone") == registry.Credentials(
        "http://127.0.0.1:8000/sandbox/apiinone/api/v1", registry.sandbox_key(), True, "")
    assert registry.credentials("apiframe").base_url == "http://127.0.0.1:8000/sandbox/apiframe"


def test_sandbox_key_is_secret_and_follows_the_setting(settings):
    derived = registry.sandbox_key()
    assert derived.startswith("sbx_") and len(derived) == 44
    assert settings.SECRET_KEY not in derived
    settings.SECRET_KEY = "another secret key for this test only"
    assert registry.sandbox_key() != derived  # not a constant anyone could know
    settings.SANDBOX_API_KEY = "chosen-by-operator"
    assert registry.sandbox_key() == "chosen-by-operator"


def test_sandbox_setting_wins_over_keys(settings):
    settings.SANDBOX_PROVIDER = True
    settings.APIKLEY_API_KEY = "real"
    creds = registry.credentials("apikley")
    assert creds.sandbox and creds.api_key == registry.sandbox_key()
    assert creds.file_upload_url.endswith("/sandbox/apikley/file-upload")


def test_no_sandbox_when_every_provider_has_a_key(settings):
    settings.SANDBOX_PROVIDER = False
    settings.APIKLEY_API_KEY = settings.APIINONE_API_KEY = settings.APIFRAME_API_KEY = "k"
    assert not registry.sandbox_enabled()
