from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Campaigns: floors, lists, leases, outcomes"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from campaigns.config_version import reinstall_after_migrate
        from campaigns.roles import sync_role_permissions

        # Permissions only exist after migrate has created them (Django does that on post_migrate
        # too), so role → permission grants are synchronised at the same moment, idempotently.
        post_migrate.connect(sync_role_permissions, dispatch_uid="campaigns.sync_role_permissions")
        # The configuration version's triggers, again after every migrate (see the module).
        post_migrate.connect(reinstall_after_migrate, dispatch_uid="campaigns.config_version_triggers")
