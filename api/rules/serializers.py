import datetime as dt

from django.utils.dateparse import parse_datetime
from rest_framework import serializers

from campaigns.models import CountryPolicy
from config.db import MAX_ID

AT_EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
AT_LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)


class CountryPolicySerializer(serializers.ModelSerializer):
    class Meta:
        model = CountryPolicy
        fields = [
            "id",
            "country",
            "effective_from",
            "effective_to",
            "label",
            "sources",
            "windows",
            "special_days",
            "holiday_eve_windows",
            "blocked_on_holidays",
            "holiday_categories",
            "holiday_subdivision_aliases",
            "extra_blocked_dates",
            "frequency_max",
            "frequency_days",
            "refusal_quiet_days",
            "legal_basis",
            "contract_exception",
            "consent_max_age_days",
            "register",
            "register_max_age_days",
            "register_consent_override",
            "register_revokes_prior_consent",
            "recording_mode",
            "recording_retention_days",
            "evaluation_retention_days",
            "prospect_retention_days",
            "updated_at",
        ]
        read_only_fields = ["id", "updated_at"]
        # Overlaps and malformed windows are checked by the service, which names the field.
        validators: list = []


class CallabilityQuerySerializer(serializers.Serializer):
    phone_number = serializers.CharField(help_text="PhoneNumber id, or its E.164 (+33612…)")
    campaign = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    at = serializers.CharField(required=False, help_text="ISO 8601 instant with offset; default now")

    def validate_at(self, value):
        # A naive time would be read in the server's zone: exactly the bug the rules exist to avoid.
        try:
            parsed = parse_datetime(value)
        except ValueError:
            parsed = None
        if parsed is None:
            raise serializers.ValidationError("Not an ISO 8601 date-time, e.g. 2026-03-31T10:00:00+02:00.")
        if parsed.tzinfo is None:
            raise serializers.ValidationError("Give a time zone offset, e.g. 2026-03-31T10:00:00+02:00.")
        # The decision looks days ahead for the next open instant and reads holiday calendars by
        # year: near year 1 or 9999 that arithmetic overflows. No campaign lives outside this range.
        try:
            in_range = AT_EARLIEST <= parsed < AT_LATEST
        except OverflowError:
            in_range = False
        if not in_range:
            raise serializers.ValidationError("Must be between 2000-01-01 and 2099-12-31 (UTC).")
        return parsed


class CallabilityDecisionSerializer(serializers.Serializer):
    phone_number = serializers.IntegerField()
    e164 = serializers.CharField()
    campaign = serializers.IntegerField()
    at = serializers.DateTimeField()
    callable = serializers.BooleanField()
    reasons = serializers.ListField(child=serializers.CharField())
    next_callable_at = serializers.DateTimeField(allow_null=True)
    next_callable_at_local = serializers.CharField(allow_null=True)
    details = serializers.DictField()
