from django.contrib import admin

from campaigns.admin.scoping import FloorScopedAdminMixin
from campaigns.models import Floor


@admin.register(Floor)
class FloorAdmin(FloorScopedAdminMixin, admin.ModelAdmin):
    floor_field = "id"
    list_display = ["code", "name", "site_city", "country", "time_zone", "seats", "active"]
    list_filter = ["active", "country"]
    search_fields = ["code", "name", "site_city", "outsourcer"]
