"""Routes of this area: `register(router)` adds viewsets to the shared /api/v1/ router,
`urlpatterns` holds plain paths (mounted under /api/v1/)."""

from api.contacts import views


def register(router) -> None:
    router.register("prospects", views.ProspectViewSet, basename="prospect")
    router.register("imports", views.ImportJobViewSet, basename="import-job")


urlpatterns: list = []
