from rest_framework.throttling import UserRateThrottle


def _integration(user):
    try:
        return user.dialler_integration
    except Exception:  # RelatedObjectDoesNotExist: a person
        return None


class PersonRateThrottle(UserRateThrottle):
    """Per-person rate; diallers have their own (they legitimately pull far more)."""

    scope = "person"

    def allow_request(self, request, view):
        if request.user and request.user.is_authenticated and _integration(request.user) is not None:
            return True
        return super().allow_request(request, view)


class DiallerRateThrottle(UserRateThrottle):
    """Per-dialler-credential rate, keyed by the integration so a rotated token shares the budget."""

    scope = "dialler"

    def get_cache_key(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return None
        integration = _integration(request.user)
        if integration is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": integration.pk}
