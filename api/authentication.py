import binascii
from hmac import compare_digest

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS, knox_settings
from rest_framework import exceptions

from campaigns.models import DiallerIntegration
from campaigns.services.diallers import mark_dialler_used
from config.db import CompiledQuery

# The tokens of one key with their user and the user's dialler integration, compiled once per
# process: every API request runs it (config/db.py says what that saves).
_TOKENS_WITH_USER = CompiledQuery(
    lambda key: (
        get_token_model().objects.filter(token_key=key).select_related("user", "user__dialler_integration")
    )
)


def warm_token_lookup() -> None:
    """Compile and prepare the token lookup on this process's connection (config.warmup), with a
    key no token has."""
    _TOKENS_WITH_USER("")


class TokenAuthentication(KnoxTokenAuthentication):
    """knox tokens for people and dialler service users; a revoked dialler is refused even if a
    token somehow survived, and each dialler's last use is recorded.

    One query per request: the token, its user and the user's dialler integration together (knox
    alone reads the token, then every token of the user, then the view and the throttle each read
    the integration again; measured on the lease bench, 5 round trips before any work).
    """

    def authenticate_credentials(self, token):
        # knox's loop, with the integration joined in. Same checks in the same order: expired
        # tokens are deleted and skipped, digests compared in constant time, auto-refresh.
        msg = _("Invalid token.")
        try:
            token = token.decode("utf-8")
        except UnicodeDecodeError:  # a header byte outside UTF-8 is a bad token, not a 500
            raise exceptions.AuthenticationFailed(msg) from None
        for auth_token in _TOKENS_WITH_USER(token[: CONSTANTS.TOKEN_KEY_LENGTH]):
            if self._cleanup_token(auth_token):
                continue
            try:
                digest = hash_token(token)
            except (TypeError, binascii.Error):
                raise exceptions.AuthenticationFailed(msg) from None
            if compare_digest(digest, auth_token.digest):
                if knox_settings.AUTO_REFRESH and auth_token.expiry:
                    self.renew_token(auth_token)
                return self.validate_user(auth_token)
        raise exceptions.AuthenticationFailed(msg)

    def _cleanup_token(self, auth_token) -> bool:
        if auth_token.expiry is None:
            # A token that never expires (the dialler credentials are issued so) cannot be expired
            # itself; knox would also read all the user's tokens to delete expired siblings on every
            # request. Those siblings are refused at their own use and swept on a person's request.
            return False
        return super()._cleanup_token(auth_token)

    def validate_user(self, auth_token):
        user, token = super().validate_user(auth_token)
        try:
            integration = user.dialler_integration  # joined above: no query
        except DiallerIntegration.DoesNotExist:
            integration = None
        if integration is not None:
            if integration.revoked_at is not None:
                raise exceptions.AuthenticationFailed("This dialler credential has been revoked.")
            mark_dialler_used(integration=integration, now=timezone.now())
        return user, token
