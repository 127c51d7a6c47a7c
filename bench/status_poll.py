"""How cheap is the job-status poll? Every open job page asks every 2 seconds.

Serves the app with gunicorn (one sync worker) on a throwaway SQLite database, and measures
with sequential requests from httpx, one of each kind in turn:
- throughput of the HTMX status poll (/jobs/<code>/status/?t=<poll token>, a running job
  with two tracks and a timeline) as a ratio of a bare Django view on the same server
  (target >= 0.7), for the usual poll (nothing changed since the last one: 204 after one
  query) and for a poll that renders the partial (something changed);
- their SQL query counts, with 10 and with 10,000 jobs in the workspace (target <= 4, flat).

    .venv/bin/python bench/status_poll.py [--requests 400]
"""

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

BASE = Path(__file__).resolve().parent.parent
TARGET_RATIO, TARGET_QUERIES = 0.7, 4

SETTINGS = """from config.settings import *  # noqa
ROOT_URLCONF = "bench_status_urls"
"""
URLS = """from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import path

from config.urls import urlpatterns as app_urls


def bare(request):
    return HttpResponse("ok")


@login_required
def bare_login(request):
    return HttpResponse("ok")


urlpatterns = [path("bench/bare/", bare), path("bench/bare-login/", bare_login), *app_urls]
"""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(workdir):
    (workdir / "bench_status_settings.py").write_text(SETTINGS)
    (workdir / "bench_status_urls.py").write_text(URLS)
    env = {
        "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
        "MEDIA_ROOT": str(workdir / "media"),
        "DJANGO_SETTINGS_MODULE": "bench_status_settings",
        "DEBUG": "true",
        "LOG_LEVEL": "WARNING",
        "Q_SYNC": "true",
        # Persistent connections, as a production web process runs (see README).
        "DB_CONN_MAX_AGE": os.environ.get("DB_CONN_MAX_AGE", "60"),
    }
    os.environ.update(env)
    sys.path[:0] = [str(workdir), str(BASE)]
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return env


def make_data():
    from django.test import Client
    from django.utils import timezone

    from covers.models import CoverJob, JobEvent, JobKind, JobState, Track
    from tests.base import make_cast

    cast = make_cast()
    job = CoverJob.objects.create(
        workspace=cast.team, created_by=cast.bob, kind=JobKind.UPLOAD_COVER,
        provider="apikley", sandbox=True, state=JobState.FIRST_READY, title="Bench",
        provider_task_id="t", idempotency_key="bench", credits_held=12, progress=60,
    )
    for n in (1, 2):
        Track.objects.create(job=job, position=n, title=f"Take {n}", duration=31.5,
                             stream_url=f"https://cdn.example/stream/{n}",
                             image_url=f"https://cdn.example/{n}.png",
                             provider_urls_expire_at=timezone.now())
    for message in ("Queued. 12 credits held.", "Sent to Apikley.", "Lyrics ready.",
                    "First track ready."):
        JobEvent.objects.create(job=job, message=message)
    client = Client()
    client.force_login(cast.alice)
    return cast, job, client


def add_jobs(cast, count):
    from covers.models import CoverJob, JobKind, JobState

    CoverJob.objects.bulk_create([
        CoverJob(workspace=cast.team, created_by=cast.bob, kind=JobKind.UPLOAD_COVER,
                 provider="apikley", state=JobState.SUCCEEDED, title=f"Job {i}",
                 idempotency_key=f"bulk-{i}")
        for i in range(count)
    ], batch_size=1000)


def query_count(client, url, version="", expect=200):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    headers = {"HTTP_HX_REQUEST": "true", "HTTP_X_STATUS_VERSION": version}
    client.get(url, **headers)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, **headers)
    assert response.status_code == expect, response.status_code
    return len(ctx)


def throughput(http, url, n, headers=None, expect=200):
    start = time.perf_counter()
    for _ in range(n):
        response = http.get(url, headers=headers)
        assert response.status_code == expect, (url, response.status_code)
    return n / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-status-"))
    env = prepare(workdir)
    cast, job, client = make_data()
    page = client.get(f"/jobs/{job.code}/")
    html = page.content.decode()
    url = re.search(r'hx-get="(/jobs/[^"]+/status/[^"]*)"', html).group(1).replace("&amp;", "&")
    version = re.search(r'"X-Status-Version": "([^"]+)"', html).group(1)
    few = query_count(client, url)
    few_same = query_count(client, url, version, expect=204)
    add_jobs(cast, 10_000 - 1)
    many = query_count(client, url)
    many_same = query_count(client, url, version, expect=204)

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "-b",
         f"127.0.0.1:{port}", "-w", "1", "--log-level", "warning"],
        cwd=BASE, env={**os.environ, **env,
                       "PYTHONPATH": os.pathsep.join([str(workdir), str(BASE)])},
    )
    try:
        base = f"http://127.0.0.1:{port}"
        cookies = {"sessionid": client.cookies["sessionid"].value}
        with httpx.Client(base_url=base, cookies=cookies,
                          headers={"HX-Request": "true"}, timeout=10) as http:
            for _ in range(100):
                try:
                    http.get("/healthz")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            same = {"X-Status-Version": version}
            cases = {
                "bare": ("/bench/bare/", None, 200),
                "login": ("/bench/bare-login/", None, 200),
                "unchanged": (url, same, 204),
                "changed": (url, None, 200),
            }
            for path, headers, expect in cases.values():
                throughput(http, path, 50, headers, expect)  # warm up
            # One request of each kind in turn, timed alone: a busy machine (other processes
            # share the two cores) slows every kind alike instead of whichever ran then.
            spent = {name: 0.0 for name in cases}
            for _ in range(args.requests * 3):
                for name, (path, headers, expect) in cases.items():
                    start = time.perf_counter()
                    response = http.get(path, headers=headers)
                    spent[name] += time.perf_counter() - start
                    assert response.status_code == expect, (name, response.status_code)
            rates = {name: [args.requests * 3 / total] for name, total in spent.items()}
    finally:
        server.terminate()
        server.wait(timeout=10)
    best = {name: max(values) for name, values in rates.items()}
    ratio = best["unchanged"] / best["bare"]
    print(f"bare view:                     {best['bare']:8.0f} req/s")
    print(f"bare login_required view:      {best['login']:8.0f} req/s")
    print(f"status poll, unchanged (204):  {best['unchanged']:8.0f} req/s")
    print(f"status poll, changed (render): {best['changed']:8.0f} req/s")
    print(f"ratio unchanged poll / bare:   {ratio:8.2f}  (target >= {TARGET_RATIO})")
    print(f"ratio changed poll / bare:     {best['changed'] / best['bare']:8.2f}  "
          f"(/ login_required: {best['changed'] / best['login']:.2f})")
    print(f"queries, unchanged poll:       {few_same} with 10 jobs, {many_same} with 10,000")
    print(f"queries, changed poll:         {few} with 10 jobs, {many} with 10,000 "
          f"(target <= {TARGET_QUERIES}, flat)")
    ok = (ratio >= TARGET_RATIO and max(many, many_same) <= TARGET_QUERIES
          and many == few and many_same == few_same)
    print("OK" if ok else "BELOW TARGET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
