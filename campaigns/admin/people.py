from django.contrib import admin, messages
from django.utils import timezone

from campaigns.admin.scoping import FloorScopedAdminMixin
from campaigns.models import Agent, DiallerIntegration
from campaigns.services.diallers import revoke_dialler_credential


@admin.register(Agent)
class AgentAdmin(FloorScopedAdminMixin, admin.ModelAdmin):
    list_display = ["code", "floor", "is_supervisor"]
    list_filter = ["floor", "is_supervisor"]
    search_fields = ["code"]
    raw_id_fields = ["user"]

    def has_delete_permission(self, request, obj=None):
        # No delete over the API either: attempts and evaluations keep the pseudonym, and a delete
        # here would be unaudited. A departed agent's user is deactivated instead.
        return False


@admin.register(DiallerIntegration)
class DiallerIntegrationAdmin(admin.ModelAdmin):
    """Credentials are issued with `manage.py issue_dialler_credential` or the API (the token is
    shown once there); the admin lists them and revokes them."""

    list_display = ["name", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["floors"]
    readonly_fields = ["name", "user", "created_at", "created_by", "last_used_at", "revoked_at"]
    fields = [
        "name",
        "description",
        "floors",
        "user",
        "created_at",
        "created_by",
        "last_used_at",
        "revoked_at",
    ]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # Revoke instead (audited, kills the tokens): a delete left no audit entry.
        return False

    @admin.action(description="Revoke the selected credentials", permissions=["change"])
    def revoke(self, request, queryset):
        now = timezone.now()
        for integration in queryset.filter(revoked_at__isnull=True):
            revoke_dialler_credential(integration=integration, actor=request.user, now=now)
        self.message_user(request, "Revoked.", messages.SUCCESS)
