"""JSON typed into a form field (the admin's forms, the API's form bodies) is decoded by
`config.client_json.ClientJSONDecoder`: runaway nesting, a lone UTF-16 surrogate escape, NaN, a
number past a float and a NUL were each a 500 in the admin (RecursionError, UnicodeEncodeError,
PostgreSQL refusing the value) and are now the field's "not valid JSON" error."""

import importlib
import json
import pkgutil

import pytest
from django import forms
from django.contrib import admin
from django.test import RequestFactory
from rest_framework import serializers
from rest_framework.test import APIClient

import api
from campaigns.models import CountryPolicy
from campaigns.services.policies import seed_country_policies
from config.client_json import ClientJSONDecoder, ClientJSONError, loads_client_json
from config.fields import JSONField
from contacts.models import AuditEntry
from tests.factories import UserFactory

BAD_JSON = {
    "runaway nesting": "[" * 100_000,
    "a lone surrogate": '{"0": [["09:00", "12:\\ud800"]]}',
    "NaN": '{"0": [["09:00", NaN]]}',
    "Infinity": "[Infinity]",
    "a number past a float": "[1e999]",
    "a NUL": '{"0": [["09:00", "12:\\u0000"]]}',
}


# --- the decoder ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 100_000, "nested too deeply"),
        (
            '{"a": [1, {"b": "x\\udc00"}]}',
            "a[1].b: a lone UTF-16 surrogate escape (\\ud800–\\udfff without its pair) is not a character",
        ),
        ('{"a": -Infinity}', "Out of range float values are not JSON compliant: '-Infinity'"),
        ('{"a": [2, -1e400]}', "-1e400 is out of the range of a number"),
        ('{"a": {"k\\u0000": 1}}', "a.k\\u0000 (the key): a NUL character (\\u0000) cannot be stored"),
    ],
)
def test_what_json_accepts_but_nothing_can_store_is_a_decode_error(text, message):
    with pytest.raises(json.JSONDecodeError) as caught:
        json.loads(text, cls=ClientJSONDecoder)
    assert type(caught.value) is ClientJSONError
    assert str(caught.value) == message


def test_everything_else_decodes_as_the_standard_library_does():
    text = '{"a": [1, 2.5, null, true, "\\ud83d\\ude97", "\\\\ud800"], "b": {}}'
    assert json.loads(text, cls=ClientJSONDecoder) == json.loads(text)
    assert loads_client_json("[NaN]", strict=False)[0] != loads_client_json("[1]")[0]  # NaN != 1
    # A body leaves a NUL and infinity to the field that reads them (one item of a batch refused).
    assert loads_client_json('["a\\u0000", 1e999]') == ["a\x00", float("inf")]
    with pytest.raises(json.JSONDecodeError, match="Expecting value: line 1 column 2"):
        json.loads("[", cls=ClientJSONDecoder)


# --- every JSON form field uses it ---------------------------------------------------------------


@pytest.mark.django_db
def test_every_json_field_of_every_admin_form_decodes_with_it():
    request = RequestFactory().get("/admin/")
    request.user = UserFactory(is_superuser=True, is_staff=True)
    seen, wrong = [], []
    for model_admin in admin.site._registry.values():
        form_classes = [
            inline.get_formset(request).form for inline in model_admin.get_inline_instances(request)
        ]
        if model_admin.has_add_permission(request) or model_admin.has_change_permission(request):
            form_classes.append(model_admin.get_form(request))  # else read-only: takes no input
        for form_class in form_classes:
            for name, field in form_class.base_fields.items():
                if isinstance(field, forms.JSONField):
                    model = form_class._meta.model
                    where = f"{model.__name__}.{name}"
                    seen.append(where)
                    # The project's field: its decoder, and an emptied box saved as the default.
                    if field.decoder is not ClientJSONDecoder or not isinstance(
                        model._meta.get_field(name), JSONField
                    ):
                        wrong.append(where)
    assert wrong == [], "\n".join(wrong)
    assert "CountryPolicy.windows" in seen and "Floor.opening_hours" in seen  # the walk finds them


def _api_serializer_classes():
    for module_info in pkgutil.walk_packages(api.__path__, "api."):
        if module_info.name.rsplit(".", 1)[-1] not in ("serializers", "views"):
            continue
        module = importlib.import_module(module_info.name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, serializers.BaseSerializer)
                and value.__module__ == module.__name__
            ):
                yield value


def _writable_json_fields(serializer, prefix=""):
    for name, field in serializer.fields.items():
        if field.read_only:
            continue
        where = f"{prefix}{name}"
        while isinstance(field, (serializers.ListField, serializers.DictField)):
            field, where = field.child, f"{where}[]"
        if isinstance(field, serializers.ListSerializer):
            field = field.child
        if isinstance(field, serializers.JSONField):
            yield where, field
        elif isinstance(field, serializers.Serializer):
            yield from _writable_json_fields(field, f"{where}.")


def test_every_writable_json_field_of_every_api_serializer_decodes_form_input_with_it():
    seen, wrong = [], []
    for cls in _api_serializer_classes():
        for where, field in _writable_json_fields(cls()):
            seen.append(f"{cls.__name__}.{where}")
            if field.decoder is not ClientJSONDecoder:
                wrong.append(f"{cls.__name__}.{where}")
    assert wrong == [], "\n".join(wrong)
    assert "CountryPolicySerializer.windows" in seen and "FloorSerializer.opening_hours" in seen


# --- through the admin and the API ---------------------------------------------------------------


@pytest.fixture
def fr_policy(db):
    seed_country_policies()
    return CountryPolicy.objects.filter(country="FR").latest("effective_from")


def _admin_form(policy: CountryPolicy, **changes) -> dict:
    form = {}
    for field in CountryPolicy._meta.concrete_fields:
        if field.name == "id" or not field.editable:
            continue
        value = getattr(policy, field.attname)
        if isinstance(field, type(CountryPolicy._meta.get_field("windows"))):
            value = json.dumps(value)
        elif isinstance(value, bool):
            value = "on" if value else ""
        form[field.name] = "" if value is None else str(value)
    return {**form, **changes}


@pytest.mark.django_db
@pytest.mark.parametrize("text", BAD_JSON.values(), ids=BAD_JSON.keys())
def test_the_admin_answers_the_field_s_error_and_stores_nothing(client, fr_policy, text):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    url = f"/admin/campaigns/countrypolicy/{fr_policy.pk}/change/"
    before = CountryPolicy.objects.filter(pk=fr_policy.pk).values().get()
    response = client.post(url, _admin_form(fr_policy, windows=text, label="changed"))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"windows": ["Enter a valid JSON."]}
    assert CountryPolicy.objects.filter(pk=fr_policy.pk).values().get() == before
    assert not AuditEntry.objects.filter(action="campaigns.countrypolicy.changed").exists()


@pytest.mark.django_db
def test_the_admin_form_still_saves_good_json(client, fr_policy):
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    windows = {**fr_policy.windows, "5": [["10:00", "\u00e9t\u00e9"[:0] + "12:00"]]}
    response = client.post(
        f"/admin/campaigns/countrypolicy/{fr_policy.pk}/change/",
        _admin_form(fr_policy, windows=json.dumps(windows)),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    fr_policy.refresh_from_db()
    assert fr_policy.windows["5"] == [["10:00", "12:00"]]


@pytest.mark.django_db
def test_an_emptied_json_box_saves_the_field_s_default_not_null(client, fr_policy):
    # Was an IntegrityError (NOT NULL), a 500, on every JSON field that has a default.
    CountryPolicy.objects.filter(pk=fr_policy.pk).update(holiday_subdivision_aliases={"67": "6AE"})
    fr_policy.refresh_from_db()
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    form = _admin_form(fr_policy, holiday_subdivision_aliases="", extra_blocked_dates="")
    response = client.post(f"/admin/campaigns/countrypolicy/{fr_policy.pk}/change/", form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    fr_policy.refresh_from_db()
    assert (fr_policy.holiday_subdivision_aliases, fr_policy.extra_blocked_dates) == ({}, [])


@pytest.mark.django_db
@pytest.mark.parametrize("text", BAD_JSON.values(), ids=BAD_JSON.keys())
def test_an_api_form_body_answers_400_naming_the_field(fr_policy, text):
    client = APIClient()
    client.force_authenticate(UserFactory(is_superuser=True, is_staff=True))
    before = CountryPolicy.objects.filter(pk=fr_policy.pk).values().get()
    response = client.patch(
        f"/api/v1/country-policies/{fr_policy.pk}/", {"windows": text}, format="multipart"
    )
    assert (response.status_code, response.json()) == (400, {"windows": ["Value must be valid JSON."]})
    assert CountryPolicy.objects.filter(pk=fr_policy.pk).values().get() == before


@pytest.mark.django_db
def test_a_policy_error_on_no_field_of_the_form_is_a_form_error(client, fr_policy, monkeypatch):
    # ValidationError({None: …}) was a ValueError in Django's form (a 500).
    from campaigns.admin import rules
    from campaigns.services.policies import PolicyError

    def refuse(policy):
        raise PolicyError("periods", "overlaps the period of policy FR 2023")

    monkeypatch.setattr(rules, "validate_policy", refuse)
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    response = client.post(f"/admin/campaigns/countrypolicy/{fr_policy.pk}/change/", _admin_form(fr_policy))
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == ["overlaps the period of policy FR 2023"]


@pytest.mark.django_db
def test_a_nul_in_a_json_body_is_the_json_field_s_400(fr_policy):
    # The body decoder leaves NUL to the field (per-item errors of the dialler's batches); a JSON
    # field's validator refuses it, naming the field, where PostgreSQL's jsonb would have.
    client = APIClient()
    client.force_authenticate(UserFactory(is_superuser=True, is_staff=True))
    before = CountryPolicy.objects.filter(pk=fr_policy.pk).values().get()
    response = client.patch(
        f"/api/v1/country-policies/{fr_policy.pk}/",
        b'{"holiday_subdivision_aliases": {"67": "6A\\u0000E"}}',
        content_type="application/json",
    )
    assert (response.status_code, response.json()) == (
        400,
        {"holiday_subdivision_aliases": ["67: a NUL character (\\u0000) cannot be stored"]},
    )
    assert CountryPolicy.objects.filter(pk=fr_policy.pk).values().get() == before


@pytest.mark.django_db
def test_stored_json_reads_back_as_stored(fr_policy):
    # Read with the standard decoder: the client decoder refused a NUL on reads too, and Django
    # then handed back the raw text (SQLite can store one; PostgreSQL cannot).
    from django.db import connection

    value = {"67": "6AE", "note": "x\x00y" if connection.vendor == "sqlite" else "xy", "n": 1.5}
    CountryPolicy.objects.filter(pk=fr_policy.pk).update(holiday_subdivision_aliases=value)
    fr_policy.refresh_from_db()
    assert fr_policy.holiday_subdivision_aliases == value


def test_to_migrations_the_field_is_django_s():
    field = CountryPolicy._meta.get_field("windows")
    name, path, args, kwargs = field.deconstruct()
    assert (path, "decoder" in kwargs) == ("django.db.models.JSONField", False)
