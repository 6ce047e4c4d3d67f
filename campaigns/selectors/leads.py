"""Reads of call lists: which prospects a campaign selects, and the leads with their counts."""

from __future__ import annotations

import datetime as dt
from functools import reduce
from operator import or_

from django.db.models import Count, Q, QuerySet

from campaigns.models import Campaign, Lead
from contacts.models import Prospect


def campaign_countries(campaign: Campaign) -> list[str]:
    selection = campaign.selection or {}
    return [c.upper() for c in (selection.get("countries") or campaign.countries or [])]


def universe_q(campaign: Campaign) -> Q:
    """Prospects a campaign is about at all: those of its callee countries."""
    return Q(country__in=[c.upper() for c in campaign.countries or []])


def selection_q(campaign: Campaign, *, at: dt.datetime) -> Q:
    """The campaign's selection criteria as one filter on Prospect (see
    `campaigns.services.campaigns.SELECTION_KEYS`)."""
    selection = campaign.selection or {}
    q = Q(country__in=campaign_countries(campaign))
    if selection.get("regions"):
        q &= Q(region__in=selection["regions"])
    if selection.get("postcodes"):
        q &= reduce(or_, (Q(postcode__startswith=p) for p in selection["postcodes"]))
    if selection.get("sources"):
        q &= Q(source__in=selection["sources"])
    if selection.get("tags"):
        # A JSON list of strings: matching the quoted tag in its text works on SQLite and PostgreSQL
        # alike (SQLite has no JSON containment lookup).
        q &= reduce(or_, (Q(tags__icontains=f'"{tag}"') for tag in selection["tags"]))
    audience = selection.get("audience", "all")
    if audience == "customers":
        q &= Q(is_customer=True)
    elif audience == "prospects":
        q &= Q(is_customer=False)
    if selection.get("languages"):
        q &= Q(language__in=selection["languages"])
    if selection.get("not_contacted_days"):
        since = at - dt.timedelta(days=selection["not_contacted_days"])
        q &= Q(last_contact_at__isnull=True) | Q(last_contact_at__lt=since)
    return q


def prefixed(q: Q, prefix: str) -> Q:
    """The same filter through a relation: `prefixed(Q(country="FR"), "prospect__")`."""
    out = Q(_connector=q.connector, _negated=q.negated)
    for child in q.children:
        if isinstance(child, Q):
            out.children.append(prefixed(child, prefix))
        else:
            key, value = child
            out.children.append((f"{prefix}{key}", value))
    return out


def selected_prospects(*, campaign: Campaign, at: dt.datetime) -> QuerySet[Prospect]:
    return Prospect.objects.filter(universe_q(campaign) & selection_q(campaign, at=at))


def filter_leads(
    leads: QuerySet[Lead],
    *,
    campaign: int | None = None,
    state: str | None = None,
    floor: str | None = None,
    country: str | None = None,
) -> QuerySet[Lead]:
    """`leads` (already scoped to the caller's floors) filtered for the leads list."""
    leads = leads.select_related("floor", "prospect", "last_outcome").order_by("id")
    if campaign is not None:
        leads = leads.filter(campaign_id=campaign)
    if state:
        leads = leads.filter(state=state)
    if floor:
        leads = leads.filter(floor__code=floor)
    if country:
        leads = leads.filter(prospect__country=country.upper())
    return leads


def lead_counts(leads: QuerySet[Lead]) -> dict:
    """Counts of a filtered lead set: total, by state, by floor, by country (one query each)."""
    leads = leads.order_by()
    by_state = dict(leads.values_list("state").annotate(n=Count("id")))
    by_floor = {
        code or "unassigned": n for code, n in leads.values_list("floor__code").annotate(n=Count("id"))
    }
    by_country = dict(leads.values_list("prospect__country").annotate(n=Count("id")))
    return {
        "total": sum(by_state.values()),
        "by_state": {s: by_state.get(s, 0) for s in Lead.State.values},
        "by_floor": dict(sorted(by_floor.items())),
        "by_country": dict(sorted(by_country.items())),
    }
