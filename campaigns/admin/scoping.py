from django.contrib import admin

from campaigns.models import Floor
from campaigns.selectors.scoping import floor_ids_for


class ScopedFloorListFilter(admin.RelatedFieldListFilter):
    """The floor filter offering only the floors the user may see: the default lists every floor
    (code, name, city), which a supervisor or agent of one floor must not learn about."""

    def field_choices(self, field, request, model_admin):
        floors = floor_ids_for(request.user)
        return field.get_choices(
            include_blank=False,
            ordering=self.field_admin_ordering(field, request, model_admin),
            limit_choices_to={} if floors is None else {"pk__in": floors},
        )


class FloorScopedAdminMixin:
    """The admin twin of `api.scoping.FloorScopedMixin`: a supervisor sees only its floor's rows,
    and only its floors in the floor filter and the floor choices of a form."""

    floor_field = "floor"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        floors = floor_ids_for(request.user)
        if floors is None:
            return queryset
        return queryset.filter(**{f"{self.floor_field}__in": floors})

    def get_list_filter(self, request):
        return [
            (name, ScopedFloorListFilter) if name == "floor" else name
            for name in super().get_list_filter(request)
        ]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Floor:
            floors = floor_ids_for(request.user)
            if floors is not None:
                kwargs["queryset"] = Floor.objects.filter(pk__in=floors)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
