from django.contrib import admin
from django.utils import timezone

from campaigns.admin.campaigns import ServiceCheckedForm
from campaigns.admin.scoping import FloorScopedAdminMixin
from campaigns.models import Floor
from campaigns.services.floors import check_floor, save_floor

_FIELDS = [
    "code",
    "name",
    "site_city",
    "country",
    "time_zone",
    "languages",
    "callee_countries",
    "seats",
    "opening_hours",
    "outsourcer",
    "active",
]


class FloorForm(ServiceCheckedForm):
    class Meta:
        model = Floor
        fields = _FIELDS

    def check_fields(self, data: dict) -> dict:
        return check_floor(data)


@admin.register(Floor)
class FloorAdmin(FloorScopedAdminMixin, admin.ModelAdmin):
    """Floors. Saving goes through `save_floor` (validated, audited, and a change of reach or size
    rebalances the lists being worked)."""

    floor_field = "id"
    list_display = ["code", "name", "site_city", "country", "time_zone", "seats", "active"]
    list_filter = ["active", "country"]
    search_fields = ["code", "name", "site_city", "outsourcer"]
    form = FloorForm
    fields = _FIELDS

    def has_delete_permission(self, request, obj=None):
        # As over the API: a floor is closed with `active` off, never deleted. Deleting it would set
        # its leads' floor to NULL without an audit entry and drop where its attempts were made.
        return False

    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data[f] for f in _FIELDS if f in form.cleaned_data}
        saved = save_floor(data=data, actor=request.user, now=timezone.now(), floor=obj if change else None)
        obj.pk = saved.pk
