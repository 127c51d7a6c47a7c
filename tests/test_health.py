import os
import subprocess
import sys

import pytest
from django.conf import settings

from config import health

pytestmark = pytest.mark.django_db


def test_healthz_reports_each_check(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "broker": "ok", "storage": "ok"},
    }


def test_healthz_is_503_when_a_check_fails(client, monkeypatch):
    def broken():
        raise ConnectionError("refused")

    monkeypatch.setitem(health.CHECKS, "broker", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "error: ConnectionError"
    assert response.json()["status"] == "error"


def _manage(*args, **env):
    unset = ("DATABASE_URL", "REDIS_URL", "STORAGE_BACKEND", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE")
    base = {k: v for k, v in os.environ.items() if k not in unset}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR, env={**base, **env}, capture_output=True, text=True, timeout=120,
    )


PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "k3y-" + "x7Qp9" * 12,
    "ALLOWED_HOSTS": "coverlab.example.com",
    "PUBLIC_BASE_URL": "https://coverlab.example.com",
}


def test_deploy_check_passes_with_production_settings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_the_default_secret_key():
    result = _manage("check", **{k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"})
    assert result.returncode != 0
    assert "Set SECRET_KEY: the default key is refused when DEBUG is off." in result.stderr
