"""The HTTP wrapper: bounded retries on transient failures only, one recorded call per
attempt, secrets never recorded."""

import json

import httpx
import pytest

from covers.models import ProviderCall
from covers.providers import http as provider_http
from covers.providers import registry
from covers.providers.base import CoverRequest, ProviderError
from covers.providers.http import Http, Redactor
from tests.providers.conftest import APIKLEY_KEY, CALLBACK_TOKEN

pytestmark = pytest.mark.django_db

OK = {"code": 200, "msg": "success", "data": {"taskId": "t-1"}}
CALLBACK = f"https://coverlab.test/hooks/apikley/{CALLBACK_TOKEN}/"


def submit():
    return registry.get_adapter("apikley").submit_upload_cover(CoverRequest(
        callback_url=CALLBACK, model="V5", upload_url="https://coverlab.test/f/x/",
        prompt="calm piano"))


def calls():
    return list(ProviderCall.objects.order_by("id"))


def test_fails_twice_then_succeeds_is_retried(wire):
    fake = wire(httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), OK)
    assert submit().task_id == "t-1"
    assert len(fake.requests) == 3
    rows = calls()
    assert [c.attempt for c in rows] == [1, 2, 3]
    assert [c.status_code for c in rows] == [None, None, 200]
    assert rows[0].error.startswith("ConnectError") and rows[1].error.startswith("ReadTimeout")
    assert rows[2].error == ""


@pytest.mark.parametrize("first", [
    httpx.Response(503, text="Service Unavailable"),
    httpx.Response(429, json={"code": 429, "msg": "slow down"}),
    {"code": 455, "msg": "maintenance"},
    {"code": 429, "msg": "rate limited"},
    {"code": 500, "msg": "server error"},
])
def test_transient_answers_are_retried(wire, first):
    fake = wire(first, OK)
    assert submit().task_id == "t-1"
    assert len(fake.requests) == 2
    assert [c.attempt for c in calls()] == [1, 2]


@pytest.mark.parametrize("reply", [
    {"code": 422, "msg": "bad params"},
    {"code": 401, "msg": "bad key"},
    {"code": 402, "msg": "no credits"},
    httpx.Response(400, json={"code": 400, "msg": "bad"}),
])
def test_permanent_errors_are_not_retried(wire, reply):
    fake = wire(reply)
    with pytest.raises(ProviderError) as caught:
        submit()
    assert caught.value.permanent
    assert len(fake.requests) == 1
    assert len(calls()) == 1 and calls()[0].error


def test_retries_are_bounded_and_end_in_a_transient_error(wire, settings):
    settings.PROVIDER_MAX_ATTEMPTS = 4
    fake = wire(httpx.ConnectError("refused"))
    with pytest.raises(ProviderError) as caught:
        submit()
    assert not caught.value.permanent
    assert len(fake.requests) == 4
    assert [c.attempt for c in calls()] == [1, 2, 3, 4]


def test_still_failing_in_body_ends_in_a_transient_error(wire):
    wire({"code": 455, "msg": "maintenance"})
    with pytest.raises(ProviderError) as caught:
        submit()
    assert (caught.value.permanent, caught.value.code) == (False, 455)
    assert len(calls()) == 3


def test_backoff_grows_with_jitter_and_a_cap():
    sleeps = []
    http = Http("apikley", "https://x.test", backoff=1.0, backoff_cap=3.0, sleep=sleeps.append)
    for attempt, ceiling in ((1, 1.0), (2, 2.0), (3, 3.0), (6, 3.0)):
        for _ in range(20):
            assert ceiling / 2 <= http.delay(attempt) <= ceiling


def test_sleeps_between_attempts(real_providers):
    sleeps = []
    provider_http.set_transport(httpx.MockTransport(
        lambda r: httpx.Response(503) if len(sleeps) < 2 else httpx.Response(200, json=OK)))
    try:
        http = Http("apikley", "https://x.test", backoff=0.5, sleep=sleeps.append)
        assert http.request("GET", "/ping").status_code == 200
    finally:
        provider_http.set_transport(None)
    assert len(sleeps) == 2 and 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0


def test_no_secret_reaches_the_call_rows(wire, cast):
    from covers.models import CoverJob

    job = CoverJob.objects.create(workspace=cast.team, kind="upload_cover", provider="apikley",
                                  idempotency_key="k", callback_token=CALLBACK_TOKEN)
    wire(httpx.Response(500, text=f"oops {APIKLEY_KEY} {CALLBACK_TOKEN}"), OK)
    registry.get_adapter("apikley", job=job).submit_upload_cover(CoverRequest(
        callback_url=CALLBACK, model="V5", upload_url="https://coverlab.test/f/?token=abc",
        prompt="calm piano"))
    rows = calls()
    assert len(rows) == 2 and all(c.job == job for c in rows)
    for row in rows:
        text = json.dumps([row.endpoint, row.error, row.request_body, row.response_body])
        assert APIKLEY_KEY not in text and CALLBACK_TOKEN not in text
    assert rows[0].response_body == "oops *** ***"


def test_redactor_rules():
    r = Redactor(["sekret"])
    assert r.url("https://a.test/hooks/apikley/" + "x" * 43 + "/") == (
        "https://a.test/hooks/apikley/***/")
    assert r.url("https://a.test/f/?token=abc&b=1&api_key=z") == (
        "https://a.test/f/?token=***&b=1&api_key=***")
    assert r.data({"apiKey": "k", "nested": [{"webhookUrl": "https://a.test/w/" + "y" * 30},
                                             {"note": "has sekret inside"}]}) == {
        "apiKey": "***", "nested": [{"webhookUrl": "https://a.test/w/***"},
                                    {"note": "has *** inside"}]}


def test_response_bodies_are_trimmed(wire):
    wire({"code": 200, "msg": "x" * 5000, "data": {"taskId": "t"}})
    submit()
    assert len(calls()[0].response_body) == provider_http.RESPONSE_BODY_LIMIT


def test_client_uses_the_configured_transport_and_timeouts(settings):
    seen = []
    provider_http.set_transport(httpx.MockTransport(
        lambda r: seen.append(str(r.url)) or httpx.Response(200, content=b"bytes")))
    try:
        with provider_http.client() as client:
            assert client.get("https://files.test/a.mp3").content == b"bytes"
            assert client.timeout.connect == 5.0 and client.timeout.read == 30.0
    finally:
        provider_http.set_transport(None)
    assert seen == ["https://files.test/a.mp3"]


def test_transport_from_settings(settings):
    settings.PROVIDER_TRANSPORT = httpx.MockTransport(lambda r: httpx.Response(204))
    with provider_http.client() as client:
        assert client.get("https://anything.test/").status_code == 204


def test_signed_source_urls_are_redacted_but_endpoints_keep_task_ids(wire):
    wire({"code": 200, "msg": "success", "data": {"taskId": "t"}})
    registry.get_adapter("apikley").submit_upload_cover(CoverRequest(
        callback_url=CALLBACK, model="V5", prompt="p",
        upload_url="https://bucket.test/clip.mp3?X-Amz-Credential=abc&X-Amz-Signature=def"))
    wire({"code": 200, "msg": "success", "data": {"taskId": "a" * 32, "status": "PENDING"}})
    registry.get_adapter("apikley").fetch_status("a" * 32, "upload_cover")
    submit, poll = calls()
    assert submit.request_body["uploadUrl"] == (
        "https://bucket.test/clip.mp3?X-Amz-Credential=***&X-Amz-Signature=***")
    assert poll.endpoint.endswith("record-info?taskId=" + "a" * 32)
