from django.db import models


class RecordingNotice(models.Model):
    """The message played at call start, versioned per country and language. A change is a new
    version (a new row); past attempts keep pointing at the version they played."""

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
