"""api.renderers.JSONRenderer writes exactly what DRF's JSONRenderer writes."""

import dataclasses
import datetime as dt
import decimal
import json
import uuid
from zoneinfo import ZoneInfo

import pytest
from django.db import models
from django.utils.translation import gettext_lazy
from rest_framework import renderers
from rest_framework.exceptions import ErrorDetail

from api.renderers import JSONRenderer


class Mode(models.TextChoices):
    LIVE = "live", "Live"


class Level(models.IntegerChoices):
    HIGH = 3, "High"


@dataclasses.dataclass
class Point:
    x: int


PARIS = ZoneInfo("Europe/Paris")
VALUES = {
    "utc": dt.datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=dt.UTC),
    "utc_whole": dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC),
    "paris": dt.datetime(2026, 3, 29, 3, 30, tzinfo=PARIS),
    "naive": dt.datetime(2026, 3, 29, 3, 30, 1, 5),
    "date": dt.date(2026, 11, 22),
    "time": dt.time(13, 30, 0, 250),
    "delta": dt.timedelta(minutes=5, microseconds=3),
    "decimal": decimal.Decimal("12.50"),
    "uuid": uuid.UUID("0b9e4c1e-96b5-4c57-9a57-4f6f7c3c9d11"),
    "lazy": gettext_lazy("Invalid token."),
    "error": ErrorDetail("floor: this dialler is not scoped to that floor.", code="permission_denied"),
    "choice": Mode.LIVE,
    "int_choice": Level.HIGH,
    "unicode": 'Zoë Ünal – 東京 \u2028 line \u2029 para "quoted" \\ back',
    "control": "tab\tnew\nnull\x00",
    "numbers": [0, -1, 2**63 - 1, 1.5, 0.1, 0.0001, 123456789.125, 1e15, True, False, None],
    "int_keys": {1: "one", 2: "two"},
    "tuple": (1, "a"),
    "set": {"only"},
    "empty": {"list": [], "dict": {}},
    "nested": [{"lead": 1, "history": {"attempts": 0, "last_outcome": None}}],
}


@pytest.mark.parametrize("key", sorted(VALUES))
def test_each_kind_of_value_is_written_as_drf_writes_it(key):
    data = {"value": VALUES[key]}
    assert JSONRenderer().render(data) == renderers.JSONRenderer().render(data)


def test_a_whole_payload_and_an_empty_one():
    assert JSONRenderer().render(VALUES) == renderers.JSONRenderer().render(VALUES)
    assert JSONRenderer().render(None) == b""
    assert JSONRenderer().render([]) == b"[]"


def test_a_lease_answer_is_written_by_orjson(monkeypatch):
    # Guards the speed-up itself: hex ids such as "…2e3…" in a UUID must not send it to DRF.
    body = {"lease": uuid.UUID("4d2e3f00-0000-4000-8000-000000000001"), "items": [{"e164": "+33612345678"}]}
    monkeypatch.setattr(renderers.JSONRenderer, "render", lambda *a, **k: pytest.fail("fell back to DRF"))
    assert JSONRenderer().render(body) == (
        b'{"lease":"4d2e3f00-0000-4000-8000-000000000001","items":[{"e164":"+33612345678"}]}'
    )


def test_separators_escape_as_in_drf():
    out = JSONRenderer().render({"text": "a\u2028b\u2029c"})
    assert out == b'{"text":"a\\u2028b\\u2029c"}'


def test_what_orjson_refuses_falls_back_to_drf():
    huge = {"value": 2**70}
    assert JSONRenderer().render(huge) == b'{"value":1180591620717411303424}'
    with pytest.raises(TypeError, match="not JSON serializable"):
        JSONRenderer().render({"value": Point(1)})


def test_exponents_are_written_shorter_for_the_same_numbers():
    data = {"small": 2.5e-9, "large": -1e22, "first": [1e16]}
    ours = JSONRenderer().render(data)
    assert ours == b'{"small":2.5e-9,"large":-1e+22,"first":[1e+16]}'
    assert json.loads(ours) == json.loads(renderers.JSONRenderer().render(data)) == data


def test_nan_is_written_as_null_where_drf_raises():
    # The one deliberate difference (see the module): null, not a 500.
    assert JSONRenderer().render({"value": [float("nan"), float("inf")]}) == b'{"value":[null,null]}'
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        renderers.JSONRenderer().render({"value": float("nan")})


def test_indented_output_for_the_browsable_api_is_drf_s():
    data = {"a": [1, {"b": None}]}
    ours = JSONRenderer().render(data, "application/json; indent=4")
    assert ours == renderers.JSONRenderer().render(data, "application/json; indent=4")
    assert b"\n    " in ours


def test_a_lone_surrogate_is_written_escaped_where_drf_raises():
    # Only reachable by a path that does not decode with config.client_json: an answer, not a 500.
    data = {"detail": ErrorDetail("'\ud800x' is not a valid choice.")}
    with pytest.raises(UnicodeEncodeError):
        renderers.JSONRenderer().render(data)
    out = JSONRenderer().render(data)
    assert out == b'{"detail":"\'\\ud800x\' is not a valid choice."}'
    assert json.loads(out) == {"detail": "'\ud800x' is not a valid choice."}


def test_only_a_lone_surrogate_is_the_client_s_encoding_error():
    from api.errors import exception_handler

    lone = UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")
    response = exception_handler(lone, {"view": None})
    assert (response.status_code, response.data) == (
        400,
        {"detail": "A string of the request holds a lone UTF-16 surrogate, which is not a character."},
    )
    ours = UnicodeEncodeError("charmap", "\u0142", 0, 1, "character maps to <undefined>")
    assert exception_handler(ours, {"view": None}) is None  # a 500: our bug, not the client's


def test_runaway_nesting_that_got_past_the_decoders_is_the_client_s_400():
    from api.errors import exception_handler

    response = exception_handler(RecursionError("maximum recursion depth exceeded"), {"view": None})
    assert (response.status_code, response.data) == (
        400,
        {"detail": "A value of the request is nested too deeply."},
    )
