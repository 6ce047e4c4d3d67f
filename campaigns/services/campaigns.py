"""Campaigns: creation with their default outcome codes, edits, status transitions, floor quotas.

Every change here is audited (`campaigns.campaign.*`): starting, pausing and stopping an operation
are what a regulator or the advertiser asks about afterwards.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.db import transaction

from campaigns.models import Campaign, Floor, FloorQuota
from campaigns.services.outcomes import seed_default_outcome_codes
from contacts.services.audit import audit

# A callee country must be one a number can belong to, or no number would ever match it.
from contacts.services.phones import COUNTRY_CODES

S = Campaign.Status

# draft → ready → running ⇄ paused → finished, or cancelled from any state not yet over.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.READY, S.CANCELLED}),
    S.READY: frozenset({S.RUNNING, S.DRAFT, S.CANCELLED}),
    S.RUNNING: frozenset({S.PAUSED, S.FINISHED, S.CANCELLED}),
    S.PAUSED: frozenset({S.RUNNING, S.FINISHED, S.CANCELLED}),
    S.FINISHED: frozenset(),
    S.CANCELLED: frozenset(),
}
# The audit verb of each transition (`campaigns.campaign.<verb>`).
_VERBS = {
    (S.READY, S.DRAFT): "reopened",
    (S.DRAFT, S.READY): "readied",
    (S.READY, S.RUNNING): "started",
    (S.PAUSED, S.RUNNING): "resumed",
    (S.RUNNING, S.PAUSED): "paused",
}
_FINAL_VERBS = {S.FINISHED: "finished", S.CANCELLED: "cancelled"}

# Campaigns whose lists are worked or about to be: building and rebalancing make sense for these.
LIVE_STATUSES = (S.DRAFT, S.READY, S.RUNNING, S.PAUSED)

SELECTION_KEYS = {
    "countries": "list of ISO country codes, narrowing the campaign's countries",
    "regions": "list of subdivision codes (as Prospect.region)",
    "postcodes": "list of postcode prefixes",
    "sources": "list of import sources",
    "tags": "list of tags; a prospect needs at least one",
    "audience": '"all", "customers" or "prospects"',
    "languages": "list of ISO 639-1 codes",
    "not_contacted_days": "integer: skip prospects contacted in the last N days",
}


# Ten years: ample for "not contacted since", and far from the year-1 limit of the date arithmetic.
MAX_NOT_CONTACTED_DAYS = 3650


# ISO 639-1 or -2 primary language, as prospects and floors store it (lowercase).
LANGUAGE_CODE = re.compile(r"[a-z]{2,3}")


class CampaignError(ValueError):
    """A refused change; `field` names what was wrong (the API answers 400 with it)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class IllegalTransition(CampaignError):
    pass


def _string_list(value: Any, field: str, *, upper: bool = False, lower: bool = False) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise CampaignError(field, f"{field} must be a list of non-empty strings.")
    out = [v.strip() for v in value]
    if upper:
        out = [v.upper() for v in out]
    if lower:
        out = [v.lower() for v in out]
    return out


def check_country_codes(codes: list[str], field: str) -> list[str]:
    """`codes` (already uppercased) if each is an ISO 3166-1 alpha-2 country; raises CampaignError."""
    unknown = [c for c in codes if c not in COUNTRY_CODES]
    if unknown:
        raise CampaignError(field, f"Not ISO 3166-1 alpha-2 country codes: {', '.join(unknown)}.")
    return codes


def check_language_codes(codes: list[str], field: str) -> list[str]:
    """`codes` (already lowercased) if each is an ISO 639 language code; raises CampaignError."""
    unknown = [c for c in codes if not LANGUAGE_CODE.fullmatch(c)]
    if unknown:
        raise CampaignError(field, f"Not ISO 639 language codes (e.g. fr, wo): {', '.join(unknown)}.")
    return codes


def clean_selection(selection: Any, *, countries: list[str]) -> dict[str, Any]:
    """Validate and normalise selection criteria (see SELECTION_KEYS); raises CampaignError."""
    if selection in (None, ""):
        return {}
    if not isinstance(selection, dict):
        raise CampaignError("selection", "selection must be an object.")
    unknown = sorted(set(selection) - set(SELECTION_KEYS))
    if unknown:
        raise CampaignError(
            "selection",
            f"Unknown selection key(s): {', '.join(unknown)}. Allowed: {', '.join(SELECTION_KEYS)}.",
        )
    out: dict[str, Any] = {}
    for key, value in selection.items():
        field = f"selection.{key}"
        if key == "countries":
            out[key] = _string_list(value, field, upper=True)
            outside = sorted(set(out[key]) - set(countries))
            if outside:
                raise CampaignError(field, f"Not among the campaign's countries: {', '.join(outside)}.")
        elif key == "languages":
            out[key] = check_language_codes(_string_list(value, field, lower=True), field)
        elif key in ("regions", "postcodes", "sources", "tags"):
            out[key] = _string_list(value, field)
        elif key == "audience":
            if value not in ("all", "customers", "prospects"):
                raise CampaignError(field, 'audience must be "all", "customers" or "prospects".')
            out[key] = value
        elif key == "not_contacted_days":
            # Bounded: the selection subtracts it from today, and a million days is before year 1.
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or not 0 <= value <= MAX_NOT_CONTACTED_DAYS
            ):
                raise CampaignError(
                    field, f"not_contacted_days must be an integer from 0 to {MAX_NOT_CONTACTED_DAYS}."
                )
            out[key] = value
    return out


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    if "countries" in data:
        data["countries"] = _string_list(data["countries"], "countries", upper=True)
        if not data["countries"]:
            raise CampaignError("countries", "A campaign needs at least one callee country.")
        check_country_codes(data["countries"], "countries")
    if "languages" in data:
        data["languages"] = check_language_codes(
            _string_list(data["languages"], "languages", lower=True), "languages"
        )
    return data


# What a manager may change on a campaign; the admin form and the API serializer list the same.
EDITABLE_FIELDS = (
    "name",
    "kind",
    "advertiser",
    "product",
    "countries",
    "languages",
    "starts_on",
    "ends_on",
    "priority",
    "selection",
    "max_attempts",
    "script",
)


def check_campaign(*, data: dict[str, Any], campaign: Campaign | None = None) -> dict[str, Any]:
    """`data` validated and normalised as `create_campaign` (campaign None) or `update_campaign`
    would store it, without writing; raises CampaignError naming the field. The admin form calls it
    too, so that it refuses exactly what the API refuses, on the field, before anything is saved."""
    if "status" in data:
        raise CampaignError("status", "Change the status with a transition, not an edit.")
    if campaign is not None and campaign.status in (S.FINISHED, S.CANCELLED):
        raise CampaignError("status", f"A {campaign.status} campaign cannot be edited.")
    data = _clean(data)
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise CampaignError(sorted(unknown)[0], "Not a campaign field.")
    if campaign is None:
        if "countries" not in data:
            raise CampaignError("countries", "A campaign needs at least one callee country.")
        data["selection"] = clean_selection(data.get("selection"), countries=data["countries"])
    elif "selection" in data or "countries" in data:
        countries = data.get("countries", campaign.countries)
        data["selection"] = clean_selection(data.get("selection", campaign.selection), countries=countries)
    starts_on = data.get("starts_on", campaign.starts_on if campaign else None)
    ends_on = data.get("ends_on", campaign.ends_on if campaign else None)
    if starts_on and ends_on and ends_on < starts_on:
        raise CampaignError("ends_on", "ends_on is before starts_on.")
    return data


@transaction.atomic
def create_campaign(*, data: dict[str, Any], actor: Any, now: datetime) -> Campaign:
    """A new draft campaign with its own copy of the default outcome codes."""
    data = check_campaign(data=data)
    campaign = Campaign.objects.create(**data, status=S.DRAFT)
    seed_default_outcome_codes(campaign=campaign)
    audit(actor, "campaigns.campaign.created", campaign, {"countries": campaign.countries}, at=now)
    return campaign


@transaction.atomic
def update_campaign(*, campaign: Campaign, data: dict[str, Any], actor: Any, now: datetime) -> Campaign:
    """Edit a campaign's definition. Status is not editable here (see `transition_campaign`);
    a finished or cancelled campaign is closed to edits."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    data = check_campaign(data=data, campaign=campaign)
    changed = {}
    for key, value in data.items():
        if getattr(campaign, key) != value:
            changed[key] = value
            setattr(campaign, key, value)
    if changed:
        campaign.save()
        audit(
            actor,
            "campaigns.campaign.changed",
            campaign,
            {"fields": sorted(changed)},
            at=now,
        )
    return campaign


def transition_campaign(*, campaign: Campaign, to: str, actor: Any, now: datetime) -> Campaign:
    """Move `campaign` to status `to` if the machine allows it from its current status.

    The change is a conditional UPDATE on the status read, so two managers clicking at once cannot
    both apply a transition from the same state; a refused transition changes nothing.
    """
    if to not in S.values:
        raise IllegalTransition("to", f"Unknown status {to!r}; one of {', '.join(S.values)}.")
    with transaction.atomic():
        current = Campaign.objects.select_for_update().get(pk=campaign.pk)
        frm = current.status
        if to not in ALLOWED_TRANSITIONS[frm]:
            allowed = ", ".join(sorted(ALLOWED_TRANSITIONS[frm])) or "none"
            raise IllegalTransition("to", f"A {frm} campaign cannot become {to} (allowed: {allowed}).")
        if to == S.READY and not current.outcome_codes.exists():
            raise IllegalTransition("to", "A campaign needs outcome codes before it is ready.")
        updated = Campaign.objects.filter(pk=current.pk, status=frm).update(status=to, updated_at=now)
        if updated != 1:
            raise IllegalTransition("to", "The campaign changed meanwhile; reload and retry.")
        verb = _VERBS.get((frm, to)) or _FINAL_VERBS[to]
        current.status = to
        audit(actor, f"campaigns.campaign.{verb}", current, {"from": frm, "to": to}, at=now)
    campaign.status = to
    return current


def check_floor_quotas(quotas: dict[Floor, int]) -> None:
    """Raise CampaignError unless each quota is 0–100 and, when there are any, they add up to 100.
    The admin's quota inline calls it too, so that it refuses what the API refuses."""
    for floor, percent in quotas.items():
        if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
            raise CampaignError("quotas", f"Quota of floor {floor.code} must be an integer 0–100.")
    total = sum(quotas.values())
    if quotas and total != 100:
        raise CampaignError("quotas", f"Quotas add up to {total}%, not 100%.")


@transaction.atomic
def set_floor_quotas(
    *, campaign: Campaign, quotas: dict[Floor, int], actor: Any, now: datetime
) -> list[FloorQuota]:
    """Replace the campaign's quotas (percent per floor). An empty dict returns to the capacity split.
    Percentages must add up to 100 (the share of the campaign's leads each floor should hold)."""
    check_floor_quotas(quotas)
    FloorQuota.objects.filter(campaign=campaign).delete()
    rows = FloorQuota.objects.bulk_create(
        [FloorQuota(campaign=campaign, floor=floor, percent=percent) for floor, percent in quotas.items()]
    )
    audit(
        actor,
        "campaigns.campaign.quotas_set",
        campaign,
        {"quotas": {floor.code: percent for floor, percent in quotas.items()}},
        at=now,
    )
    return rows
