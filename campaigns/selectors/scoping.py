"""Which floors a caller may see. Every floor-scoped endpoint and admin page asks this."""

from __future__ import annotations

from typing import Any

from campaigns.roles import ALL_FLOORS_ROLES


def floor_ids_for(user: Any) -> frozenset[int] | None:
    """None means every floor (superusers, managers, evaluators); otherwise the caller's floors.

    A dialler sees the floors its credential is scoped to; an agent or supervisor sees the floor of
    its agent profile; anyone else sees nothing (an empty set, never "all" by omission).
    """
    if user is None or not user.is_authenticated:
        return frozenset()
    if user.is_superuser:
        return None
    if _has_related(user, "dialler_integration"):
        integration = user.dialler_integration
        if integration.revoked_at is not None:
            return frozenset()
        return frozenset(integration.floors.values_list("id", flat=True))
    if user.groups.filter(name__in=ALL_FLOORS_ROLES).exists():
        return None
    if _has_related(user, "agent"):
        return frozenset({user.agent.floor_id})
    return frozenset()


def _has_related(user: Any, name: str) -> bool:
    try:
        getattr(user, name)
    except Exception:  # RelatedObjectDoesNotExist
        return False
    return True
