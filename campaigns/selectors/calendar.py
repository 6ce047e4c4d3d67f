"""Calling days and hours of a country policy, in the callee's own zone.

Everything here is pure Python over `CountryPolicy` rows already loaded: no queries. The window is
evaluated in the callee's IANA zone with `zoneinfo`, never as a fixed UTC offset, so daylight saving
and overseas departments (Réunion, Canaries, Azores) come out right (DOMAIN.md §5).
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
from collections.abc import Iterable
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from campaigns.models import CountryPolicy

# The zone whose calendar decides which policy period is in force: laws take effect on the
# mainland's date (JORF, BOE, Gazzetta…), also for overseas callees.
LEGAL_ZONE = {
    "FR": "Europe/Paris",
    "BE": "Europe/Brussels",
    "NL": "Europe/Amsterdam",
    "DE": "Europe/Berlin",
    "IT": "Europe/Rome",
    "ES": "Europe/Madrid",
    "PT": "Europe/Lisbon",
    "GB": "Europe/London",
    "LU": "Europe/Luxembourg",
}
UTC = dt.UTC
SEARCH_DAYS = 14
logger = logging.getLogger(__name__)

# Time-of-day reasons, one per zone at most, in this order of precedence.
HOLIDAY = "holiday"
DAY_CLOSED = "day_closed"
OUTSIDE_HOURS = "outside_hours"
OUTSIDE_CAMPAIGN_DATES = "outside_campaign_dates"


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=1024)
def is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, ZoneInfoNotFoundError):
        return False
    return True


def legal_date(country: str, at: dt.datetime) -> dt.date:
    return at.astimezone(zone(LEGAL_ZONE.get(country, "UTC"))).date()


def _problem(policy: CountryPolicy) -> str | None:
    from campaigns.services.policies import PolicyError, check_policy_fields

    try:
        check_policy_fields(policy)
    except PolicyError as exc:
        problem = f"#{policy.pk} {policy}: {exc}"
        logger.error("country policy left out of the decisions, fix it in the admin: %s", problem)
        return problem
    return None


class PolicyBook:
    """The policies of some countries, all periods, to pick the one in force on a date.

    A row the decision cannot compute with (`check_policy_fields`: saved before a check existed,
    edited in the database, or a `holidays` upgrade that dropped a category) is left out, logged as
    an error, and kept in `refused`: its period then has no policy in force, so its numbers are
    held as `no_policy`, never called blind. Before, it raised at every decision of its country,
    and every lease of a floor calling that country was a 500."""

    def __init__(self, policies: Iterable[CountryPolicy], *, checked: bool = False):
        """`checked`: the rows come from another book, which checked them (`only`)."""
        self._by_country: dict[str, list[CountryPolicy]] = {}
        self.refused: dict[str, list[str]] = {}  # country → "#id policy: field: problem"
        for policy in sorted(policies, key=lambda p: (p.country, p.effective_from)):
            problem = None if checked else _problem(policy)
            if problem is not None:
                self.refused.setdefault(policy.country, []).append(problem)
                continue
            self._by_country.setdefault(policy.country, []).append(policy)
        self._starts = {c: [p.effective_from for p in ps] for c, ps in self._by_country.items()}

    @classmethod
    def load(cls, countries: Iterable[str]) -> PolicyBook:
        return cls(CountryPolicy.objects.filter(country__in=sorted(set(countries))))

    def only(self, countries: Iterable[str]) -> PolicyBook:
        """The same policies of `countries` only, as `load(countries)` would read them."""
        wanted = set(countries)
        book = PolicyBook((p for c, ps in self._by_country.items() if c in wanted for p in ps), checked=True)
        book.refused = {c: problems for c, problems in self.refused.items() if c in wanted}
        return book

    def on(self, country: str, day: dt.date) -> CountryPolicy | None:
        """The policy in force in `country` on `day`; None if none is (or its row was refused)."""
        starts = self._starts.get(country)
        if not starts:
            return None
        i = bisect.bisect_right(starts, day) - 1
        if i < 0:
            return None
        policy = self._by_country[country][i]
        if policy.effective_to is not None and day > policy.effective_to:
            return None
        return policy

    def at(self, country: str, at: dt.datetime) -> CountryPolicy | None:
        return self.on(country, legal_date(country, at))

    def period_starts(self, country: str) -> list[dt.date]:
        """Days on which a policy period of the country begins or the previous one has ended."""
        days = []
        for policy in self._by_country.get(country, []):
            days.append(policy.effective_from)
            if policy.effective_to is not None:
                days.append(policy.effective_to + dt.timedelta(days=1))
        return days


# --- holidays ----------------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _holiday_dates(country: str, subdiv: str, categories: tuple[str, ...], year: int) -> frozenset[dt.date]:
    kwargs = {"years": year}
    if categories:
        kwargs["categories"] = categories
    try:
        calendar = holidays.country_holidays(country, subdiv=subdiv or None, **kwargs)
    except NotImplementedError:
        # An unknown subdivision code (a region the package does not know): the national set still
        # applies; an unknown country has no holidays we can know of.
        try:
            calendar = holidays.country_holidays(country, **kwargs)
        except NotImplementedError:
            return frozenset()
    return frozenset(calendar.keys())


def holiday_subdivision(policy: CountryPolicy, region: str) -> str:
    region = (region or "").strip()
    return (policy.holiday_subdivision_aliases or {}).get(region, region)


def is_holiday(policy: CountryPolicy, region: str, day: dt.date) -> bool:
    if day.isoformat() in (policy.extra_blocked_dates or []):
        return True
    categories = tuple(policy.holiday_categories or ())
    return day in _holiday_dates(policy.country, holiday_subdivision(policy, region), categories, day.year)


# --- windows -----------------------------------------------------------------------------------


def _seconds(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 3600 + int(minutes) * 60


def _intervals(raw) -> list[tuple[int, int]]:
    return [(_seconds(start), _seconds(end)) for start, end in raw or []]


def _intersect(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    for s1, e1 in a:
        for s2, e2 in b:
            start, end = max(s1, s2), min(e1, e2)
            if start < end:
                out.append((start, end))
    return sorted(out)


def day_status(policy: CountryPolicy, region: str, day: dt.date) -> tuple[str | None, list[tuple[int, int]]]:
    """(reason the whole day is closed or None, the day's open intervals in seconds of local time)."""
    if policy.blocked_on_holidays and is_holiday(policy, region, day):
        return HOLIDAY, []
    intervals = _intervals((policy.windows or {}).get(str(day.weekday()), []))
    if not intervals:
        return DAY_CLOSED, []
    special = (policy.special_days or {}).get(day.strftime("%m-%d"))
    if special is not None:
        intervals = _intersect(intervals, _intervals(special))
    if policy.holiday_eve_windows and is_holiday(policy, region, day + dt.timedelta(days=1)):
        intervals = _intersect(intervals, _intervals(policy.holiday_eve_windows))
    if not intervals:
        return DAY_CLOSED, []
    return None, intervals


def zone_reason(
    *, book: PolicyBook, country: str, region: str, zone_name: str, at: dt.datetime, campaign
) -> str | None:
    """Why a callee in `zone_name` may not be called at `at` by the time rules, or None.

    Uses the policy in force at `at`; None policy is reported by the caller, not here.
    """
    local = at.astimezone(zone(zone_name))
    day = local.date()
    if campaign is not None and not (campaign.starts_on <= day <= campaign.ends_on):
        return OUTSIDE_CAMPAIGN_DATES
    policy = book.at(country, at)
    if policy is None:
        return None
    reason, intervals = day_status(policy, region, day)
    if reason:
        return reason
    second = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
    if any(start <= second < end for start, end in intervals):
        return None
    return OUTSIDE_HOURS


def time_reasons(
    *, book: PolicyBook, country: str, region: str, zones: Iterable[str], at: dt.datetime, campaign
) -> set[str]:
    """Union over the candidate zones: the call needs every candidate zone open."""
    reasons = set()
    for zone_name in zones:
        reason = zone_reason(
            book=book, country=country, region=region, zone_name=zone_name, at=at, campaign=campaign
        )
        if reason:
            reasons.add(reason)
    return reasons


def next_open_instant(
    *,
    book: PolicyBook,
    country: str,
    region: str,
    zones: list[str],
    start: dt.datetime,
    until: dt.datetime,
    campaign,
) -> dt.datetime | None:
    """The first instant in [start, until] at which every zone's time rules allow a call.

    The set of open instants of several zones is an intersection of intervals, so it begins either at
    `start` or at the opening of one zone's interval (or a policy period's first day): only those
    candidates are tried.
    """
    candidates = {start}
    for zone_name in zones:
        tz = zone(zone_name)
        first = start.astimezone(tz).date() - dt.timedelta(days=1)
        last = until.astimezone(tz).date() + dt.timedelta(days=1)
        day = first
        while day <= last:
            policy = book.on(country, day)
            if policy is not None:
                _, intervals = day_status(policy, region, day)
                for open_at, _ in intervals:
                    # Wall-clock arithmetic: rebuild from the local fields so DST days stay right.
                    local = dt.datetime(
                        day.year, day.month, day.day, open_at // 3600, (open_at % 3600) // 60, tzinfo=tz
                    )
                    candidates.add(local.astimezone(UTC))
            day += dt.timedelta(days=1)
    for day in book.period_starts(country):
        legal_midnight = dt.datetime.combine(day, dt.time(0), tzinfo=zone(LEGAL_ZONE.get(country, "UTC")))
        candidates.add(legal_midnight.astimezone(UTC))
    for candidate in sorted(c for c in candidates if start <= c <= until):
        if book.at(country, candidate) is None:
            continue
        if not time_reasons(
            book=book, country=country, region=region, zones=zones, at=candidate, campaign=campaign
        ):
            return candidate
    return None
