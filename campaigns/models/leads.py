import uuid

from django.db import models
from django.db.models import Q

from config.fields import JSONField  # JSON typed into forms: see that module


class Lead(models.Model):
    """One prospect's place in one campaign. Handed to diallers only through
    `campaigns.services.leases.lease_leads`, which re-checks callability at that instant."""

    class State(models.TextChoices):
        PENDING = "pending"
        LEASED = "leased"
        CALLBACK_DUE = "callback_due"
        DONE = "done"
        SUPPRESSED = "suppressed"

    # No single-column index on `campaign` or `floor`: the unique constraints below start with the
    # campaign and the queue indexes with the floor, and every index is paid again by each lead a
    # lease, a result or a list build writes (14 indexes before; bench/bench_lease_api.py).
    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="leads", db_index=False
    )
    prospect = models.ForeignKey("contacts.Prospect", on_delete=models.CASCADE, related_name="leads")
    phone_number = models.ForeignKey("contacts.PhoneNumber", on_delete=models.CASCADE, related_name="leads")
    floor = models.ForeignKey(
        "campaigns.Floor",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
        db_index=False,
    )
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    # success, final_refusal, do_not_call, wrong_number, attempts_exhausted
    done_reason = models.CharField(max_length=30, blank=True)
    priority = models.PositiveSmallIntegerField(default=5)
    attempts = models.PositiveIntegerField(default=0)
    next_call_at = models.DateTimeField(null=True, blank=True)
    callback_at = models.DateTimeField(null=True, blank=True)
    # Indexed only where set (`lead_callback_agent_idx`): a lease or a result writes a new version
    # of each lead's row, and every full index gets an entry for it, NULL or not.
    callback_agent = models.ForeignKey(
        "campaigns.Agent",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="callbacks",
        db_index=False,
    )
    # No index: no query looks leads up by their last outcome, and a code that is some lead's last
    # outcome has attempts, which PROTECT it from deletion (the only use such an index would have).
    last_outcome = models.ForeignKey(
        "campaigns.OutcomeCode",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    # No database constraint on `lease` and `last_lease` (the ORM relation stays): PostgreSQL checks
    # a foreign key row by row, and a lease of 100 sets both on 100 leads, 200 checks costing 3 ms
    # of its 30 ms (measured on the bench, issue 6). Nothing can dangle: the one statement that
    # sets them (`campaigns.services.leases`) runs in the transaction that inserts the lease, and
    # leases are never deleted (no service, task or admin page deletes one; an ORM delete would
    # still null these columns through `on_delete`). tests/campaigns/test_lease_concurrency.py
    # checks every reference after concurrent leasing.
    lease = models.ForeignKey(
        "campaigns.Lease",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
        db_constraint=False,
        db_index=False,  # `lead_lease_idx`, where set
    )
    # The last lease that held the lead, kept after the lead is reported or returned: a result that
    # arrives just after its lease expired is still the dialler's call (it happened, and it counts
    # toward the frequency caps), so it is accepted if no other lease has taken the lead since.
    last_lease = models.ForeignKey(
        "campaigns.Lease",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,  # read on the lead's own row only, never searched by
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "prospect"], name="lead_one_per_prospect_per_campaign"
            ),
            models.UniqueConstraint(
                fields=["campaign", "phone_number"], name="lead_one_per_number_per_campaign"
            ),
        ]
        indexes = [
            models.Index(fields=["floor", "state", "next_call_at"], name="lead_queue_idx"),
            # Partial: only leads that have one are ever looked up by lease or callback agent
            # (`lease = x`, `callback_agent = x`), and a row version whose column is NULL adds no
            # entry. Each lease of 100 then writes 100 index entries fewer (the callback agent),
            # and each result or return 100 more fewer (the lease): ~10 % of the claim's database
            # time, measured on the raw claim.
            models.Index(fields=["lease"], name="lead_lease_idx", condition=Q(lease__isnull=False)),
            models.Index(
                fields=["callback_agent"],
                name="lead_callback_agent_idx",
                condition=Q(callback_agent__isnull=False),
            ),
            # The hand-over order (priority, then longest-waiting) walked straight off the index, so
            # a lease of 100 reads ~100 rows instead of sorting the floor's whole queue. PostgreSQL
            # has a NULLS FIRST twin instead (migrations 0005 and 0012), which SQLite cannot declare.
            models.Index(
                fields=["floor", "state", "-priority", "next_call_at", "id"], name="lead_handover_idx"
            ),
        ]
        permissions = [("lease_leads", "Can lease leads and report call results (diallers)")]

    def __str__(self) -> str:
        return f"lead #{self.pk} ({self.state})"


class Lease(models.Model):
    """A time-limited, exclusive hand-over of leads to one dialler."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    integration = models.ForeignKey(
        "campaigns.DiallerIntegration", on_delete=models.PROTECT, related_name="leases"
    )
    floor = models.ForeignKey("campaigns.Floor", on_delete=models.PROTECT, related_name="leases")
    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class EndReason(models.TextChoices):
        RELEASED = "released"
        EXPIRED = "expired"

    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    released_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=20, choices=EndReason.choices, blank=True)
    requested_size = models.PositiveIntegerField(default=0)
    leased_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["expires_at"], condition=Q(released_at__isnull=True), name="lease_live_expiry_idx"
            )
        ]

    def __str__(self) -> str:
        return str(self.id)


class Attempt(models.Model):
    """One dial and what came of it. Kept anonymised after the prospect's erasure, for statistics."""

    lead = models.ForeignKey(
        Lead, null=True, blank=True, on_delete=models.SET_NULL, related_name="attempt_set"
    )
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.PROTECT, related_name="attempts")
    # Denormalised so that frequency caps ("4 per 30 days per advertiser") are one indexed count.
    advertiser = models.ForeignKey("contacts.Advertiser", on_delete=models.PROTECT, related_name="+")
    prospect = models.ForeignKey(
        "contacts.Prospect", null=True, blank=True, on_delete=models.SET_NULL, related_name="attempts"
    )
    phone_number = models.ForeignKey(
        "contacts.PhoneNumber", null=True, blank=True, on_delete=models.SET_NULL, related_name="attempts"
    )
    floor = models.ForeignKey(
        "campaigns.Floor", null=True, blank=True, on_delete=models.SET_NULL, related_name="attempts"
    )
    lease = models.ForeignKey(
        Lease, null=True, blank=True, on_delete=models.SET_NULL, related_name="attempts"
    )
    integration = models.ForeignKey(
        "campaigns.DiallerIntegration",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="attempts",
    )
    # The dialler's own id for the call: the idempotency key of result posting.
    call_id = models.CharField(max_length=100, blank=True)
    agent_code = models.CharField(max_length=32, blank=True)
    outcome = models.ForeignKey("campaigns.OutcomeCode", on_delete=models.PROTECT, related_name="attempts")
    started_at = models.DateTimeField(db_index=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    callback_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    appointment = JSONField(null=True, blank=True, help_text="Test drive: dealer, date and time, model")
    # Proof that the callee was told the call is recorded (CNIL; DE §201 StGB: a yes before recording).
    notice = models.ForeignKey(
        "campaigns.RecordingNotice", null=True, blank=True, on_delete=models.PROTECT, related_name="attempts"
    )
    notice_played = models.BooleanField(null=True, blank=True)

    class NoticeAnswer(models.TextChoices):
        OBJECTED = "objected"
        CONSENTED = "consented"
        NO_ANSWER = "no_answer"

    notice_answer = models.CharField(max_length=20, choices=NoticeAnswer.choices, blank=True)
    # The callee objected to being called again (GDPR art. 21): the number was suppressed at once.
    objection = models.BooleanField(default=False)
    # PCI DSS 3.3.1: card data was spoken, so no recording of this call may be kept, whenever it is
    # uploaded (with the result or later).
    payment_data_spoken = models.BooleanField(default=False)
    # Set when an agent corrects the outcome; the original stays in the audit trail.
    corrected_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "call_id"],
                condition=~Q(call_id=""),
                name="attempt_call_id_unique_per_integration",
            )
        ]
        indexes = [
            models.Index(fields=["advertiser", "prospect", "started_at"], name="attempt_frequency_idx")
        ]

    def __str__(self) -> str:
        return f"attempt #{self.pk}"
