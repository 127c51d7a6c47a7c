"""Reading a signed file URL back in tests, whichever storage backend is configured."""

from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.core.files.storage import default_storage


def fetch_signed(client, url):
    """The bytes behind a signed URL: our /files/ view through the test client (relative, or
    on PUBLIC_BASE_URL), or an S3 presigned GET over HTTP."""
    parts = urlsplit(url)
    if not parts.netloc or url.startswith(settings.PUBLIC_BASE_URL):
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        response = client.get(path)
        assert response.status_code == 200, url
        return b"".join(response.streaming_content) if response.streaming else response.content
    response = httpx.get(url)
    assert response.status_code == 200, url
    return response.content


def assert_serves(client, url, name):
    """`url` serves exactly the stored file `name`: our copy, not a provider's."""
    with default_storage.open(name, "rb") as stored:
        assert fetch_signed(client, url) == stored.read(), f"{url} does not serve {name}"
