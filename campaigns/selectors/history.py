"""A prospect's contact history across campaigns, so the customer is recognised (DOMAIN.md §2)."""

from __future__ import annotations

from django.db.models import QuerySet

from campaigns.models import Attempt, Lead

HISTORY_LIMIT = 50


def contact_history(*, lead: Lead, limit: int = HISTORY_LIMIT) -> QuerySet:
    """The prospect's previous attempts and outcomes, every campaign and floor, newest first.

    Agent codes of other floors are not shown by the API (agents stay anonymous outside their
    floor); campaign, outcome, time, note and appointment are.
    """
    return (
        Attempt.objects.filter(prospect_id=lead.prospect_id)
        .select_related("campaign", "outcome", "floor")
        .order_by("-started_at", "-id")[:limit]
    )
