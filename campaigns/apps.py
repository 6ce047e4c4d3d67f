from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Campaigns: floors, lists, leases, outcomes"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from campaigns.roles import sync_role_permissions

        # Permissions only exist after migrate has created them (Django does that on post_migrate
        # too), so role → permission grants are synchronised at the same moment, idempotently.
        post_migrate.connect(sync_role_permissions, dispatch_uid="campaigns.sync_role_permissions")
