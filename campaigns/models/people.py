from django.conf import settings
from django.db import models

from config.fields import JSONField  # JSON typed into forms: see that module


class Agent(models.Model):
    """An agent's or supervisor's place on a floor. `code` is the stable pseudonym used wherever
    agents must stay anonymous (quality reports compare floors, never people)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent")
    floor = models.ForeignKey("campaigns.Floor", on_delete=models.PROTECT, related_name="agents")
    languages = JSONField(default=list, blank=True)
    code = models.CharField(max_length=32, unique=True)
    is_supervisor = models.BooleanField(default=False)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class DiallerIntegration(models.Model):
    """One named machine client (a dialler, or one floor's dialler cluster).

    It authenticates as its own service user with a knox token: hashed at rest, shown once at
    issue, revocable, so every list pull is attributable to a key (DOMAIN promise 8).
    """

    name = models.SlugField(max_length=80, unique=True)
    description = models.CharField(max_length=200, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="dialler_integration"
    )
    floors = models.ManyToManyField("campaigns.Floor", related_name="dialler_integrations", blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
