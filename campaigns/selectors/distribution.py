"""Reads behind the split of a call list across floors: which floors may call whom, each floor's
capacity for a callee country, and the per-floor / per-country summary managers watch.

Capacity = seats × the weekly hours in which the floor is open (in ITS zone) AND the callee country
allows calls (in the CALLEE's zone). Dakar (Africa/Dakar, UTC+0 all year) open 08:00–17:00 covers
09:00–18:00 in Paris in winter but 10:00–19:00 in summer: the overlap is computed on real instants of
the week in question, never with fixed offsets (DOMAIN §5: windows compared in server time break at
daylight saving).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo

from django.apps import apps
from django.db.models import Count, Q

from campaigns.models import Campaign, Floor, FloorQuota, Lead

# The callee country's reference zone for capacity planning (mainland; DOM, Canaries and Azores
# numbers are checked one by one at hand-over, where the number's own zone is known).
COUNTRY_ZONES = {
    "FR": "Europe/Paris",
    "BE": "Europe/Brussels",
    "NL": "Europe/Amsterdam",
    "DE": "Europe/Berlin",
    "IT": "Europe/Rome",
    "ES": "Europe/Madrid",
    "PT": "Europe/Lisbon",
    "GB": "Europe/London",
    "LU": "Europe/Luxembourg",
    "CH": "Europe/Zurich",
}

_WEEKDAYS = [str(d) for d in range(5)]
# DOMAIN.md §4, used only while no CountryPolicy row covers the country (the country-rules
# capability seeds those, with sources; holidays are left to the hand-over check).
FALLBACK_WINDOWS: dict[str, dict[str, list[list[str]]]] = {
    # FR décret 2022-1313 (art. D.223-9): Mon–Fri 10–13 and 14–20.
    "FR": {d: [["10:00", "13:00"], ["14:00", "20:00"]] for d in _WEEKDAYS},
    # BE: no statute; conservative default Mon–Sat 09–20.
    "BE": {d: [["09:00", "20:00"]] for d in [*_WEEKDAYS, "5"]},
    # NL Telecommunicatiewet / Bel-me-niet code: Mon–Fri 09–21, Sat 10–16.
    "NL": {**{d: [["09:00", "21:00"]] for d in _WEEKDAYS}, "5": [["10:00", "16:00"]]},
    # DE: no statute; default Mon–Sat 09–20.
    "DE": {d: [["09:00", "20:00"]] for d in [*_WEEKDAYS, "5"]},
    # IT codice di condotta telemarketing: Mon–Fri 09–20, Sat 10–19.
    "IT": {**{d: [["09:00", "20:00"]] for d in _WEEKDAYS}, "5": [["10:00", "19:00"]]},
    # ES Ley 11/2022 art. 66: Mon–Fri 09–21.
    "ES": {d: [["09:00", "21:00"]] for d in _WEEKDAYS},
    # PT: 09–22 on weekdays by default.
    "PT": {d: [["09:00", "22:00"]] for d in _WEEKDAYS},
}


def country_zone(country: str) -> str:
    return COUNTRY_ZONES.get(country.upper(), "UTC")


def country_windows(*, country: str, on: dt.date) -> dict[str, list[list[str]]]:
    """The weekly calling windows of `country` in force on `on` (callee's local time).

    The country-rules capability's CountryPolicy rows are the source; the DOMAIN §4 table stands in
    while no row covers the country. This is the one place distribution asks.
    """
    try:
        policy_model = apps.get_model("campaigns", "CountryPolicy")
    except LookupError:
        policy_model = None
    if policy_model is not None:
        policy = (
            policy_model.objects.filter(country=country.upper(), effective_from__lte=on)
            .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=on))
            .order_by("-effective_from")
            .only("windows")
            .first()
        )
        if policy is not None:
            return policy.windows or {}
    return FALLBACK_WINDOWS.get(country.upper(), {})


def _parse(hhmm: str) -> dt.time:
    if hhmm in ("24:00", "24:00:00"):
        return dt.time(23, 59, 59, 999999)
    return dt.time.fromisoformat(hhmm)


def _instants(weekly: dict, zone: str, week_start: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
    """Intervals of a weekly pattern on the 7 local dates from `week_start`, as aware UTC instants."""
    tz = ZoneInfo(zone)
    out = []
    for offset in range(7):
        day = week_start + dt.timedelta(days=offset)
        for start, end in weekly.get(str(day.weekday()), []) or []:
            a = dt.datetime.combine(day, _parse(start), tzinfo=tz).astimezone(dt.UTC)
            b = dt.datetime.combine(day, _parse(end), tzinfo=tz).astimezone(dt.UTC)
            if b > a:
                out.append((a, b))
    return out


def overlap_hours(
    *, floor_hours: dict, floor_zone: str, country_hours: dict, callee_zone: str, week_start: dt.date
) -> float:
    """Hours in the week from `week_start` when both weekly patterns are open at the same instant."""
    total = dt.timedelta()
    for a1, b1 in _instants(floor_hours, floor_zone, week_start):
        for a2, b2 in _instants(country_hours, callee_zone, week_start):
            lo, hi = max(a1, a2), min(b1, b2)
            if hi > lo:
                total += hi - lo
    return total.total_seconds() / 3600


def week_start_of(at: dt.datetime) -> dt.date:
    day = at.date()
    return day - dt.timedelta(days=day.weekday())


def weekly_allowed_hours(*, floor: Floor, country: str, at: dt.datetime) -> float:
    """Hours in the week of `at` when `floor` is open and `country` may be called."""
    week_start = week_start_of(at)
    return overlap_hours(
        floor_hours=floor.opening_hours or {},
        floor_zone=floor.time_zone,
        country_hours=country_windows(country=country, on=week_start),
        callee_zone=country_zone(country),
        week_start=week_start,
    )


def floor_capacity(*, floor: Floor, country: str, at: dt.datetime) -> float:
    """Seat-hours per week the floor can put on `country` (0 when it may not call it at all)."""
    if not floor.active or country.upper() not in {c.upper() for c in floor.callee_countries or []}:
        return 0.0
    return floor.seats * weekly_allowed_hours(floor=floor, country=country, at=at)


def floor_speaks(floor: Floor, language: str) -> bool:
    # A prospect without a known language can go to any floor serving the country.
    return not language or language.lower() in {lang.lower() for lang in floor.languages or []}


def eligible_floors(*, floors: list[Floor], country: str, language: str, at: dt.datetime) -> dict[int, float]:
    """floor id → capacity for leads of (`country`, `language`); only floors with capacity > 0."""
    out = {}
    for floor in floors:
        if not floor_speaks(floor, language):
            continue
        capacity = floor_capacity(floor=floor, country=country, at=at)
        if capacity > 0:
            out[floor.id] = capacity
    return out


def quota_weights(*, campaign: Campaign) -> dict[int, int]:
    return dict(FloorQuota.objects.filter(campaign=campaign).values_list("floor_id", "percent"))


def split_weights(*, capacities: dict[int, float], quotas: dict[int, int]) -> dict[int, float]:
    """The weights the split uses among eligible floors: the manager's quotas when any eligible floor
    has one (floors without a quota then get nothing), else capacities. Quotas never add a floor that
    is not eligible (language, country, hours are not a manager's choice)."""
    if quotas and any(quotas.get(fid, 0) > 0 for fid in capacities):
        return {fid: float(quotas.get(fid, 0)) for fid in capacities}
    return dict(capacities)


def apportion(total: int, weights: dict[int, float]) -> dict[int, int]:
    """Largest-remainder split of `total` items by `weights`: each share is within one item of its
    exact value (total × weight / Σweights), and shares add up to `total`. Ties go to the lower id."""
    positive = {k: w for k, w in weights.items() if w > 0}
    if total <= 0 or not positive:
        return {k: 0 for k in weights}
    wsum = sum(positive.values())
    exact = {k: total * w / wsum for k, w in positive.items()}
    shares = {k: int(v) for k, v in exact.items()}
    left = total - sum(shares.values())
    for k in sorted(exact, key=lambda k: (-(exact[k] - shares[k]), k))[:left]:
        shares[k] += 1
    return {k: shares.get(k, 0) for k in weights}


# States whose leads are still to be worked; a rebalance may move them when no live lease holds them.
OPEN_STATES = (Lead.State.PENDING, Lead.State.CALLBACK_DUE)


def movable_leads(*, campaign: Campaign, now: dt.datetime):
    """Leads a rebalance may move: pending or callback due, with no live lease on them."""
    live_lease = Q(lease__isnull=False, lease__released_at__isnull=True, lease__expires_at__gt=now)
    return Lead.objects.filter(campaign=campaign, state__in=OPEN_STATES).exclude(live_lease)


def distribution_summary(*, campaign: Campaign, floor_ids: frozenset[int] | None = None) -> list[dict]:
    """Per floor and callee country: assigned (all leads on it), remaining (still to be worked:
    pending, leased or callback due) and done. `floor_ids` limits it to a caller's floors."""
    leads = Lead.objects.filter(campaign=campaign)
    if floor_ids is not None:
        leads = leads.filter(floor_id__in=floor_ids)
    rows = (
        leads.values("floor_id", "floor__code", "prospect__country")
        .annotate(
            assigned=Count("id"),
            remaining=Count("id", filter=Q(state__in=[*OPEN_STATES, Lead.State.LEASED])),
            done=Count("id", filter=Q(state=Lead.State.DONE)),
            suppressed=Count("id", filter=Q(state=Lead.State.SUPPRESSED)),
        )
        .order_by("floor__code", "prospect__country")
    )
    by_floor: dict = defaultdict(
        lambda: {"assigned": 0, "remaining": 0, "done": 0, "suppressed": 0, "countries": {}}
    )
    for row in rows:
        key = (row["floor_id"], row["floor__code"])
        entry = by_floor[key]
        counts = {k: row[k] for k in ("assigned", "remaining", "done", "suppressed")}
        entry["countries"][row["prospect__country"]] = counts
        for k, v in counts.items():
            entry[k] += v
    return [
        {"floor": code, "floor_id": fid, **entry}
        for (fid, code), entry in sorted(by_floor.items(), key=lambda kv: (kv[0][1] is None, kv[0][1] or ""))
    ]
