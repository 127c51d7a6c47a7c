"""The admin shows jobs with their timeline, provider events and calls, read-only."""

import pytest

from accounts.models import User
from covers.models import CoverJob, JobEvent, JobKind, ProviderCall, ProviderEvent


@pytest.fixture
def staff_client(client, cast):
    admin = User.objects.create_superuser("ops@example.org", "pw-for-ops-123")
    client.force_login(admin)
    return client


def test_job_admin_pages(staff_client, cast):
    job = CoverJob.objects.create(workspace=cast.team, created_by=cast.bob, title="Demo",
                                  kind=JobKind.UPLOAD_COVER, provider="apikley",
                                  idempotency_key="k")
    JobEvent.objects.create(job=job, message="Queued. 12 credits held.")
    ProviderEvent.objects.create(provider="apikley", job=job, dedupe_key="a:b:c", body="{}")
    ProviderCall.objects.create(provider="apikley", job=job, method="POST",
                                endpoint="/api/v1/generate/upload-cover", status_code=200)
    for url in ("/admin/covers/coverjob/", f"/admin/covers/coverjob/{job.pk}/change/",
                "/admin/covers/providerevent/", "/admin/covers/providercall/",
                "/admin/covers/track/", "/admin/covers/sourceclip/"):
        assert staff_client.get(url).status_code == 200, url
    html = staff_client.get(f"/admin/covers/coverjob/{job.pk}/change/").content.decode()
    assert "Queued. 12 credits held." in html and "/api/v1/generate/upload-cover" in html
    assert job.callback_token not in html
    assert staff_client.get("/admin/covers/coverjob/add/").status_code == 403
