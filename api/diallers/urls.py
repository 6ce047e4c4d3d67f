"""Routes of this area: dialler leases, results and suppression feed; agent outcomes, callbacks
and contact history (issue 6). Mounted under /api/v1/."""

from django.urls import path

from api.diallers import views


def register(router) -> None:
    pass


urlpatterns: list = [
    path("dialler/leases/", views.LeaseView.as_view(), name="dialler-lease"),
    path(
        "dialler/leases/<uuid:lease_id>/extend/", views.LeaseExtendView.as_view(), name="dialler-lease-extend"
    ),
    path(
        "dialler/leases/<uuid:lease_id>/release/",
        views.LeaseReleaseView.as_view(),
        name="dialler-lease-release",
    ),
    path("dialler/results/", views.ResultsView.as_view(), name="dialler-results"),
    path("dialler/suppressions/", views.SuppressionFeedView.as_view(), name="dialler-suppressions"),
    path("agent/callbacks/", views.AgentCallbacksView.as_view(), name="agent-callbacks"),
    path("agent/leads/<int:lead_id>/outcome/", views.AgentOutcomeView.as_view(), name="agent-outcome"),
    path("agent/leads/<int:lead_id>/history/", views.LeadHistoryView.as_view(), name="agent-history"),
]
