"""Model fields of the project's own."""

from django.db import models

from config.client_json import ClientJSONDecoder


class JSONField(models.JSONField):
    """A JSON field people type into (the admin's forms, the API's form bodies).

    - Decoded with `ClientJSONDecoder` (see config.client_json): what json.loads accepts but
      nothing can store is the field's "not valid JSON" error, not a 500.
    - An emptied box in a form saves the field's default (`[]`, `{}`) instead of NULL, which the
      column refuses: Django's form JSONField reads an empty box as None, and the IntegrityError
      was a 500 in the admin (found by fuzzing it). A nullable field keeps None.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("decoder", ClientJSONDecoder)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        if kwargs.get("decoder") is ClientJSONDecoder:
            del kwargs["decoder"]
        return name, path, args, kwargs

    def save_form_data(self, instance, data):
        if data is None and not self.null:
            data = self.get_default()
        super().save_form_data(instance, data)
