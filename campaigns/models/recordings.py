from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q


class RecordingNotice(models.Model):
    """The message played at call start, versioned per country and language. A change is a new
    version (a new row, see `campaigns.services.notices.change_notice`); past attempts keep pointing
    at the version they played.

    `effective_to` is the last day (inclusive, in the callee country's local calendar) a version
    applies; the resolver (`campaigns.selectors.notices`) takes the highest active version in force.
    """

    class Mode(models.TextChoices):
        INFORM_OBJECT = "inform_object", "Inform and let the callee object"
        ASK_CONSENT = "ask_consent", "Ask, and record only after a yes"

    country = models.CharField(max_length=2)
    language = models.CharField(max_length=8)
    version = models.PositiveIntegerField(default=1)
    mode = models.CharField(max_length=20, choices=Mode.choices)
    text = models.TextField()
    audio = models.FileField(upload_to="notices/", blank=True)
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["country", "language", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["country", "language", "version"], name="notice_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.country}/{self.language} v{self.version} ({self.mode})"


class CampaignRecordingPolicy(models.Model):
    """A campaign's own recording retention, when it chooses to keep recordings for less than the
    callee country allows (e.g. 90 days in France, within CNIL's 6 months). It can only shorten:
    `purge_after_for` takes the smaller of this and the country limit."""

    campaign = models.OneToOneField(
        "campaigns.Campaign", on_delete=models.CASCADE, related_name="recording_policy"
    )
    retention_days = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "campaign recording policies"

    def __str__(self) -> str:
        return f"{self.campaign_id}: {self.retention_days} days"


def recording_upload_to(instance: "Recording", filename: str) -> str:
    # Named by attempt, never by callee: the storage listing must not leak personal data.
    return f"recordings/{instance.created_at:%Y/%m}/{filename}"


class Recording(models.Model):
    """The recording of one attempt: a stored file (any Django storage backend) or an external URI.

    Created only through `campaigns.services.recordings.attach_recording`, which refuses it when the
    callee objected or, in ask-consent countries, did not say yes (§201 StGB). Destroyed by
    `purge_recordings` once `purge_after` is reached; the row stays as proof of the purge.
    """

    class PurgeReason(models.TextChoices):
        RETENTION = "retention", "Retention period reached"
        PAYMENT_DATA = "payment_data", "Payment card data spoken (PCI DSS 3.3.1)"
        MANUAL = "manual", "Purged on request"

    attempt = models.OneToOneField("campaigns.Attempt", on_delete=models.PROTECT, related_name="recording")
    # Denormalised: the callee country decides the retention, and the prospect may be erased.
    country = models.CharField(max_length=2, blank=True)
    file = models.FileField(upload_to=recording_upload_to, blank=True, max_length=255)
    uri = models.URLField(max_length=500, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    checksum = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the file, hex")
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    purge_after = models.DateTimeField()
    purged_at = models.DateTimeField(null=True, blank=True)
    purge_reason = models.CharField(max_length=20, choices=PurgeReason.choices, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The purge scans only recordings still holding media, by date.
            models.Index(
                fields=["purge_after", "id"], condition=Q(purged_at__isnull=True), name="recording_due_idx"
            )
        ]
        permissions = [
            ("play_recording", "Can play recordings (audited)"),
            ("view_recording_report", "Can view notice and recording retention reports"),
        ]

    def __str__(self) -> str:
        return f"recording #{self.pk} (attempt #{self.attempt_id})"

    @property
    def is_purged(self) -> bool:
        return self.purged_at is not None
