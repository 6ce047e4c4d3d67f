from django.conf import settings
from django.db import models


class ImportJob(models.Model):
    """One prospect file import: what was asked, how far it got, what came of each row.

    Rows are validated first (phase 1) and written only when the whole file could be read (phase 2),
    so a `failed` job with an `error` has written nothing. `report` holds the rejected rows (line, raw
    values, reason); `outcomes` holds one line per row (created, updated, duplicate, rejected, with
    the prospect id), because a million-row answer does not belong in a JSON response or a table.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        VALIDATING = "validating"
        WRITING = "writing"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True)
    file = models.FileField(upload_to="imports/%Y/%m/", blank=True)
    # Where the CLI and the benchmark read from when no copy is uploaded to storage.
    source_path = models.CharField(max_length=500, blank=True)
    original_name = models.CharField(max_length=255, blank=True)
    file_size = models.PositiveBigIntegerField(default=0)
    source = models.CharField(max_length=100, blank=True, help_text="Prospect.source of every row")
    default_country = models.CharField(max_length=2, blank=True)
    mapping = models.JSONField(default=dict, blank=True, help_text="explicit column → field mapping")
    columns = models.JSONField(default=dict, blank=True, help_text="the column → field mapping used")
    progress = models.PositiveSmallIntegerField(default=0, help_text="0–100")
    rows_total = models.PositiveBigIntegerField(default=0)
    rows_created = models.PositiveBigIntegerField(default=0)
    rows_updated = models.PositiveBigIntegerField(default=0)
    rows_duplicate = models.PositiveBigIntegerField(default=0)
    rows_rejected = models.PositiveBigIntegerField(default=0)
    rejection_reasons = models.JSONField(default=dict, blank=True, help_text="reason → rows")
    error = models.TextField(blank=True)
    report = models.FileField(upload_to="imports/reports/%Y/%m/", blank=True)
    outcomes = models.FileField(upload_to="imports/outcomes/%Y/%m/", blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"import #{self.pk} {self.original_name} ({self.status})"

    @property
    def counts(self) -> dict[str, int]:
        return {
            "created": self.rows_created,
            "updated": self.rows_updated,
            "duplicate": self.rows_duplicate,
            "rejected": self.rows_rejected,
        }
