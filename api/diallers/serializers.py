from rest_framework import serializers

from campaigns.models import Attempt
from campaigns.services.leases import DEFAULT_TTL, MAX_LEASE_SIZE, MAX_TTL, MIN_TTL
from campaigns.services.results import MAX_RESULTS_PER_REQUEST


class LeaseRequestSerializer(serializers.Serializer):
    floor = serializers.SlugField(
        required=False, help_text="Floor code; optional when the credential serves one floor."
    )
    size = serializers.IntegerField(min_value=1, max_value=MAX_LEASE_SIZE, default=100)
    campaign = serializers.IntegerField(
        required=False, allow_null=True, help_text="Only this campaign's leads."
    )
    ttl_seconds = serializers.IntegerField(
        min_value=int(MIN_TTL.total_seconds()),
        max_value=int(MAX_TTL.total_seconds()),
        default=int(DEFAULT_TTL.total_seconds()),
    )


class NoticeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    country = serializers.CharField()
    language = serializers.CharField()
    version = serializers.IntegerField()
    mode = serializers.CharField(help_text="inform_object, or ask_consent (record only after a yes)")
    text = serializers.CharField()
    audio = serializers.CharField()


class LeaseItemSerializer(serializers.Serializer):
    lead = serializers.IntegerField()
    campaign = serializers.DictField()
    e164 = serializers.CharField()
    time_zone = serializers.CharField(help_text="Callee's IANA zone")
    time_zone_candidates = serializers.ListField(child=serializers.CharField())
    window_ends_at = serializers.DateTimeField(
        allow_null=True, help_text="End of the calling window the lead was handed out in"
    )
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    language = serializers.CharField()
    priority = serializers.IntegerField()
    notice = NoticeSerializer(allow_null=True, help_text="Recording notice to play at call start")
    history = serializers.DictField(help_text="attempts, last_outcome")
    callback = serializers.DictField(allow_null=True, help_text="at, agent_code (null: anyone on the floor)")


class EmptyQueueSerializer(serializers.Serializer):
    reason = serializers.CharField()
    message = serializers.CharField()
    counts = serializers.DictField(child=serializers.IntegerField())
    next_callable_at = serializers.DateTimeField(allow_null=True)


class LeaseResponseSerializer(serializers.Serializer):
    lease = serializers.UUIDField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    floor = serializers.CharField()
    count = serializers.IntegerField()
    items = LeaseItemSerializer(many=True)
    empty = EmptyQueueSerializer(allow_null=True, help_text="Why nothing was handed out (null otherwise)")


class ExtendSerializer(serializers.Serializer):
    ttl_seconds = serializers.IntegerField(
        min_value=int(MIN_TTL.total_seconds()),
        max_value=int(MAX_TTL.total_seconds()),
        default=int(DEFAULT_TTL.total_seconds()),
    )


class LeaseStateSerializer(serializers.Serializer):
    lease = serializers.UUIDField()
    expires_at = serializers.DateTimeField()


class ReleaseSerializer(serializers.Serializer):
    leads = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        max_length=MAX_LEASE_SIZE,
        help_text="Return only these leads (the lease stays live); omit to end the lease.",
    )


class ReleasedSerializer(serializers.Serializer):
    lease = serializers.UUIDField()
    returned = serializers.IntegerField()
    ended = serializers.BooleanField()


class RecordingRefSerializer(serializers.Serializer):
    uri = serializers.URLField(max_length=500)
    duration_seconds = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    size_bytes = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    checksum = serializers.CharField(max_length=64, required=False, allow_blank=True)
    payment_data_spoken = serializers.BooleanField(required=False, default=False)


class AppointmentSerializer(serializers.Serializer):
    dealer = serializers.CharField(max_length=200)
    at = serializers.DateTimeField()
    model = serializers.CharField(max_length=200)


class ResultItemSerializer(serializers.Serializer):
    call_id = serializers.CharField(
        max_length=100, help_text="The dialler's own call id: the idempotency key"
    )
    lead = serializers.IntegerField()
    lease = serializers.UUIDField()
    agent_code = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    started_at = serializers.DateTimeField()
    answered_at = serializers.DateTimeField(required=False, allow_null=True)
    ended_at = serializers.DateTimeField(required=False, allow_null=True)
    outcome = serializers.SlugField(max_length=40)
    notice = serializers.IntegerField(required=False, allow_null=True, help_text="Notice version played")
    notice_played = serializers.BooleanField(required=False, allow_null=True, default=None)
    notice_answer = serializers.ChoiceField(
        choices=Attempt.NoticeAnswer.choices, required=False, allow_blank=True, default=""
    )
    objection = serializers.BooleanField(
        required=False, default=False, help_text="The callee objected to further calls (GDPR art. 21)"
    )
    payment_data_spoken = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Card data was spoken (PCI DSS 3.3.1): any recording of this call is purged at once",
    )
    recording = RecordingRefSerializer(required=False, allow_null=True)
    callback_at = serializers.DateTimeField(required=False, allow_null=True)
    callback_personal = serializers.BooleanField(
        required=False, default=False, help_text="The callback is for this agent, not the whole floor"
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    appointment = AppointmentSerializer(required=False, allow_null=True, help_text="Test drive booked")


class ResultsRequestSerializer(serializers.Serializer):
    """The envelope; items are checked one by one (api.diallers.parsing) so one bad item is
    rejected alone."""

    results = serializers.ListField(
        child=serializers.JSONField(), min_length=1, max_length=MAX_RESULTS_PER_REQUEST
    )


class ResultsRequestDocSerializer(serializers.Serializer):
    """What the OpenAPI document shows for the request."""

    results = ResultItemSerializer(many=True)


class ResultStatusSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    call_id = serializers.CharField()
    status = serializers.CharField(help_text="created, duplicate or rejected")
    attempt = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()
    detail = serializers.CharField()
    suppressed = serializers.BooleanField()
    recording = serializers.CharField()


class ResultsResponseSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    duplicate = serializers.IntegerField()
    rejected = serializers.IntegerField()
    results = ResultStatusSerializer(many=True)


class SuppressionChangeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    e164 = serializers.CharField()
    number_hash = serializers.CharField()
    advertiser = serializers.CharField(allow_null=True, source="advertiser_code")
    expires_at = serializers.DateTimeField(allow_null=True)
    at = serializers.DateTimeField()


class SuppressionFeedSerializer(serializers.Serializer):
    results = SuppressionChangeSerializer(many=True)
    next_cursor = serializers.IntegerField()
    has_more = serializers.BooleanField()


# --- agents ---------------------------------------------------------------------------------------


class AgentOutcomeSerializer(serializers.Serializer):
    outcome = serializers.SlugField(max_length=40)
    attempt = serializers.IntegerField(required=False, allow_null=True, help_text="Correct this attempt")
    started_at = serializers.DateTimeField(required=False, allow_null=True)
    callback_at = serializers.DateTimeField(required=False, allow_null=True)
    callback_personal = serializers.BooleanField(required=False, default=False)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    appointment = AppointmentSerializer(required=False, allow_null=True)
    objection = serializers.BooleanField(required=False, default=False)


class AgentAttemptSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    lead = serializers.IntegerField(source="lead_id")
    outcome = serializers.CharField(source="outcome.code")
    started_at = serializers.DateTimeField()
    agent_code = serializers.CharField()
    corrected_at = serializers.DateTimeField(allow_null=True)


class LeadStateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.CharField()
    done_reason = serializers.CharField()
    attempts = serializers.IntegerField()
    next_call_at = serializers.DateTimeField(allow_null=True)
    callback_at = serializers.DateTimeField(allow_null=True)


class AgentOutcomeResponseSerializer(serializers.Serializer):
    attempt = AgentAttemptSerializer()
    lead = LeadStateSerializer()


class CallbackSerializer(serializers.Serializer):
    lead = serializers.IntegerField(source="pk")
    campaign = serializers.CharField(source="campaign.name")
    callback_at = serializers.DateTimeField()
    agent_code = serializers.SerializerMethodField()
    state = serializers.CharField()
    first_name = serializers.CharField(source="prospect.first_name")
    last_name = serializers.CharField(source="prospect.last_name")
    e164 = serializers.CharField(source="phone_number.e164")
    time_zone = serializers.CharField(source="phone_number.time_zone")
    last_outcome = serializers.SerializerMethodField()

    def get_agent_code(self, lead) -> str | None:
        return lead.callback_agent.code if lead.callback_agent_id else None

    def get_last_outcome(self, lead) -> str | None:
        return lead.last_outcome.code if lead.last_outcome_id else None


class HistoryEntrySerializer(serializers.Serializer):
    attempt = serializers.IntegerField(source="pk")
    campaign = serializers.CharField(source="campaign.name")
    floor = serializers.SerializerMethodField()
    started_at = serializers.DateTimeField()
    answered_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    outcome = serializers.CharField(source="outcome.code")
    outcome_label = serializers.CharField(source="outcome.label")
    category = serializers.CharField(source="outcome.category")
    agent_code = serializers.SerializerMethodField()
    note = serializers.CharField()
    appointment = serializers.JSONField(allow_null=True)

    def get_floor(self, attempt) -> str | None:
        return attempt.floor.code if attempt.floor_id else None

    def get_agent_code(self, attempt) -> str:
        # Agents stay anonymous outside their own floor (DOMAIN.md §2).
        return attempt.agent_code if attempt.floor_id == self.context.get("floor_id") else ""
