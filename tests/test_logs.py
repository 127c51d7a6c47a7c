"""Access logs never print the tokens some URLs carry (callbacks, signed files, poll grants,
invitations, password resets, S3 signatures)."""

import logging
import os
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from config.logs import redact

ROOT = Path(__file__).resolve().parents[1]
SECRET = "s3cr3tT0kenValue"


@pytest.mark.parametrize("line, expected", [
    (f"POST /hooks/apikley/{SECRET}/ HTTP/1.1", "POST /hooks/apikley/[redacted]/ HTTP/1.1"),
    (f"GET /files/{SECRET}/ HTTP/1.1", "GET /files/[redacted]/ HTTP/1.1"),
    (f"GET /files/{SECRET}/?download=1", "GET /files/[redacted]/?download=1"),
    (f"GET /jobs/abc/status/?t={SECRET}", "GET /jobs/abc/status/?t=[redacted]"),
    (f"GET /invitations/{SECRET}/", "GET /invitations/[redacted]/"),
    (f"GET /accounts/reset/MQ/{SECRET}/", "GET /accounts/reset/MQ/[redacted]/"),
    ("GET /accounts/reset/MQ/set-password/", "GET /accounts/reset/MQ/set-password/"),
    (f"https://b.s3/k?X-Amz-Credential={SECRET}&X-Amz-Signature={SECRET}&x=1",
     "https://b.s3/k?X-Amz-Credential=[redacted]&X-Amz-Signature=[redacted]&x=1"),
    ("GET /jobs/abc/?page=2", "GET /jobs/abc/?page=2"),
])
def test_redact(line, expected):
    assert redact(line) == expected


def test_runserver_access_log_is_redacted():
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    logger = logging.getLogger("django.server")
    handler = Keep()
    logger.addHandler(handler)
    try:
        # What runserver's request handler logs for each request.
        logger.info('"%s" %s %s', f"POST /hooks/apiframe/{SECRET}/ HTTP/1.1", 200, 12)
    finally:
        logger.removeHandler(handler)
    assert records == ['"POST /hooks/apiframe/[redacted]/ HTTP/1.1" 200 12']


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gunicorn_access_log_as_the_procfile_runs_it_is_redacted(tmp_path):
    web = next(line for line in (ROOT / "Procfile").read_text().splitlines()
               if line.startswith("web:"))
    args = shlex.split(web.split(":", 1)[1].replace("${PORT:-8000}", str(_free_port())))
    port = args[args.index("--bind") + 1].rsplit(":", 1)[1]
    args[args.index("--access-logfile") + 1] = str(tmp_path / "access.log")
    args[args.index("--workers") + 1] = "1"
    args = [a.replace("${WEB_CONCURRENCY:-3}", "1") for a in args]
    assert args[0] == "gunicorn"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
           "DEBUG": "1", "MEDIA_ROOT": str(tmp_path / "media")}
    server = subprocess.Popen([sys.executable, "-m", *args], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(f"{base}/favicon.ico")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        httpx.post(f"{base}/hooks/apikley/{SECRET}/", content=b"{}")
        httpx.get(f"{base}/files/{SECRET}/")
        httpx.get(f"{base}/jobs/x/status/?t={SECRET}")
    finally:
        server.terminate()
        server.wait(timeout=20)
    log = (tmp_path / "access.log").read_text()
    assert "/hooks/apikley/[redacted]/" in log and "/files/[redacted]/" in log
    assert "?t=[redacted]" in log
    assert SECRET not in log
