from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    """Who did what to which object, for state changes a regulator or a customer may ask about and
    for every bulk access to personal data. Written only through `contacts.services.audit.audit`.

    Actions are namespaced (`campaigns.campaign.started`, `contacts.prospect.erased`,
    `api.leads.pulled`) so they can be filtered by area.
    """

    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept even if the user is deleted: "alice", "dialler:lyon-predictive", "system".
    actor_label = models.CharField(max_length=200)
    action = models.CharField(max_length=100, db_index=True)
    target_type = models.CharField(max_length=100, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action} {self.target_repr}"
