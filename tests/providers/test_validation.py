"""Every documented limit and mode rule: at the limit it passes, one past it names the field,
and nothing is sent."""

from decimal import Decimal

import pytest

from covers.providers import catalog, registry
from covers.providers.base import CoverRequest, ValidationFailed

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("real_providers")]

OK = {"code": 200, "msg": "success", "data": {"taskId": "t"}}
CALLBACK = "https://coverlab.test/hooks/x/token/"


def apikley(**fields):
    base = dict(callback_url=CALLBACK, model="V5", upload_url="https://coverlab.test/f/",
                custom_mode=True, prompt="la la", style="pop", title="Song")
    return CoverRequest(**(base | fields))


def errors_of(provider, request, wire):
    fake = wire(OK)
    adapter = registry.get_adapter(provider)
    try:
        adapter.validate_cover(request)
    except ValidationFailed as exc:
        with pytest.raises(ValidationFailed):
            adapter.submit_track_cover(request)
        assert fake.requests == []  # refused before anything was sent
        return exc.errors
    return {}


APIKLEY_LIMITS = [
    (model, name, getattr(limits, name))
    for model, limits in catalog.APIKLEY.models.items()
    for name in ("prompt", "style", "title")
]


@pytest.mark.parametrize("model,field,limit", APIKLEY_LIMITS)
def test_apikley_custom_mode_limits_per_model(wire, model, field, limit):
    assert errors_of("apikley", apikley(model=model, **{field: "x" * limit}), wire) == {}
    errors = errors_of("apikley", apikley(model=model, **{field: "x" * (limit + 1)}), wire)
    assert list(errors) == [field]
    assert f"At most {limit} characters" in errors[field]


def test_apikley_documented_numbers():
    m = catalog.APIKLEY.models
    assert (m["V5"].prompt, m["V5"].style, m["V5"].title) == (5000, 1000, 100)
    assert (m["V4_5PLUS"].title, m["V4_5"].title, m["V4_5ALL"].title) == (100, 100, 80)
    assert (m["V4"].prompt, m["V4"].style, m["V4"].title) == (3000, 200, 80)


def test_apikley_non_custom_prompt_limit(wire):
    simple = dict(custom_mode=False, style="", title="")
    assert errors_of("apikley", apikley(prompt="x" * 500, **simple), wire) == {}
    assert list(errors_of("apikley", apikley(prompt="x" * 501, **simple), wire)) == ["prompt"]


@pytest.mark.parametrize("custom,instrumental,missing,required", [
    (True, False, "style", True), (True, False, "title", True), (True, False, "prompt", True),
    (True, True, "style", True), (True, True, "title", True), (True, True, "prompt", False),
    (False, False, "prompt", True), (False, True, "prompt", True),
])
def test_apikley_mode_rules(wire, custom, instrumental, missing, required):
    fields = dict(custom_mode=custom, instrumental=instrumental)
    if not custom:
        fields.update(style="", title="")
    fields[missing] = ""
    errors = errors_of("apikley", apikley(**fields), wire)
    assert (missing in errors) is required
    if required:
        assert list(errors) == [missing]


@pytest.mark.parametrize("field,value", [("style", "pop"), ("title", "Song"),
                                         ("vocal_gender", "f"), ("persona_id", "p1")])
def test_apikley_custom_only_fields_refused_in_simple_mode(wire, field, value):
    request = apikley(custom_mode=False, **({"style": "", "title": ""} | {field: value}))
    assert list(errors_of("apikley", request, wire)) == [field]


@pytest.mark.parametrize("field", ["style_weight", "weirdness_constraint", "audio_weight"])
def test_apikley_weights_between_0_and_1(wire, field):
    for ok in ("0", "1", "0.125"):
        assert errors_of("apikley", apikley(**{field: Decimal(ok)}), wire) == {}
    for bad in ("-0.01", "1.01"):
        assert list(errors_of("apikley", apikley(**{field: Decimal(bad)}), wire)) == [field]


def test_apikley_model_vocal_gender_and_urls(wire):
    assert list(errors_of("apikley", apikley(model="V3"), wire)) == ["model"]
    assert list(errors_of("apikley", apikley(vocal_gender="x"), wire)) == ["vocal_gender"]
    assert list(errors_of("apikley", apikley(upload_url=""), wire)) == ["upload_url"]
    assert list(errors_of("apikley", apikley(callback_url=""), wire)) == ["callback_url"]


@pytest.mark.parametrize("model,limit", [("V5", 480), ("V4", 480), ("V4_5ALL", 60)])
def test_apikley_source_length(wire, model, limit):
    assert errors_of("apikley", apikley(model=model, source_seconds=limit), wire) == {}
    errors = errors_of("apikley", apikley(model=model, source_seconds=limit + 0.1), wire)
    assert list(errors) == ["source_seconds"] and f"at most {limit}" in errors["source_seconds"]


def apiinone(**fields):
    base = dict(callback_url=CALLBACK, audio_id="aud1", custom_mode=True, prompt="words")
    return CoverRequest(**(base | fields))


def test_apiinone_source_window(wire):
    for ok in (6, 60):
        assert errors_of("apiinone", apiinone(source_seconds=ok), wire) == {}
    for bad in (5.9, 60.1):
        assert list(errors_of("apiinone", apiinone(source_seconds=bad), wire)) == [
            "source_seconds"]


def test_apiinone_rules(wire):
    assert list(errors_of("apiinone", apiinone(audio_id=""), wire)) == ["audio_id"]
    assert list(errors_of("apiinone", apiinone(prompt=""), wire)) == ["prompt"]
    assert errors_of("apiinone", apiinone(custom_mode=False, prompt=""), wire) == {}


@pytest.mark.parametrize("field", ["prompt", "style", "title"])
def test_apiinone_text_limits(wire, field):
    limit = catalog.APIINONE.limits[field]
    assert errors_of("apiinone", apiinone(**{field: "x" * limit}), wire) == {}
    assert list(errors_of("apiinone", apiinone(**{field: "x" * (limit + 1)}), wire)) == [field]


def apiframe(**fields):
    base = dict(callback_url=CALLBACK, parent_job_id="p", track_index=1)
    return CoverRequest(**(base | fields))


@pytest.mark.parametrize("field,limit", [("prompt", 5000), ("title", 80), ("style", 1000),
                                         ("negative_tags", 500)])
def test_apiframe_text_limits(wire, field, limit):
    assert errors_of("apiframe", apiframe(**{field: "x" * limit}), wire) == {}
    assert list(errors_of("apiframe", apiframe(**{field: "x" * (limit + 1)}), wire)) == [field]


def test_apiframe_exactly_one_of_index_or_track_id(wire):
    assert errors_of("apiframe", apiframe(track_index=None, track_id="t1"), wire) == {}
    assert errors_of("apiframe", apiframe(track_index=2), wire) == {}
    for fields in (dict(track_index=None), dict(track_index=1, track_id="t1"),
                   dict(track_index=0), dict(track_index=3)):
        assert list(errors_of("apiframe", apiframe(**fields), wire)) == ["track_index"]


def test_apiframe_parent_and_audio_weight(wire):
    assert list(errors_of("apiframe", apiframe(parent_job_id=""), wire)) == ["parent_job_id"]
    assert errors_of("apiframe", apiframe(audio_weight=Decimal("1")), wire) == {}
    assert list(errors_of("apiframe", apiframe(audio_weight=Decimal("1.01")), wire)) == [
        "audio_weight"]
