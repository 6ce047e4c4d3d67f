import json

from django.urls import reverse
from rest_framework import serializers

from config.client_json import ClientJSONError, loads_client_json
from contacts.models import ImportJob, PhoneNumber, Prospect
from contacts.services.import_files import ImportFileError, parse_mapping
from contacts.services.phones import is_country_code


class PhoneNumberSerializer(serializers.ModelSerializer):
    class Meta:
        model = PhoneNumber
        fields = [
            "id",
            "e164",
            "raw",
            "region",
            "number_type",
            "is_valid",
            "time_zone",
            "time_zone_candidates",
        ]
        read_only_fields = fields  # answers only: numbers come from imports


class ProspectListSerializer(serializers.ModelSerializer):
    """What a list needs to be useful, without names, e-mails or numbers (least privilege: a list
    is the bulk access the 2022 data-abuse cases came from; the detail view shows one person)."""

    number_count = serializers.IntegerField(read_only=True)
    is_erased = serializers.SerializerMethodField()

    class Meta:
        model = Prospect
        fields = [
            "id",
            "country",
            "language",
            "region",
            "source",
            "is_customer",
            "number_count",
            "last_contact_at",
            "created_at",
            "updated_at",
            "is_erased",
        ]

    def get_is_erased(self, obj) -> bool:
        return obj.erased_at is not None


class ProspectDetailSerializer(serializers.ModelSerializer):
    numbers = PhoneNumberSerializer(many=True, read_only=True)

    class Meta:
        model = Prospect
        fields = [
            "id",
            "first_name",
            "last_name",
            "language",
            "country",
            "postcode",
            "city",
            "region",
            "email",
            "source",
            "external_ref",
            "is_customer",
            "contract_ref",
            "tags",
            "numbers",
            "last_contact_at",
            "created_at",
            "updated_at",
            "erased_at",
        ]


class ImportJobSerializer(serializers.ModelSerializer):
    counts = serializers.DictField(child=serializers.IntegerField(), read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    report_url = serializers.SerializerMethodField()
    outcomes_url = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "status",
            "progress",
            "original_name",
            "file_size",
            "source",
            "default_country",
            "mapping",
            "columns",
            "rows_total",
            "counts",
            "rejection_reasons",
            "error",
            "report_url",
            "outcomes_url",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields  # answers only: a job is created by ImportUploadSerializer

    def _url(self, obj, name: str, attr: str) -> str | None:
        if not getattr(obj, attr):
            return None
        path = reverse(name, kwargs={"pk": obj.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_report_url(self, obj) -> str | None:
        return self._url(obj, "import-job-report", "report")

    def get_outcomes_url(self, obj) -> str | None:
        return self._url(obj, "import-job-outcomes", "outcomes")


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV (UTF-8, Windows-1252 or Latin-1; , ; or tab) or XLSX")
    source = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    default_country = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    mapping = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text='Explicit column mapping: JSON {"Column": "field"} or "Column=field,Other=field".',
    )

    def validate_default_country(self, value: str) -> str:
        value = value.strip().upper()
        if value and not is_country_code(value):
            raise serializers.ValidationError(f"must be an ISO 3166-1 alpha-2 code such as FR, not {value!r}")
        return value

    def validate_mapping(self, value: str) -> dict:
        value = value.strip()
        try:
            parsed = loads_client_json(value) if value.startswith("{") else value
        except ClientJSONError as exc:  # valid syntax refused (a lone surrogate, runaway nesting)
            raise serializers.ValidationError(str(exc)) from None
        except json.JSONDecodeError as exc:
            raise serializers.ValidationError(f"not valid JSON: {exc.msg}") from None
        try:
            return parse_mapping(parsed)
        except ImportFileError as exc:
            raise serializers.ValidationError(str(exc)) from exc
