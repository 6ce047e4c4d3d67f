"""The API's JSON parser (api/parsers.py): bodies that used to end in a 500 (found by fuzzing
every operation with schemathesis on the demo data) now answer 400 and name where the problem is;
everything DRF's parser accepted is read the same."""

import io
import json

import pytest
import time_machine
from rest_framework.exceptions import ParseError
from rest_framework.test import APIClient

from api.contacts.serializers import ImportUploadSerializer
from api.parsers import JSONParser
from campaigns.models import Attempt
from tests.campaigns.leasing import NOW, leasing_scene
from tests.factories import UserFactory

LONE = "a lone UTF-16 surrogate escape (\\ud800–\\udfff without its pair) is not a character"


def parse(body: bytes):
    return JSONParser().parse(io.BytesIO(body), "application/json", {})


def parse_error(body: bytes) -> str:
    with pytest.raises(ParseError) as caught:
        parse(body)
    return str(caught.value.detail)


def test_a_surrogate_pair_and_plain_text_read_as_before():
    assert parse(b'{"note": "\\ud83d\\ude97 ok", "n": [1, 2.5, null, true], "e": "\xc3\xa9"}') == {
        "note": "\U0001f697 ok",
        "n": [1, 2.5, None, True],
        "e": "é",
    }


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b'{"results": [{"call_id": "ok"}, {"call_id": "x\\ud800"}]}', "results[1].call_id"),
        (b'{"reason": "\\udc00"}', "reason"),
        (b'{"a": {"b\\udfff": 1}}', "a.b\\udfff (the key)"),
        (b'"\\uD834"', "(the value)"),
        (b'{"big": 18446744073709551616, "s": ["\\udbff"]}', "s[0]"),  # past orjson's check
    ],
)
def test_a_lone_surrogate_is_refused_where_it_is(body, where):
    assert parse_error(body) == f"JSON parse error - {where}: {LONE}"


def test_runaway_nesting_and_non_json_constants_are_parse_errors():
    assert parse_error(b"[" * 100_000) == "JSON parse error - nested too deeply"
    assert parse_error(b'{"a": NaN}') == (
        "JSON parse error - Out of range float values are not JSON compliant: 'NaN'"
    )
    assert parse_error(b'{"a": "\xff"}') == (
        "JSON parse error - 'utf-8' codec can't decode byte 0xff in position 7: invalid start byte"
    )


def test_an_escaped_backslash_before_ud800_is_plain_text():
    assert parse(b'{"a": "\\\\ud800"}') == {"a": "\\ud800"}


@pytest.mark.parametrize("charset", ["unicode_escape", "raw_unicode_escape", "utf-7", "bz2_codec", "nope"])
def test_only_text_charsets_are_read(charset):
    """unicode_escape and utf-7 turn plain bytes into lone surrogates (`\\ud800`, `+2AA-`) that no
    escape check sees; DRF's own check refused only bytes-to-bytes codecs and unknown names."""
    with pytest.raises(ParseError) as caught:
        JSONParser().parse(io.BytesIO(b'{"r": "\\ud800x"}'), "application/json", {"encoding": charset})
    assert str(caught.value.detail) == f'Unsupported charset "{charset}" in request Content-Type header.'


@pytest.mark.parametrize(
    ("charset", "name"),
    [
        ("utf8", "Zoë"),
        ("UTF-8", "Zoë"),
        ("utf-16", "Zoë"),
        ("latin1", "Zoë"),
        ("iso-8859-2", "Zoë"),
        ("windows-1252", "Zoë"),
        ("us-ascii", "Zoe"),
    ],
)
def test_text_charsets_are_read(charset, name):
    body = ('{"name": "' + name + '", "emoji": "\\ud83d\\ude97"}').encode(charset)
    parsed = JSONParser().parse(io.BytesIO(body), "application/json", {"encoding": charset})
    assert parsed == {"name": name, "emoji": "\U0001f697"}


def test_a_lone_surrogate_nested_past_orjson_s_limit_is_still_found():
    # orjson refuses nesting beyond 254 levels: the walk then looks.
    assert parse(b"[" * 300 + b'"\\ud83d\\ude97"' + b"]" * 300) is not None
    assert parse_error(b"[" * 300 + b'"\\ud800"' + b"]" * 300) == f"JSON parse error - {'[0]' * 300}: {LONE}"


@pytest.mark.django_db
def test_a_form_in_utf7_is_refused_before_it_is_decoded():
    client = APIClient()
    client.force_authenticate(UserFactory(is_superuser=True, is_staff=True))
    response = client.post(
        "/api/v1/suppressions/",
        b"number=%2B33612345678&reason=+2AA-",
        content_type="application/x-www-form-urlencoded; charset=utf-7",
    )
    assert (response.status_code, response.json()) == (
        400,
        {"detail": 'Unsupported charset "utf-7" in request Content-Type header.'},
    )


@pytest.mark.django_db
@time_machine.travel(NOW, tick=False)
def test_a_dialler_result_with_a_lone_surrogate_is_a_400_and_records_nothing():
    scene = leasing_scene(leads=1)
    lease = scene.client.post("/api/v1/dialler/leases/", {"size": 1}, format="json").json()
    result = {
        "call_id": "\ud800",  # json.dumps writes it as the escape \ud800, as a dialler might
        "lead": lease["items"][0]["lead"],
        "lease": lease["lease"],
        "started_at": "2026-11-23T09:31:00Z",
        "outcome": "no-answer",
    }
    body = json.dumps({"results": [result]})
    response = scene.client.post("/api/v1/dialler/results/", body, content_type="application/json")
    assert (response.status_code, response.json()) == (
        400,
        {"detail": f"JSON parse error - results[0].call_id: {LONE}"},
    )
    assert not Attempt.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "body", "where"),
    [
        # the compliance and recordings views name their parsers: they use this one too
        ("/api/v1/erasures/", '{"prospect": 1, "reason": "\\ud800x"}', "reason"),
        ("/api/v1/recording-notices/", '{"country": "FR", "mode": "\\ud800x"}', "mode"),
        ("/api/v1/suppressions/", '{"number": "+33612345678", "reason": "\\ud800x"}', "reason"),
    ],
)
def test_views_with_their_own_parser_list_refuse_it_too(path, body, where):
    client = APIClient()
    client.force_authenticate(UserFactory(is_superuser=True, is_staff=True))
    response = client.post(path, body, content_type="application/json")
    assert (response.status_code, response.json()) == (
        400,
        {"detail": f"JSON parse error - {where}: {LONE}"},
    )


def test_an_import_mapping_with_a_lone_surrogate_names_the_column():
    form = ImportUploadSerializer(data={"mapping": '{"Nom\\udc80": "last_name"}'})
    assert not form.is_valid()
    assert form.errors["mapping"] == [f"Nom\\udc80 (the key): {LONE}"]
