"""Routes of this area: `register(router)` adds viewsets to the shared /api/v1/ router,
`urlpatterns` holds plain paths (mounted under /api/v1/)."""

from django.urls import path

from api.rules import views


def register(router) -> None:
    router.register("country-policies", views.CountryPolicyViewSet, basename="country-policy")


urlpatterns: list = [
    path("callability/", views.CallabilityView.as_view(), name="callability"),
]
