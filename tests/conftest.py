import os

import pytest

from tests.base import make_cast

# Live-server browser tests run the ORM from Playwright's thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def cast(db):
    return make_cast()


@pytest.fixture
def alice_client(client, cast):
    client.force_login(cast.alice)
    return client


@pytest.fixture
def bob_client(client, cast):
    client.force_login(cast.bob)
    return client


@pytest.fixture
def charlie_client(client, cast):
    client.force_login(cast.charlie)
    return client


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Local storage writes under a per-test folder, never the developer's media/."""
    if settings.STORAGE_BACKEND == "local":
        settings.MEDIA_ROOT = tmp_path / "media"
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": tmp_path / "media", "base_url": "/media/"},
            },
        }


@pytest.fixture(scope="session", autouse=True)
def _s3_bucket():
    """On STORAGE_BACKEND=s3 (moto's server in CI), make sure the bucket exists."""
    from django.conf import settings

    if settings.STORAGE_BACKEND != "s3":
        return
    import boto3

    options = settings.STORAGES["default"]["OPTIONS"]
    s3 = boto3.client(
        "s3",
        endpoint_url=options["endpoint_url"],
        aws_access_key_id=options["access_key"],
        aws_secret_access_key=options["secret_key"],
        region_name=options["region_name"],
    )
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if options["bucket_name"] not in existing:
        s3.create_bucket(Bucket=options["bucket_name"])


# Providers (the sandbox) and downloads routed into the app over in-process HTTP.
from tests.providers.transport import provider_transport  # noqa: E402,F401
