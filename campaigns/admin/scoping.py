from campaigns.selectors.scoping import floor_ids_for


class FloorScopedAdminMixin:
    """The admin twin of `api.scoping.FloorScopedMixin`: a supervisor sees only its floor's rows."""

    floor_field = "floor"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        floors = floor_ids_for(request.user)
        if floors is None:
            return queryset
        return queryset.filter(**{f"{self.floor_field}__in": floors})
