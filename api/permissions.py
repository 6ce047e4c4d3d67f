"""The one permission class. Views declare what they need; they never re-implement checks.

- Model permissions by HTTP method, like DRF's DjangoModelPermissions, but reading also needs
  `view_<model>` (DRF lets any authenticated user read).
- `required_permissions = {"action_or_method": ["app.codename", …]}` on a view overrides that for
  custom actions (e.g. `{"lease": ["campaigns.lease_leads"]}`).
- Floor scoping is not a permission check (DRF does not apply object permissions to lists): it is
  the queryset, see `api.scoping.FloorScopedMixin`.
"""

from rest_framework.permissions import DjangoModelPermissions


class RolePermission(DjangoModelPermissions):
    perms_map = {
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "POST": ["%(app_label)s.add_%(model_name)s"],
        "PUT": ["%(app_label)s.change_%(model_name)s"],
        "PATCH": ["%(app_label)s.change_%(model_name)s"],
        "DELETE": ["%(app_label)s.delete_%(model_name)s"],
    }

    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return False
        required = getattr(view, "required_permissions", None) or {}
        action = getattr(view, "action", None)
        if action in required or request.method in required:
            perms = required.get(action, required.get(request.method))
            return request.user.has_perms(perms)
        if getattr(view, "queryset", None) is None and not hasattr(view, "get_queryset"):
            # A view with neither a model nor declared permissions is a mistake: refuse.
            return False
        return super().has_permission(request, view)
