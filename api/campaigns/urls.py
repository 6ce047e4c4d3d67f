"""Routes of this area: `register(router)` adds viewsets to the shared /api/v1/ router,
`urlpatterns` holds plain paths (mounted under /api/v1/)."""

from api.campaigns import views


def register(router) -> None:
    router.register("floors", views.FloorViewSet, basename="floor")
    router.register("agents", views.AgentViewSet, basename="agent")
    router.register("campaigns", views.CampaignViewSet, basename="campaign")
    router.register("outcome-codes", views.OutcomeCodeViewSet, basename="outcome-code")
    router.register("list-builds", views.ListBuildViewSet, basename="list-build")
    router.register("leads", views.LeadViewSet, basename="lead")


urlpatterns: list = []
