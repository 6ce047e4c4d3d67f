import datetime as dt

from django.utils import timezone
from rest_framework import serializers

from campaigns.models import Attempt
from campaigns.services.leases import DEFAULT_TTL, MAX_LEASE_SIZE, MAX_TTL, MIN_TTL
from campaigns.services.results import MAX_RESULTS_PER_REQUEST
from config.db import MAX_ID


class AwareDateTimeField(serializers.DateTimeField):
    """A date-time that carries its own offset. DRF would read a naive one in the server's zone
    (UTC), so a callback asked for "14:30" in Paris would land at 15:30 there: refused instead, as
    the results endpoint does."""

    default_error_messages = {
        "naive": "Give a time zone offset (e.g. Z or +01:00).",
        "overflow": "Not a valid date and time.",
    }

    def enforce_timezone(self, value):
        if timezone.is_naive(value):
            self.fail("naive")
        try:
            value.astimezone(dt.UTC)  # year 9999 behind UTC or year 1 ahead of it: no UTC instant
        except OverflowError:
            self.fail("overflow")
        return super().enforce_timezone(value)


class LeaseRequestSerializer(serializers.Serializer):
    floor = serializers.SlugField(
        required=False, help_text="Floor code; optional when the credential serves one floor."
    )
    size = serializers.IntegerField(min_value=1, max_value=MAX_LEASE_SIZE, default=100)
    campaign = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_ID,
        help_text="Only this campaign's leads.",
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
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
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
    # The columns' ranges (integer, bigint): a larger value would fail the whole batch's INSERT.
    duration_seconds = serializers.IntegerField(
        min_value=0, max_value=2**31 - 1, required=False, allow_null=True
    )
    size_bytes = serializers.IntegerField(min_value=0, max_value=MAX_ID, required=False, allow_null=True)
    checksum = serializers.CharField(max_length=64, required=False, allow_blank=True)
    payment_data_spoken = serializers.BooleanField(required=False, default=False)


class AppointmentSerializer(serializers.Serializer):
    dealer = serializers.CharField(max_length=200)
    at = AwareDateTimeField()
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


class _AsSent(serializers.Field):
    """A result item as the dialler sent it. DRF's JSONField here re-encoded every item, and one
    with a number past a float (`"lead": 1e999`) refused the whole batch."""

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return value


class ResultsRequestSerializer(serializers.Serializer):
    """The envelope; items are checked one by one (api.diallers.parsing) so one bad item is
    rejected alone."""

    results = serializers.ListField(child=_AsSent(), min_length=1, max_length=MAX_RESULTS_PER_REQUEST)


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
    attempt = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_ID, help_text="Correct this attempt"
    )
    started_at = AwareDateTimeField(required=False, allow_null=True)
    callback_at = AwareDateTimeField(required=False, allow_null=True)
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
    """A due callback and whether it may be dialled now (context: `decisions`, lead id → the
    hand-over decision at this instant)."""

    lead = serializers.IntegerField(source="pk")
    campaign = serializers.CharField(source="campaign.name")
    callback_at = serializers.DateTimeField()
    agent_code = serializers.SerializerMethodField()
    state = serializers.CharField()
    first_name = serializers.CharField(source="prospect.first_name")
    last_name = serializers.CharField(source="prospect.last_name")
    callable = serializers.SerializerMethodField(help_text="May be dialled now (the lease's full check)")
    not_callable_reasons = serializers.SerializerMethodField(
        help_text="Why not now (e.g. outside_hours, suppressed); empty when callable"
    )
    next_callable_at = serializers.SerializerMethodField(
        help_text="When it may be dialled, if a time can be known (null when callable or never)"
    )
    e164 = serializers.SerializerMethodField(help_text="The number to dial; null while it may not be dialled")
    time_zone = serializers.CharField(source="phone_number.time_zone")
    last_outcome = serializers.SerializerMethodField()

    def _decision(self, lead):
        return self.context["decisions"][lead.pk]

    def get_callable(self, lead) -> bool:
        return self._decision(lead).callable

    def get_not_callable_reasons(self, lead) -> list[str]:
        return list(self._decision(lead).reasons)

    def get_next_callable_at(self, lead) -> dt.datetime | None:
        decision = self._decision(lead)
        if decision.callable or decision.next_callable_at is None:
            return None
        return serializers.DateTimeField().to_representation(decision.next_callable_at)

    def get_e164(self, lead) -> str | None:
        return lead.phone_number.e164 if self._decision(lead).callable else None

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
    appointment = serializers.JSONField(allow_null=True, read_only=True)

    def get_floor(self, attempt) -> str | None:
        return attempt.floor.code if attempt.floor_id else None

    def get_agent_code(self, attempt) -> str:
        # Agents stay anonymous outside their own floor (DOMAIN.md §2).
        return attempt.agent_code if attempt.floor_id == self.context.get("floor_id") else ""
