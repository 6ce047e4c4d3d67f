"""The project's admin site: Django's, plus checks of request parameters that Django's own views
turn into a 500 (found by fuzzing the admin). Installed as the default site by AdminConfig, so
every `@admin.register` uses it."""

import datetime as dt
from functools import wraps

from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig
from django.contrib.admin.views.main import ERROR_FLAG
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.http import HttpResponseRedirect

# A date hierarchy's drill-down (`?at__year=2026&at__month=11`) outside these years: no row of ours
# is dated there, and at 9999-12-31 Django's "next day" overflowed.
YEARS = (1900, 2199)


class AdminSite(admin.AdminSite):
    site_header = "Telemarketing campaign manager"
    site_title = "Campaign manager"

    def admin_view(self, view, cacheable=False):
        @wraps(view)
        def checked(request, *args, **kwargs):
            if not _date_drilldown_ok(request.GET):
                # What Django's changelist does with a lookup it cannot apply: the list, flagged.
                return HttpResponseRedirect(f"{request.path}?{ERROR_FLAG}=1")
            model_admin = getattr(view, "__self__", None)
            if request.method == "POST" and isinstance(model_admin, admin.ModelAdmin):
                _check_selected_ids(model_admin, request.POST.getlist(helpers.ACTION_CHECKBOX_NAME))
            return view(request, *args, **kwargs)

        return super().admin_view(checked, cacheable)


def _date_drilldown_ok(params) -> bool:
    """`…__year`, `…__month`, `…__day` together name a real date within YEARS (an OverflowError or
    ValueError in Django's date hierarchy otherwise)."""
    parts = {}
    for key, value in params.items():
        for unit in ("year", "month", "day"):
            if key.endswith(f"__{unit}"):
                if not (value.isascii() and value.isdigit() and len(value) <= 4):
                    return False
                parts[unit] = int(value)
    if not parts:
        return True
    try:
        day = dt.date(parts.get("year", YEARS[0]), parts.get("month", 1), parts.get("day", 1))
    except ValueError:
        return False
    return YEARS[0] <= day.year <= YEARS[1]


def _check_selected_ids(model_admin: admin.ModelAdmin, selected: list[str]) -> None:
    """An action's selected rows must be ids of the model: Django filters by them as given, and a
    `x` or `1.5` was a ValueError (a 500) when the action ran."""
    pk = model_admin.model._meta.pk
    for value in selected:
        try:
            pk.to_python(value)
        except ValidationError:
            raise SuspiciousOperation(
                f"action on {model_admin.model.__name__}: {value!r} is not an id"
            ) from None


class AdminConfig(DjangoAdminConfig):
    default_site = "config.admin.AdminSite"
