from rest_framework import serializers

from campaigns.models import Attempt, Campaign, CampaignRecordingPolicy, Recording, RecordingNotice
from campaigns.services.audio import ACCEPTED_AUDIO
from config.db import MAX_ID

AUDIO_HELP = f"{ACCEPTED_AUDIO}: the name's extension and the first bytes must be the same format."


class RecordingNoticeSerializer(serializers.ModelSerializer):
    class Meta:
        model = RecordingNotice
        fields = [
            "id",
            "country",
            "language",
            "version",
            "mode",
            "text",
            "audio",
            "effective_from",
            "effective_to",
            "active",
            "created_at",
        ]
        read_only_fields = ["version", "active", "created_at"]


class NoticePublishSerializer(serializers.Serializer):
    country = serializers.CharField(max_length=2)
    language = serializers.CharField(
        max_length=8, help_text="A language code, optionally with a region: fr, nl-BE"
    )
    mode = serializers.ChoiceField(choices=RecordingNotice.Mode.choices)
    text = serializers.CharField()
    audio = serializers.FileField(required=False, allow_null=True, help_text=AUDIO_HELP)
    effective_from = serializers.DateField()
    effective_to = serializers.DateField(required=False, allow_null=True)


class NoticeChangeSerializer(serializers.Serializer):
    """A change is published as the next version; omitted fields keep the current version's value."""

    mode = serializers.ChoiceField(choices=RecordingNotice.Mode.choices, required=False)
    text = serializers.CharField(required=False)
    audio = serializers.FileField(required=False, allow_null=True, help_text=AUDIO_HELP)
    effective_from = serializers.DateField(required=False)
    effective_to = serializers.DateField(required=False, allow_null=True)


class RecordingSerializer(serializers.ModelSerializer):
    campaign = serializers.IntegerField(source="attempt.campaign_id", read_only=True)
    has_audio = serializers.SerializerMethodField()

    class Meta:
        model = Recording
        fields = [
            "id",
            "attempt",
            "campaign",
            "country",
            "duration_seconds",
            "size_bytes",
            "checksum",
            "has_audio",
            "created_at",
            "purge_after",
            "purged_at",
            "purge_reason",
        ]

    def get_has_audio(self, obj) -> bool:
        return obj.purged_at is None and bool(obj.file or obj.uri)


class RecordingUploadSerializer(serializers.Serializer):
    """Multipart with `file`, or JSON with `uri`. The attempt must be one of the caller's own."""

    attempt = serializers.PrimaryKeyRelatedField(queryset=Attempt.objects.none())
    file = serializers.FileField(required=False, allow_null=True, help_text=AUDIO_HELP)
    uri = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")
    duration_seconds = serializers.IntegerField(
        min_value=0, max_value=2**31 - 1, required=False, allow_null=True
    )
    size_bytes = serializers.IntegerField(min_value=0, max_value=MAX_ID, required=False, allow_null=True)
    checksum = serializers.RegexField(r"^[0-9a-fA-F]{64}$", required=False, allow_blank=True, default="")
    payment_data_spoken = serializers.BooleanField(required=False, default=False)

    def __init__(self, *args, attempts=None, **kwargs):
        super().__init__(*args, **kwargs)
        if attempts is not None:
            self.fields["attempt"].queryset = attempts

    def validate(self, attrs):
        if not attrs.get("file") and not attrs.get("uri"):
            raise serializers.ValidationError({"file": ["Give either a file (multipart) or a uri."]})
        if attrs.get("file") and attrs.get("uri"):
            raise serializers.ValidationError({"uri": ["Give either a file or a uri, not both."]})
        return attrs


class PurgeSerializer(serializers.Serializer):
    # A plain string, validated below: a ChoiceField named "reason" collides in the OpenAPI enum
    # names with the suppression reasons of another area.
    reason = serializers.CharField(
        default=Recording.PurgeReason.MANUAL.value, help_text='"payment_data" (PCI DSS) or "manual"'
    )

    def validate_reason(self, value: str) -> str:
        allowed = (Recording.PurgeReason.PAYMENT_DATA.value, Recording.PurgeReason.MANUAL.value)
        if value not in allowed:
            raise serializers.ValidationError(f"Use one of {', '.join(allowed)}.")
        return value


class CampaignRecordingPolicySerializer(serializers.ModelSerializer):
    campaign = serializers.PrimaryKeyRelatedField(queryset=Campaign.objects.all())

    class Meta:
        model = CampaignRecordingPolicy
        fields = ["id", "campaign", "retention_days", "updated_at"]
        read_only_fields = ["updated_at"]
        # The campaign is the key of an upsert (POST sets or replaces its policy).
        validators: list = []


class NoticesPlayedRowSerializer(serializers.Serializer):
    country = serializers.CharField()
    campaign = serializers.IntegerField()
    campaign_name = serializers.CharField()
    reached = serializers.IntegerField()
    played = serializers.IntegerField()
    objected = serializers.IntegerField()
    consented = serializers.IntegerField()
    no_answer = serializers.IntegerField()
    non_compliant = serializers.IntegerField()


class NonCompliantAttemptSerializer(serializers.ModelSerializer):
    """No agent column: quality reports compare floors and countries, never people."""

    country = serializers.CharField()
    floor = serializers.SlugRelatedField(slug_field="code", read_only=True)
    outcome = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Attempt
        fields = [
            "id",
            "campaign",
            "floor",
            "country",
            "started_at",
            "answered_at",
            "outcome",
            "notice",
            "notice_played",
            "notice_answer",
        ]


class DueForPurgeSerializer(serializers.ModelSerializer):
    campaign = serializers.IntegerField(source="attempt.campaign_id", read_only=True)

    class Meta:
        model = Recording
        fields = ["id", "attempt", "campaign", "country", "created_at", "purge_after"]
