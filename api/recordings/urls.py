"""Routes of this area: `register(router)` adds viewsets to the shared /api/v1/ router,
`urlpatterns` holds plain paths (mounted under /api/v1/)."""

from api.recordings import views


def register(router) -> None:
    router.register("recordings", views.RecordingViewSet, basename="recording")
    router.register("recording-notices", views.RecordingNoticeViewSet, basename="recording-notice")
    router.register(
        "recording-policies", views.CampaignRecordingPolicyViewSet, basename="campaign-recording-policy"
    )


urlpatterns: list = []
