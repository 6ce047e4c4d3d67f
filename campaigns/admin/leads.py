from django.contrib import admin

from campaigns.admin.scoping import FloorScopedAdminMixin
from campaigns.models import Lead, ListBuild
from campaigns.services.lists import exclusion_report


class _ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Lead)
class LeadAdmin(FloorScopedAdminMixin, _ReadOnlyAdmin):
    """Leads are written by list building, distribution and call results only; here they are read,
    without the person's number (the admin list is for steering)."""

    list_display = ["id", "campaign", "floor", "country", "state", "priority", "attempts", "next_call_at"]
    list_filter = ["state", "campaign", "floor", "prospect__country"]
    list_select_related = ["campaign", "floor", "prospect"]
    fields = [
        "campaign",
        "prospect",
        "floor",
        "state",
        "done_reason",
        "priority",
        "attempts",
        "next_call_at",
        "callback_at",
        "last_outcome",
    ]
    raw_id_fields = ["prospect"]

    @admin.display(ordering="prospect__country")
    def country(self, obj):
        return obj.prospect.country


@admin.register(ListBuild)
class ListBuildAdmin(_ReadOnlyAdmin):
    list_display = [
        "id",
        "campaign",
        "kind",
        "status",
        "created_at",
        "prospects_scanned",
        "added",
        "excluded_total",
    ]
    list_filter = ["status", "kind"]
    readonly_fields = ["report"]
    fields = ["campaign", "kind", "status", "created_at", "started_at", "finished_at", "error", "report"]

    @admin.display(description="Exclusion report")
    def report(self, obj):
        from django.utils.html import format_html_join

        rows = exclusion_report(obj)["excluded"]
        if not rows:
            return "—"
        return format_html_join(
            "", "<div>{}: {} ({})</div>", ((r["label"], r["prospects"], r["reason"]) for r in rows)
        )
