from django.utils import timezone
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from rest_framework import exceptions

from campaigns.models import DiallerIntegration
from campaigns.services.diallers import mark_dialler_used


class TokenAuthentication(KnoxTokenAuthentication):
    """knox tokens for people and dialler service users; a revoked dialler is refused even if a
    token somehow survived, and each dialler's last use is recorded."""

    def validate_user(self, auth_token):
        user, token = super().validate_user(auth_token)
        integration = DiallerIntegration.objects.filter(user=user).first()
        if integration is not None:
            if integration.revoked_at is not None:
                raise exceptions.AuthenticationFailed("This dialler credential has been revoked.")
            mark_dialler_used(integration=integration, now=timezone.now())
        return user, token
