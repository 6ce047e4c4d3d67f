"""Model fields of the project's own."""

import json

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.fields.json import KeyTransform

from config.client_json import ClientJSONDecoder, unstorable_string_at


def _storable(value) -> None:
    """A string holding a NUL (or a lone surrogate) anywhere in the value: PostgreSQL's jsonb
    refuses it. A JSON body gives the serializer the parsed value, which no decoder sees."""
    found = unstorable_string_at(value, nul=True)
    if found is not None:
        where, problem = found
        raise ValidationError(f"{where}: {problem}" if where != "(the value)" else problem, code="invalid")


class JSONField(models.JSONField):
    """A JSON field people type into (the admin's forms, the API's bodies).

    - Typed input is decoded with `ClientJSONDecoder` (config.client_json): Django's form JSONField
      and DRF's JSONField both decode with the model field's `decoder`, and what json.loads accepts
      but nothing can store becomes the field's "not valid JSON" error, not a 500.
    - Stored values are read with the standard decoder: the client decoder is for input, and a
      refusal on a read would hand back the raw text (Django catches it).
    - An emptied box in a form saves the field's default (`[]`, `{}`) instead of NULL, which the
      column refuses: Django's form JSONField reads an empty box as None, and the IntegrityError
      was a 500 in the admin (found by fuzzing it). A nullable field keeps None.
    - To migrations it is Django's JSONField, unchanged: none of this touches the column (and a
      new field path rebuilt each table on SQLite).
    """

    default_validators = [_storable]

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("decoder", ClientJSONDecoder)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        if kwargs.get("decoder") is ClientJSONDecoder:
            del kwargs["decoder"]
        return name, "django.db.models.JSONField", args, kwargs

    def from_db_value(self, value, expression, connection):
        # Django's, with the standard decoder.
        if value is None:
            return value
        if isinstance(expression, KeyTransform) and not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value

    def save_form_data(self, instance, data):
        if data is None and not self.null:
            data = self.get_default()
        super().save_form_data(instance, data)
