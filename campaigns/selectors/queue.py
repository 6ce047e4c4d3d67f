"""Why a floor's queue hands out nothing, and when it next will (DOMAIN.md §5: "an empty hopper
silently stops dialling and nobody can see why").

Counts come from one aggregate over the floor's leads (a slow one reused for a few seconds:
`_floor_counts`), plus the reasons the hand-over check gave for the candidates it held back during
the same request.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Count, Min, Q

from campaigns.models import Campaign, Floor, Lead, Lease

HANDOVER_STATES = (Lead.State.PENDING, Lead.State.CALLBACK_DUE)

MESSAGES = {
    "no_running_campaign": "No campaign with leads on this floor is running.",
    "nothing_pending": "Every lead of this floor's running campaigns is done or suppressed.",
    "all_leased": "Every callable lead is held by a live lease.",
    "not_due_yet": "The remaining leads are waiting for their retry or callback time.",
    "held_at_handover": "The leads due now failed the callability check at hand-over.",
    "busy": "Other requests are handing out the remaining leads right now; retry.",
}


def explain_empty_queue(
    *,
    floor: Floor,
    at: datetime,
    campaign: Campaign | None = None,
    refused: Counter | None = None,
    refused_next_at: datetime | None = None,
    running_campaign_ids: list[int] | None = None,
) -> dict:
    """{"reason", "message", "counts": {reason: n}, "next_callable_at"} for an empty answer.

    `counts` holds the queue states (no_running_campaign, all_leased, not_due_yet, done,
    suppressed) and, for leads checked during the request, the callability reason codes
    (outside_hours, suppressed, frequency_cap, holiday, …). `next_callable_at` is the earliest
    instant something may become callable: a retry or callback time, a window opening, or the
    expiry of a live lease.

    `running_campaign_ids`: the running campaigns, when the caller knows them (a lease request's
    configuration): the aggregate then reads the leads alone instead of joining every one of them
    to its campaign (~40 % of its time on a floor of 30,000 leads, EXPLAIN ANALYZE).
    """
    agg = _floor_counts(floor=floor, at=at, campaign=campaign, running_campaign_ids=running_campaign_ids)
    next_lease_end = (
        Lease.objects.filter(
            floor=floor, released_at__isnull=True, expires_at__gt=at, leased_count__gt=0
        ).aggregate(m=Min("expires_at"))["m"]
        if agg["all_leased"]
        else None
    )
    counts = {
        "no_running_campaign": agg["no_running_campaign"],
        "all_leased": agg["all_leased"],
        "not_due_yet": agg["not_due_yet"],
        "done": agg["done"],
        "suppressed_leads": agg["suppressed_leads"],
    }
    checked = dict(sorted((refused or Counter()).items()))
    counts.update({f"checked:{reason}": n for reason, n in checked.items()})

    if refused:
        reason = "held_at_handover"
    elif agg["due_now"]:
        reason = "busy"
    elif agg["all_leased"]:
        reason = "all_leased"
    elif agg["not_due_yet"]:
        reason = "not_due_yet"
    elif agg["no_running_campaign"]:
        reason = "no_running_campaign"
    else:
        reason = "nothing_pending"
    candidates = [t for t in (refused_next_at, agg["next_due_at"], next_lease_end) if t is not None]
    message = MESSAGES[reason]
    if checked:
        message += " Reasons: " + ", ".join(f"{r} ({n})" for r, n in checked.items()) + "."
    return {
        "reason": reason,
        "message": message,
        "counts": counts,
        "next_callable_at": min(candidates) if candidates else None,
    }


# An idle floor is asked again and again: each of its diallers polls, and each empty answer counts
# every lead of the floor (~0.4 µs a lead, ~12 ms at 30,000: EXPLAIN ANALYZE on the lease bench;
# a floor with a long history holds far more done leads than waiting ones). A count that took
# longer than this is reused by this process for the same question (floor, campaign, running
# campaigns) for settings.EMPTY_QUEUE_REUSE_SECONDS: an explanation at most that old, while the
# lease path itself never reads it. A quick count is never reused, so a small floor's answer is
# always exact.
SLOW_COUNT_SECONDS = 0.02
_COUNTS: dict[tuple, tuple[float, datetime, dict]] = {}


def _floor_counts(*, floor, at: datetime, campaign, running_campaign_ids) -> dict:
    reuse = settings.EMPTY_QUEUE_REUSE_SECONDS
    key = (
        floor.pk,
        campaign.pk if campaign is not None else None,
        None if running_campaign_ids is None else tuple(running_campaign_ids),
    )
    started = time.monotonic()
    kept = _COUNTS.get(key)
    if kept is not None:
        counted_at, counted_for, agg = kept
        if started - counted_at < reuse and timedelta(0) <= at - counted_for < timedelta(seconds=reuse):
            return agg
        _COUNTS.pop(key, None)  # threads of one process may race here: pop, not del
    leads = Lead.objects.filter(floor=floor)
    if campaign is not None:
        leads = leads.filter(campaign=campaign)
    if running_campaign_ids is None:
        running = Q(campaign__status=Campaign.Status.RUNNING)
    else:  # no campaign running: a condition no lead meets
        running = Q(campaign_id__in=running_campaign_ids) if running_campaign_ids else Q(pk__isnull=True)
    waiting = Q(state__in=HANDOVER_STATES)
    due = Q(next_call_at__isnull=True) | Q(next_call_at__lte=at)
    agg = leads.aggregate(
        no_running_campaign=Count("id", filter=waiting & ~running),
        all_leased=Count("id", filter=running & Q(state=Lead.State.LEASED)),
        not_due_yet=Count("id", filter=running & waiting & Q(next_call_at__gt=at)),
        next_due_at=Min("next_call_at", filter=running & waiting & Q(next_call_at__gt=at)),
        due_now=Count("id", filter=running & waiting & due & Q(lease__isnull=True)),
        done=Count("id", filter=running & Q(state=Lead.State.DONE)),
        suppressed_leads=Count("id", filter=running & Q(state=Lead.State.SUPPRESSED)),
    )
    finished = time.monotonic()
    if reuse > 0 and finished - started >= SLOW_COUNT_SECONDS:
        if len(_COUNTS) >= 1000:  # floors × campaigns of one deployment: far fewer; a bound anyway
            _COUNTS.clear()
        _COUNTS[key] = (finished, at, agg)
    return agg


def _window_end(decision, *, at: datetime, book) -> datetime | None:
    """End of the calling window the lead was handed out in: the earliest end, over the callee's
    candidate zones, of the policy interval containing `at` (callee's local time). `book`: the
    PolicyBook the hand-over decided with (the lease request's configuration)."""
    if decision is None:
        return None
    details = decision.details or {}
    if details.get("window_ends_at"):
        return details["window_ends_at"]
    country, zones = details.get("country"), details.get("zones") or []
    if not country or not zones:
        return None
    from campaigns.selectors import calendar

    policy = book.at(country, at)
    if policy is None:
        return None
    ends = []
    for zone_name in zones:
        local = at.astimezone(calendar.zone(zone_name))
        _, intervals = calendar.day_status(policy, details.get("region", ""), local.date())
        second = local.hour * 3600 + local.minute * 60 + local.second
        end = next((e for s, e in intervals if s <= second < e), None)
        if end is None:
            return None
        midnight = datetime(local.year, local.month, local.day, tzinfo=local.tzinfo)
        # Aware + timedelta is wall-clock arithmetic in zoneinfo: right on daylight-saving days.
        ends.append(midnight + timedelta(seconds=end))
    return min(ends).astimezone(UTC) if ends else None


def _cached_window_end(decision, at: datetime, book, ends: dict) -> datetime | None:
    """`_window_end`, once per (country, region, zones): the same for every callee of one zone and
    region at one instant (a lease of 100 usually has a handful of combinations)."""
    if decision is None:
        return None
    details = decision.details or {}
    if details.get("window_ends_at"):
        return details["window_ends_at"]
    key = (details.get("country"), details.get("region", ""), tuple(details.get("zones") or ()))
    if key not in ends:
        ends[key] = _window_end(decision, at=at, book=book)
    return ends[key]


def _notice_part(notice, parts: dict) -> dict:
    """A notice as the lease items give it, once per notice and lease (its audio URL is asked of the
    storage): a lease of 100 in one country plays one or two notices."""
    part = parts.get(notice.pk)
    if part is None:
        part = parts[notice.pk] = {
            "id": notice.pk,
            "country": notice.country,
            "language": notice.language,
            "version": notice.version,
            "mode": notice.mode,
            "text": notice.text,
            "audio": notice.audio.url if notice.audio else "",
        }
    return part


def lease_items(*, outcome, at: datetime) -> list[dict]:
    """What a dialler needs per leased lead: number, callee zone and window end, the minimal
    prospect fields, the recording notice to play, a short history, the callback if any.

    Constant number of queries: notices per campaign, outcome codes and callback agents in bulk.
    """
    from campaigns.models import Agent, OutcomeCode
    from campaigns.selectors.notices import resolve_notices

    leads = outcome.leads
    by_campaign: dict[int, list] = {}
    for lead in leads:
        by_campaign.setdefault(lead.campaign_id, []).append(lead)
    notices: dict[tuple[int, int], object] = {}
    config = outcome.config  # the lease request's campaigns, policies and notices: no query
    for campaign_id, group in by_campaign.items():
        resolved = resolve_notices(
            campaign=group[0].campaign,
            prospects=[lead.prospect for lead in group],
            at=at,
            active=config.notices,
        )
        for lead in group:
            notices[(campaign_id, lead.prospect_id)] = resolved.get(lead.prospect_id)
    # Skipped when no lead has one (a first pass over a list): an empty `pk__in` sends no query,
    # but the ORM still compiles it (~0.3 ms each per lease, measured).
    code_ids = {lead.last_outcome_id for lead in leads if lead.last_outcome_id}
    agent_ids = {lead.callback_agent_id for lead in leads if lead.callback_agent_id}
    codes = dict(OutcomeCode.objects.filter(pk__in=code_ids).values_list("pk", "code")) if code_ids else {}
    agents = dict(Agent.objects.filter(pk__in=agent_ids).values_list("pk", "code")) if agent_ids else {}
    ends: dict = {}
    # One part per campaign, shared by its items (the response is written once, never changed).
    campaign_parts = {
        campaign_id: {"id": campaign_id, "name": group[0].campaign.name, "kind": group[0].campaign.kind}
        for campaign_id, group in by_campaign.items()
    }
    notice_parts: dict = {}
    items = []
    # `.id` rather than `.pk` (a property that looks the key's name up at each read), as in
    # campaigns/services/leases.py.
    for lead in leads:
        number, prospect = lead.phone_number, lead.prospect
        campaign_id = lead.campaign_id
        notice = notices.get((campaign_id, lead.prospect_id))
        items.append(
            {
                "lead": lead.id,
                "campaign": campaign_parts[campaign_id],
                "e164": number.e164,
                "time_zone": number.time_zone,
                "time_zone_candidates": number.time_zone_candidates or [number.time_zone],
                "window_ends_at": _cached_window_end(outcome.decisions.get(number.id), at, config.book, ends),
                "first_name": prospect.first_name,
                "last_name": prospect.last_name,
                "language": prospect.language,
                "priority": lead.priority,
                "notice": _notice_part(notice, notice_parts) if notice is not None else None,
                "history": {"attempts": lead.attempts, "last_outcome": codes.get(lead.last_outcome_id)},
                "callback": (
                    {"at": lead.callback_at, "agent_code": agents.get(lead.callback_agent_id)}
                    if lead.callback_at
                    else None
                ),
            }
        )
    return items
