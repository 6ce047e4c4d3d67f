from rest_framework import serializers

from contacts.models import Advertiser, ConsentRecord, Prospect, RegisterImport, Suppression
from contacts.services.phones import is_country_code


class SuppressionSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = Suppression
        fields = [
            "id",
            "scope",
            "advertiser",
            "e164",
            "number_hash",
            "reason",
            "source",
            "note",
            "created_by",
            "created_at",
            "expires_at",
            "is_active",
        ]
        read_only_fields = fields


class SuppressionCreateSerializer(serializers.Serializer):
    number = serializers.CharField(max_length=64, help_text="Any spelling: +33 6 12…, 0612…, 0033…")
    default_country = serializers.CharField(
        max_length=2, default="FR", help_text="Country of numbers written without a prefix (ISO 3166-1)"
    )
    reason = serializers.ChoiceField(choices=Suppression.Reason.choices, default=Suppression.Reason.MANUAL)
    advertiser = serializers.PrimaryKeyRelatedField(
        queryset=Advertiser.objects.all(),
        required=False,
        allow_null=True,
        help_text="Empty: every advertiser",
    )
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class SuppressionUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="CSV or text: one number per line, or a column named phone/number/…"
    )
    default_country = serializers.CharField(max_length=2, default="FR")
    reason = serializers.ChoiceField(choices=Suppression.Reason.choices, default=Suppression.Reason.MANUAL)
    advertiser = serializers.PrimaryKeyRelatedField(
        queryset=Advertiser.objects.all(), required=False, allow_null=True
    )
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")

    def validate_default_country(self, value: str) -> str:
        value = value.strip().upper()
        if not is_country_code(value):
            raise serializers.ValidationError(f"must be an ISO 3166-1 alpha-2 code such as FR, not {value!r}")
        return value


class RejectedLineSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    value = serializers.CharField()
    reason = serializers.CharField()


class SuppressionUploadResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    already_suppressed = serializers.IntegerField()
    rejected = RejectedLineSerializer(many=True)


class RegisterImportSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    # A plain string in the schema: several models have a differently-valued "status" enum.
    status = serializers.CharField(read_only=True, help_text="pending, running, done or failed")

    class Meta:
        model = RegisterImport
        fields = [
            "id",
            "register",
            "file_name",
            "file_date",
            "status",
            "is_current",
            "lines_total",
            "entries_count",
            "rejected_count",
            "rejected_lines",
            "error",
            "created_by",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields


class RegisterImportCreateSerializer(serializers.Serializer):
    register = serializers.ChoiceField(choices=RegisterImport.Register.choices)
    file_date = serializers.DateField(help_text="Date the register operator produced the file")
    file = serializers.FileField()


class ConsentRecordSerializer(serializers.ModelSerializer):
    prospect = serializers.PrimaryKeyRelatedField(queryset=Prospect.objects.filter(erased_at__isnull=True))
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = ConsentRecord
        fields = [
            "id",
            "prospect",
            "advertiser",
            "purpose",
            "basis",
            "contract_ref",
            "given_at",
            "channel",
            "evidence",
            "withdrawn_at",
            "last_used_at",
            "valid_until",
            "created_at",
            "is_active",
        ]
        read_only_fields = ["withdrawn_at", "last_used_at", "created_at", "is_active"]


class ConsentUpdateSerializer(serializers.ModelSerializer):
    class Meta:
        model = ConsentRecord
        fields = ["channel", "evidence", "contract_ref", "valid_until"]


class ErasureSerializer(serializers.Serializer):
    prospect = serializers.PrimaryKeyRelatedField(queryset=Prospect.objects.all())
    objected = serializers.BooleanField(
        help_text="The person also objected to calls (GDPR art. 21): keep their numbers as hashes on the "
        "suppression list so they are never called again."
    )


class ErasureResultSerializer(serializers.Serializer):
    prospect = serializers.IntegerField()
    erased_at = serializers.DateTimeField()
    objected = serializers.BooleanField()
