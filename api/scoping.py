from campaigns.selectors.scoping import floor_ids_for


class FloorScopedMixin:
    """Limit `get_queryset()` to the caller's floors.

    `floor_field` is the lookup path from the model to its floor ("floor", "lead__floor", …).
    Rows of other floors are not forbidden, they do not exist for the caller: 404, not 403.
    """

    floor_field = "floor"

    def get_queryset(self):
        queryset = super().get_queryset()
        floors = floor_ids_for(self.request.user)
        if floors is None:
            return queryset
        return queryset.filter(**{f"{self.floor_field}__in": floors})
