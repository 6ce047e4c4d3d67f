"""Callbacks: a time the customer asked to be called back, for one agent or the whole floor.

A callback is a lead in state `callback_due` whose `next_call_at` is the asked time. It goes
through the same hand-over check as any lead: a callback asked for 13:30 in Paris is handed out
at 14:00, when the French window reopens (DOMAIN.md §5: callbacks that skip the legal checks).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from campaigns.models import Agent, Campaign, Lead
from contacts.services.audit import audit


class CallbackError(ValueError):
    pass


def validate_callback(*, campaign: Campaign, callback_at: datetime | None, after: datetime) -> None:
    """A callback needs an aware time after the call and before the campaign ends."""
    if callback_at is None:
        raise CallbackError("callback_at: this outcome asks for a callback time.")
    if callback_at.tzinfo is None:
        raise CallbackError("callback_at: give a time zone offset.")
    if callback_at <= after:
        raise CallbackError("callback_at: must be after the call started.")
    if callback_at.date() > campaign.ends_on:
        raise CallbackError(f"callback_at: the campaign ends on {campaign.ends_on.isoformat()}.")


def reassign_callback(*, lead: Lead, agent: Agent | None, actor: Any, now: datetime) -> Lead:
    """Give a due callback to another agent of the lead's floor, or to the whole floor (None)."""
    with transaction.atomic():
        if agent is not None and agent.floor_id != lead.floor_id:
            raise CallbackError("agent: not an agent of the lead's floor.")
        updated = Lead.objects.filter(pk=lead.pk, state=Lead.State.CALLBACK_DUE).update(callback_agent=agent)
        if updated != 1:
            raise CallbackError("lead: this lead has no callback pending.")
        audit(
            actor,
            "campaigns.callback.reassigned",
            lead,
            {"agent": agent.code if agent else None},
            at=now,
        )
        return Lead.objects.get(pk=lead.pk)
