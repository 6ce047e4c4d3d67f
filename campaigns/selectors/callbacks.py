"""Callbacks an agent must make: personal ones and, on request, the floor's shared ones."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet

from campaigns.models import Agent, Lead


def due_callbacks(
    *, agent: Agent, at: datetime, scope: str = "mine", until: datetime | None = None
) -> QuerySet:
    """Callbacks of the agent's floor due by `until` (default `at`), earliest first.

    scope "mine": the agent's personal callbacks and the floor's unassigned ones;
    scope "floor": every callback of the floor (supervisors share them out).
    """
    qs = Lead.objects.filter(
        floor_id=agent.floor_id,
        state__in=(Lead.State.CALLBACK_DUE, Lead.State.LEASED),
        callback_at__isnull=False,
    ).filter(callback_at__lte=until or at)
    if scope == "mine":
        qs = qs.filter(Q(callback_agent=agent) | Q(callback_agent__isnull=True))
    return qs.select_related(
        "campaign", "prospect", "phone_number", "callback_agent", "last_outcome"
    ).order_by("callback_at", "id")
