from django.urls import path

from api.accounts import views


def register(router) -> None:
    router.register("diallers", views.DiallerIntegrationViewSet, basename="dialler-integration")
    router.register("audit", views.AuditEntryViewSet, basename="audit-entry")


urlpatterns = [
    path("auth/login/", views.LoginView.as_view(), name="auth-login"),
    path("auth/logout/", views.LogoutView.as_view(), name="auth-logout"),
    path("me/", views.MeView.as_view(), name="me"),
]
