from django.contrib import admin, messages
from django.utils import timezone

from campaigns.admin.campaigns import ServiceCheckedForm
from campaigns.admin.scoping import FloorScopedAdminMixin
from campaigns.models import Agent, DiallerIntegration
from campaigns.services.diallers import revoke_dialler_credential
from campaigns.services.floors import check_agent, save_agent

_AGENT_FIELDS = ["user", "floor", "languages", "is_supervisor"]


class AgentForm(ServiceCheckedForm):
    class Meta:
        model = Agent
        fields = _AGENT_FIELDS

    def check_fields(self, data: dict) -> dict:
        return check_agent(data)


@admin.register(Agent)
class AgentAdmin(FloorScopedAdminMixin, admin.ModelAdmin):
    """Agent profiles, saved by `save_agent` (audited). The pseudonymous `code` is the service's,
    given once and never changed (quality reports over time must stay comparable)."""

    form = AgentForm
    list_display = ["code", "floor", "is_supervisor"]
    list_filter = ["floor", "is_supervisor"]
    search_fields = ["code"]
    raw_id_fields = ["user"]
    fields = ["code", *_AGENT_FIELDS]
    readonly_fields = ["code"]

    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data[f] for f in _AGENT_FIELDS if f in form.cleaned_data}
        # The form already wrote its values onto `obj`: the service compares with the stored row, so
        # that the audit names what changed.
        stored = Agent.objects.get(pk=obj.pk) if change else None
        saved = save_agent(data=data, actor=request.user, now=timezone.now(), agent=stored)
        obj.pk, obj.code = saved.pk, saved.code
        obj._state.adding = False

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
    # `floors` is read-only as over the API: they decide which leads the credential may lease, so
    # they are fixed when it is issued (audited with them); another reach is another credential.
    readonly_fields = ["name", "floors", "user", "created_at", "created_by", "last_used_at", "revoked_at"]
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
