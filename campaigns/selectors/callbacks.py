"""Callbacks an agent must make: personal ones and, on request, the floor's shared ones."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet

from campaigns.models import Agent, Lead
from campaigns.selectors.callability import Decision, callability_loaded


def due_callbacks(
    *, agent: Agent, at: datetime, scope: str = "mine", until: datetime | None = None
) -> QuerySet:
    """Callbacks of the agent's floor due by `until` (default `at`), earliest first.

    scope "mine": the agent's personal callbacks and the floor's unassigned ones;
    scope "floor": every callback of the floor (supervisors share them out).
    A callback a dialler holds under a lease is not listed: it is being dialled already.
    """
    qs = Lead.objects.filter(
        floor_id=agent.floor_id,
        state=Lead.State.CALLBACK_DUE,
        callback_at__isnull=False,
    ).filter(callback_at__lte=until or at)
    if scope == "mine":
        qs = qs.filter(Q(callback_agent=agent) | Q(callback_agent__isnull=True))
    return qs.select_related(
        "campaign", "prospect", "phone_number", "callback_agent", "last_outcome"
    ).order_by("callback_at", "id")


def callback_decisions(leads: list[Lead], *, at: datetime) -> dict[int, Decision]:
    """Lead id → the full hand-over decision at `at` (suppression, consent, window, holiday,
    frequency, quiet period), as a dialler's lease would get it: one batch per campaign. The leads
    come with their prospects (`due_callbacks` reads them): the decision does not read them again."""
    by_campaign: dict[int, list[Lead]] = {}
    for lead in leads:
        by_campaign.setdefault(lead.campaign_id, []).append(lead)
    decisions: dict[int, Decision] = {}
    for group in by_campaign.values():
        by_number = callability_loaded(
            numbers=[lead.phone_number for lead in group],
            prospects={lead.prospect_id: lead.prospect for lead in group},
            campaign=group[0].campaign,
            at=at,
        ).decisions
        for lead in group:
            decisions[lead.pk] = by_number[lead.phone_number_id]
    return decisions
