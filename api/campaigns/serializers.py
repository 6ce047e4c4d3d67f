from django.contrib.auth import get_user_model
from rest_framework import serializers

from campaigns.models import Agent, Campaign, Floor, FloorQuota, Lead, ListBuild, OutcomeCode
from campaigns.services.campaigns import EDITABLE_FIELDS
from config.client_json import ClientJSONDecoder  # JSON typed into form bodies
from contacts.models import Advertiser


class FloorSerializer(serializers.ModelSerializer):
    opening_hours = serializers.JSONField(
        decoder=ClientJSONDecoder,
        required=False,
        help_text='{"0": [["09:00", "13:00"], ["14:00", "18:00"]], …}: Monday = 0, floor zone',
    )
    languages = serializers.JSONField(decoder=ClientJSONDecoder, help_text='e.g. ["fr", "wo"]')
    callee_countries = serializers.JSONField(decoder=ClientJSONDecoder, help_text='e.g. ["FR", "BE"]')

    class Meta:
        model = Floor
        fields = [
            "id",
            "code",
            "name",
            "site_city",
            "country",
            "time_zone",
            "languages",
            "callee_countries",
            "seats",
            "opening_hours",
            "outsourcer",
            "active",
        ]
        extra_kwargs = {"code": {"validators": []}}  # uniqueness is the service's (400 naming the field)


class AgentSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(slug_field="username", queryset=get_user_model().objects.all())
    floor = serializers.SlugRelatedField(slug_field="code", queryset=Floor.objects.all())
    languages = serializers.JSONField(decoder=ClientJSONDecoder, required=False)

    class Meta:
        model = Agent
        fields = ["id", "code", "user", "floor", "languages", "is_supervisor"]
        read_only_fields = ["code"]
        extra_kwargs = {"user": {"validators": []}}


class CampaignSerializer(serializers.ModelSerializer):
    advertiser = serializers.SlugRelatedField(slug_field="code", queryset=Advertiser.objects.all())
    countries = serializers.JSONField(
        decoder=ClientJSONDecoder, help_text='Callee countries, e.g. ["FR", "BE", "NL"]'
    )
    languages = serializers.JSONField(decoder=ClientJSONDecoder, required=False)
    selection = serializers.JSONField(
        decoder=ClientJSONDecoder,
        required=False,
        help_text=(
            "Selection criteria: countries, regions, postcodes (prefixes), sources, tags, audience "
            '("all", "customers", "prospects"), languages, not_contacted_days.'
        ),
    )

    class Meta:
        model = Campaign
        fields = ["id", *EDITABLE_FIELDS, "status", "created_at", "updated_at"]
        read_only_fields = ["status", "created_at", "updated_at"]


class TransitionSerializer(serializers.Serializer):
    # A plain string: the service names the allowed targets from the current status in its 400.
    to = serializers.CharField(help_text="Target status: ready, running, paused, finished, cancelled, draft")


class OutcomeCodeSerializer(serializers.ModelSerializer):
    class Meta:
        model = OutcomeCode
        fields = [
            "id",
            "campaign",
            "code",
            "label",
            "category",
            "action",
            "retry_after_minutes",
            "max_retries",
        ]
        validators: list = []  # (campaign, code) uniqueness is checked by the service

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None and not isinstance(self.instance, list | tuple):
            fields["campaign"].read_only = True
        return fields


class ListBuildSerializer(serializers.ModelSerializer):
    progress = serializers.FloatField(read_only=True)
    excluded_total = serializers.IntegerField(read_only=True)

    class Meta:
        model = ListBuild
        fields = [
            "id",
            "campaign",
            "kind",
            "status",
            "created_at",
            "started_at",
            "finished_at",
            "prospects_total",
            "prospects_scanned",
            "progress",
            "matched",
            "added",
            "excluded_total",
            "excluded",
            "distribution",
            "error",
        ]
        read_only_fields = fields


class ExclusionReasonSerializer(serializers.Serializer):
    reason = serializers.CharField()
    label = serializers.CharField()
    prospects = serializers.IntegerField()


class ExclusionReportSerializer(serializers.Serializer):
    list_build = serializers.IntegerField()
    campaign = serializers.IntegerField()
    kind = serializers.CharField()
    status = serializers.CharField()
    prospects_scanned = serializers.IntegerField()
    matched = serializers.IntegerField()
    added = serializers.IntegerField()
    excluded_total = serializers.IntegerField()
    excluded = ExclusionReasonSerializer(many=True)


class QuotaSerializer(serializers.ModelSerializer):
    floor = serializers.SlugRelatedField(slug_field="code", queryset=Floor.objects.all())

    class Meta:
        model = FloorQuota
        fields = ["floor", "percent"]


class QuotasSerializer(serializers.Serializer):
    quotas = QuotaSerializer(many=True, help_text="Empty list: back to the capacity split.")

    def validate_quotas(self, value):
        codes = [q["floor"].code for q in value]
        if len(codes) != len(set(codes)):
            raise serializers.ValidationError("A floor appears twice.")
        return value


class CountryCountsSerializer(serializers.Serializer):
    assigned = serializers.IntegerField()
    remaining = serializers.IntegerField()
    done = serializers.IntegerField()
    suppressed = serializers.IntegerField()


class DistributionRowSerializer(CountryCountsSerializer):
    floor = serializers.CharField(allow_null=True, help_text="null: leads no floor may call yet")
    floor_id = serializers.IntegerField(allow_null=True)
    countries = serializers.DictField(child=CountryCountsSerializer())


class LeadSerializer(serializers.ModelSerializer):
    """A lead without the person's name or number: the list is for steering, not for calling
    (diallers get numbers through leases, which are attributed and re-checked)."""

    floor = serializers.CharField(source="floor.code", allow_null=True, default=None)
    country = serializers.CharField(source="prospect.country")
    language = serializers.CharField(source="prospect.language")
    last_outcome = serializers.CharField(source="last_outcome.code", allow_null=True, default=None)

    class Meta:
        model = Lead
        fields = [
            "id",
            "campaign",
            "prospect",
            "floor",
            "country",
            "language",
            "state",
            "done_reason",
            "priority",
            "attempts",
            "next_call_at",
            "callback_at",
            "last_outcome",
        ]
        read_only_fields = fields
