from django.db import models

from config.fields import JSONField  # JSON typed into forms: see that module


class Campaign(models.Model):
    """A test-drive or offer operation. Status changes only through
    `campaigns.services.campaigns.transition_campaign`, which enforces the allowed transitions."""

    class Kind(models.TextChoices):
        TEST_DRIVE = "test_drive"
        OFFER = "offer"

    class Status(models.TextChoices):
        DRAFT = "draft"
        READY = "ready"
        RUNNING = "running"
        PAUSED = "paused"
        FINISHED = "finished"
        CANCELLED = "cancelled"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    advertiser = models.ForeignKey("contacts.Advertiser", on_delete=models.PROTECT, related_name="campaigns")
    product = models.CharField(max_length=200, blank=True, help_text="Brand / model offered")
    countries = JSONField(default=list, help_text='Callee countries, e.g. ["FR", "BE"]')
    languages = JSONField(default=list, blank=True)
    starts_on = models.DateField()
    ends_on = models.DateField()
    priority = models.PositiveSmallIntegerField(default=5)
    # Selection criteria for list building: regions, postcodes, sources, tags, customers_only, …
    selection = JSONField(default=dict, blank=True)
    max_attempts = models.PositiveSmallIntegerField(default=6)
    script = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.name


class OutcomeCode(models.Model):
    """A disposition an agent or dialler may report, with what follows it."""

    class Category(models.TextChoices):
        NO_CONTACT = "no_contact"
        CONTACT = "contact"
        SUCCESS = "success"
        REFUSAL = "refusal"
        DO_NOT_CALL = "do_not_call"
        WRONG_NUMBER = "wrong_number"
        CALLBACK = "callback"

    class Action(models.TextChoices):
        RETRY = "retry"
        FINAL = "final"
        SUPPRESS = "suppress"
        CALLBACK = "callback"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="outcome_codes")
    code = models.SlugField(max_length=40)
    label = models.CharField(max_length=200)
    category = models.CharField(max_length=20, choices=Category.choices)
    action = models.CharField(max_length=20, choices=Action.choices)
    retry_after_minutes = models.PositiveIntegerField(null=True, blank=True)
    max_retries = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["campaign", "code"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "code"], name="outcome_code_unique_per_campaign")
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.category})"
