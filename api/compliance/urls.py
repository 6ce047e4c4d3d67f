"""Routes of this area: `register(router)` adds viewsets to the shared /api/v1/ router,
`urlpatterns` holds plain paths (mounted under /api/v1/)."""

from django.urls import path

from api.compliance import views


def register(router) -> None:
    router.register("suppressions", views.SuppressionViewSet, basename="suppression")
    router.register("register-imports", views.RegisterImportViewSet, basename="register-import")
    router.register("consents", views.ConsentRecordViewSet, basename="consent")


urlpatterns: list = [
    path("erasures/", views.ErasureView.as_view(), name="erasure"),
]
