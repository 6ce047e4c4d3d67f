from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q


class ListBuild(models.Model):
    """One run of call-list building for a campaign: a Celery job whose progress and exclusion
    report a manager can read (DOMAIN promise 6: every excluded prospect has a readable reason).

    Written only by `campaigns.services.lists`; `excluded` maps a reason code to the number of
    prospects excluded for it in this run (see `campaigns.services.lists.EXCLUSION_REASONS`).
    """

    class Kind(models.TextChoices):
        BUILD = "build"
        REBUILD = "rebuild"

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="list_builds")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.BUILD)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Progress: prospects of the campaign's countries scanned so far, out of `prospects_total`.
    prospects_total = models.PositiveBigIntegerField(default=0)
    prospects_scanned = models.PositiveBigIntegerField(default=0)
    matched = models.PositiveBigIntegerField(default=0, help_text="Prospects matching the selection")
    added = models.PositiveBigIntegerField(default=0, help_text="Leads created by this run")
    excluded = models.JSONField(default=dict, blank=True, help_text="reason → prospects excluded")
    distribution = models.JSONField(default=dict, blank=True, help_text="floor code → leads assigned")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One job at a time per campaign: a second request while one is queued or running
            # would scan the same prospects twice for nothing.
            models.UniqueConstraint(
                fields=["campaign"],
                condition=Q(status__in=["pending", "running"]),
                name="one_active_list_build_per_campaign",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} of campaign #{self.campaign_id} ({self.status})"

    @property
    def progress(self) -> float:
        if self.status == self.Status.DONE:
            return 1.0
        if not self.prospects_total:
            return 0.0
        return min(1.0, self.prospects_scanned / self.prospects_total)

    @property
    def excluded_total(self) -> int:
        return sum(self.excluded.values())


class FloorQuota(models.Model):
    """A manager's override of the capacity split: this floor gets `percent` of the campaign's
    leads among the floors allowed to call them (a quota never sends a lead to a floor that does
    not serve its country or speak its language)."""

    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="floor_quotas")
    floor = models.ForeignKey("campaigns.Floor", on_delete=models.CASCADE, related_name="quotas")
    percent = models.PositiveSmallIntegerField(validators=[MinValueValidator(0), MaxValueValidator(100)])

    class Meta:
        ordering = ["campaign", "floor"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "floor"], name="floor_quota_unique"),
            models.CheckConstraint(condition=Q(percent__lte=100), name="floor_quota_percent_lte_100"),
        ]

    def __str__(self) -> str:
        return f"{self.floor_id}: {self.percent}%"
