"""Does the library page stay fast as a workspace fills up?

On a throwaway SQLite database (or DATABASE_URL with --database-url), one member belongs to a
workspace with 10 jobs and one with 10,000; the library's first page (and a filtered search)
is timed in each, in-process through Django's test client, and its SQL queries are counted.
Targets: the 10,000-job page under 1.5x the time of the 10-job page, and the same number of
queries.

    .venv/bin/python bench/library_scale.py [--rounds 40] [--database-url postgres://...]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent
TARGET_RATIO = 1.5
CASES = [
    ("first page", "/library/", {}),
    ("live rows (htmx)", "/library/", {"HTTP_HX_REQUEST": "true"}),
    ("filtered", "/library/?state=failed&provider=apikley", {}),
    # A substring search reads every row of the workspace (no full-text index): reported,
    # not part of the target.
    ("search", "/library/?q=jazz", {}),
]
TARGETED = {"first page", "live rows (htmx)"}


def prepare(database_url):
    workdir = Path(tempfile.mkdtemp(prefix="bench-library-"))
    os.environ.update({
        "DATABASE_URL": database_url or f"sqlite:///{workdir / 'db.sqlite3'}",
        "MEDIA_ROOT": str(workdir / "media"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "true",
        "LOG_LEVEL": "WARNING",
        "DB_CONN_MAX_AGE": os.environ.get("DB_CONN_MAX_AGE", "60"),
    })
    sys.path.insert(0, str(BASE))
    import django

    django.setup()
    from django.core.management import call_command

    if database_url:
        from django.test.utils import setup_databases

        # Never touch the real database: Django's test database, created and dropped here.
        return setup_databases(verbosity=0, interactive=False)
    call_command("migrate", verbosity=0)
    return None


def fill(workspace, users, count):
    from covers.models import CoverJob, JobKind, JobState, Provider

    states = [JobState.SUCCEEDED] * 8 + [JobState.FAILED, JobState.FIRST_READY]
    kinds = [JobKind.UPLOAD_COVER, JobKind.UPLOAD_COVER, JobKind.TRACK_COVER, JobKind.COVER_ART]
    providers = list(Provider.values)
    CoverJob.objects.bulk_create([
        CoverJob(workspace=workspace, created_by=users[i % len(users)], kind=kinds[i % 4],
                 provider=providers[i % 3], state=states[i % 10], title=f"Song {i}",
                 style="lofi, warm keys" if i % 3 else "jazz trio", credits_held=12,
                 credits_charged=12 if states[i % 10] == JobState.SUCCEEDED else 0,
                 sandbox=bool(i % 2), idempotency_key=f"{workspace.pk}-{i}")
        for i in range(count)
    ], batch_size=1000)


def use(client, workspace):
    session = client.session
    session["workspace_code"] = str(workspace.code)
    session.save()


def measure(client, workspaces, url, rounds, **headers):
    """Median time and query count of `url` in each workspace. Requests alternate between
    the workspaces, so a busy machine slows both alike."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times = {ws.pk: [] for ws in workspaces}
    for n in range(rounds + 5):
        for ws in workspaces:
            use(client, ws)
            start = time.perf_counter()
            response = client.get(url, **headers)
            elapsed = time.perf_counter() - start
            assert response.status_code == 200
            if n >= 5:  # warm-up rounds are not counted
                times[ws.pk].append(elapsed)
    counts = {}
    for ws in workspaces:
        use(client, ws)
        with CaptureQueriesContext(connection) as ctx:
            client.get(url, **headers)
        counts[ws.pk] = len(ctx)
    return {ws.pk: (statistics.median(times[ws.pk]), counts[ws.pk]) for ws in workspaces}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    old = prepare(args.database_url)
    from django.test import Client

    from accounts import services
    from accounts.models import Membership, Role
    from tests.base import make_cast

    cast = make_cast()
    small = services.create_workspace(cast.alice, "Ten jobs")
    big = services.create_workspace(cast.alice, "Ten thousand jobs")
    for ws in (small, big):
        Membership.objects.create(user=cast.bob, workspace=ws, role=Role.MEMBER)
    fill(small, [cast.alice, cast.bob], 10)
    fill(big, [cast.alice, cast.bob], 10_000)

    client = Client()
    client.force_login(cast.alice)
    results = {}
    for label, url, headers in CASES:
        by_workspace = measure(client, (small, big), url, args.rounds, **headers)
        results[(small.name, label)] = by_workspace[small.pk]
        results[(big.name, label)] = by_workspace[big.pk]
    ok = True
    for label, _, _ in CASES:
        (t10, q10), (t10k, q10k) = results[(small.name, label)], results[(big.name, label)]
        ratio = t10k / t10
        if label in TARGETED:
            ok &= ratio < TARGET_RATIO and q10 == q10k
        print(f"{label:16} 10 jobs: {t10 * 1000:6.1f} ms, {q10} queries | "
              f"10,000 jobs: {t10k * 1000:6.1f} ms, {q10k} queries | ratio {ratio:.2f} "
              f""
              + (f" (target < {TARGET_RATIO}, same queries)" if label in TARGETED else ""))
    if old is not None:
        from django.test.utils import teardown_databases

        teardown_databases(old, verbosity=0)
    print("OK" if ok else "BELOW TARGET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
