"""Floors and agent profiles. A floor that is added, closed or resized changes how call lists are
split, so each such change queues a rebalance of the campaigns being worked."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction

from campaigns.models import Agent, Campaign, Floor, Lead
from campaigns.services.campaigns import (
    LIVE_STATUSES,
    CampaignError,
    check_country_codes,
    check_language_codes,
)
from contacts.services.audit import audit

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")
# Changing any of these changes who the floor may call or how much: the split must follow.
DISTRIBUTION_FIELDS = ("active", "seats", "opening_hours", "languages", "callee_countries", "time_zone")


class FloorError(CampaignError):
    pass


def clean_opening_hours(value: Any, field: str = "opening_hours") -> dict[str, list[list[str]]]:
    """{"0": [["09:00", "13:00"], ["14:00", "18:00"]], …}: weekday (Monday = 0) → [start, end)."""
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise FloorError(field, 'Expected {"0": [["09:00", "18:00"]], …} with weekdays 0 (Monday) to 6.')
    out: dict[str, list[list[str]]] = {}
    for day, intervals in value.items():
        if str(day) not in {str(d) for d in range(7)}:
            raise FloorError(field, f"Weekday {day!r} is not 0 (Monday) to 6 (Sunday).")
        if not isinstance(intervals, list):
            raise FloorError(field, f"Weekday {day}: expected a list of [start, end] pairs.")
        clean = []
        for pair in intervals:
            if (
                not isinstance(pair, list | tuple)
                or len(pair) != 2
                or not all(isinstance(t, str) and _HHMM.match(t) for t in pair)
            ):
                raise FloorError(field, f'Weekday {day}: {pair!r} is not a ["HH:MM", "HH:MM"] pair.')
            if pair[0] >= pair[1]:
                raise FloorError(field, f"Weekday {day}: {pair[0]}–{pair[1]} ends before it starts.")
            clean.append([pair[0], pair[1]])
        clean.sort()
        for (_, end), (start, _) in zip(clean, clean[1:], strict=False):
            if start < end:
                raise FloorError(field, f"Weekday {day}: intervals overlap.")
        out[str(day)] = clean
    return out


def check_floor(data: dict[str, Any]) -> dict[str, Any]:
    """`data` validated and normalised as `save_floor` stores it; raises FloorError naming the field.
    The admin form calls it too, so that it refuses what the API refuses, on the field."""
    return _clean(data)


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    if "time_zone" in data:
        try:
            ZoneInfo(data["time_zone"])
        except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):  # OSError: "Europe" is a folder
            raise FloorError("time_zone", f"{data['time_zone']!r} is not an IANA time zone.") from None
    if "opening_hours" in data:
        data["opening_hours"] = clean_opening_hours(data["opening_hours"])
    for key, case in (("callee_countries", str.upper), ("languages", str.lower)):
        if key in data:
            value = data[key]
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                raise FloorError(key, f"{key} must be a list of codes.")
            data[key] = sorted({case(v.strip()) for v in value})
    if "callee_countries" in data:
        check_country_codes(data["callee_countries"], "callee_countries")
    if "languages" in data:
        check_language_codes(data["languages"], "languages")
    if "country" in data:
        data["country"] = str(data["country"]).strip().upper()
        check_country_codes([data["country"]], "country")
    return data


def _queue_rebalances(now: dt.datetime) -> list[int]:
    from campaigns.tasks.lists import rebalance_campaign_task

    ids = list(
        Campaign.objects.filter(status__in=LIVE_STATUSES)
        .filter(
            pk__in=Lead.objects.filter(state__in=[Lead.State.PENDING, Lead.State.CALLBACK_DUE]).values(
                "campaign_id"
            )
        )
        .values_list("id", flat=True)
    )
    for campaign_id in ids:
        transaction.on_commit(lambda cid=campaign_id: rebalance_campaign_task.delay(cid))
    return ids


@transaction.atomic
def save_floor(*, data: dict[str, Any], actor: Any, now: dt.datetime, floor: Floor | None = None) -> Floor:
    """Create or change a floor, audited; queue rebalances when its reach or size changed."""
    data = _clean(data)
    if floor is None:
        floor = Floor(**data)
        changed = sorted(data)
        verb = "created"
    else:
        floor = Floor.objects.select_for_update().get(pk=floor.pk)
        changed = sorted(k for k, v in data.items() if getattr(floor, k) != v)
        for key, value in data.items():
            setattr(floor, key, value)
        verb = "changed"
    if floor.code and Floor.objects.filter(code=floor.code).exclude(pk=floor.pk).exists():
        raise FloorError("code", f"A floor with code {floor.code!r} exists.")
    floor.save()
    if verb == "changed" and "active" in changed:
        verb = "reopened" if floor.active else "closed"
    audit(actor, f"campaigns.floor.{verb}", floor, {"fields": changed}, at=now)
    if verb == "created" or set(changed) & set(DISTRIBUTION_FIELDS):
        _queue_rebalances(now)
    return floor


def new_agent_code() -> str:
    # Random, not derived from the person: a pseudonym must not be reversible (GDPR art. 4(5)).
    return f"AG-{secrets.token_hex(4).upper()}"


def check_agent(data: dict[str, Any]) -> dict[str, Any]:
    """`data` as `save_agent` stores it (no `code`: it is the service's; languages as a floor's);
    raises FloorError naming the field. The admin form calls it too."""
    data = dict(data)
    data.pop("code", None)
    if "languages" in data:
        data["languages"] = _clean({"languages": data["languages"]})["languages"]
    return data


@transaction.atomic
def save_agent(*, data: dict[str, Any], actor: Any, now: dt.datetime, agent: Agent | None = None) -> Agent:
    """Create or change an agent profile. The pseudonymous code is set once and never changes, so
    quality reports over time stay comparable without naming anyone."""
    data = check_agent(data)
    if agent is None:
        user = data.get("user")
        if user is not None and Agent.objects.filter(user=user).exists():
            raise FloorError("user", "This user already has an agent profile.")
        code = new_agent_code()
        while Agent.objects.filter(code=code).exists():
            code = new_agent_code()
        agent = Agent.objects.create(code=code, **data)
        audit(actor, "campaigns.agent.created", agent, {"floor": agent.floor_id}, at=now)
        return agent
    changed = sorted(k for k, v in data.items() if getattr(agent, k) != v)
    for key, value in data.items():
        setattr(agent, key, value)
    agent.save()
    audit(actor, "campaigns.agent.changed", agent, {"fields": changed}, at=now)
    return agent
