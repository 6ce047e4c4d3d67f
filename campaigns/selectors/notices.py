"""Which recording notice a callee hears, and each country's recording rule (mode and retention).

Used by leasing (every lease carries the notice of each lead, `resolve_notices` for a batch in one
query) and by `campaigns.services.recordings` (refusals and purge dates).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db.models import Q

from campaigns.models import CountryPolicy, RecordingNotice

INFORM_OBJECT = RecordingNotice.Mode.INFORM_OBJECT.value
ASK_CONSENT = RecordingNotice.Mode.ASK_CONSENT.value


@dataclass(frozen=True)
class CountryRecordingRule:
    country: str
    mode: str
    retention_days: int
    source: str  # "country_policy" (issue 4 data) or "fallback" (the table below)


# Fallback used only when a country has no `CountryPolicy` row in force (issue 4 owns that data and
# seeds the same values for the 7 countries).
# FR: CNIL (norme 2014-474, current CNIL guidance) keeps quality recordings at most 6 months.
# PT: CNPD Deliberação 629/2010, quality-monitoring recordings at most 30 days.
# DE: §201 StGB makes recording the spoken word without authorisation an offence: ask first.
# Elsewhere (BE art. 128 LCE, NL, IT, ES: GDPR transparency) inform and let the callee object;
# no statutory maximum was found, so the CNIL 6 months serves as the purpose-bound default.
FALLBACK_RECORDING_RULES: dict[str, tuple[str, int]] = {
    "FR": (INFORM_OBJECT, 180),
    "PT": (INFORM_OBJECT, 30),
    "DE": (ASK_CONSENT, 180),
}
DEFAULT_RECORDING_RULE: tuple[str, int] = (INFORM_OBJECT, 180)

# The notice's effective dates are calendar days of the callee's country (mainland zone; the
# overseas/island zones of FR, ES, PT differ by hours, never enough to matter for a notice text).
COUNTRY_ZONES = {
    "FR": "Europe/Paris",
    "BE": "Europe/Brussels",
    "NL": "Europe/Amsterdam",
    "DE": "Europe/Berlin",
    "IT": "Europe/Rome",
    "ES": "Europe/Madrid",
    "PT": "Europe/Lisbon",
}
# The language a country's notice falls back to when neither the callee's nor the campaign's
# languages have one (BE: French first, then Dutch — the first active notice otherwise).
COUNTRY_DEFAULT_LANGUAGES = {
    "FR": ["fr"],
    "BE": ["fr", "nl", "de"],
    "NL": ["nl"],
    "DE": ["de"],
    "IT": ["it"],
    "ES": ["es"],
    "PT": ["pt"],
}


def country_day(country: str, at: dt.datetime) -> dt.date:
    """The calendar day in the callee's country at instant `at` (effective dates are days)."""
    return at.astimezone(ZoneInfo(COUNTRY_ZONES.get(country.upper(), "UTC"))).date()


def country_recording_rule(*, country: str, at: dt.datetime) -> CountryRecordingRule:
    """The recording mode and maximum retention (days) for callees of `country` at `at`."""
    country = (country or "").upper()
    policy = _country_policy(country, at)
    if policy is not None:
        return policy
    mode, days = FALLBACK_RECORDING_RULES.get(country, DEFAULT_RECORDING_RULE)
    return CountryRecordingRule(country=country, mode=mode, retention_days=days, source="fallback")


def _country_policy(country: str, at: dt.datetime) -> CountryRecordingRule | None:
    """The issue-4 `CountryPolicy` row in force on the callee country's day (dates inclusive)."""
    day = country_day(country, at)
    row = (
        CountryPolicy.objects.filter(country=country, effective_from__lte=day)
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=day))
        .order_by("-effective_from")
        .only("recording_mode", "recording_retention_days")
        .first()
    )
    if row is None:
        return None
    fallback_mode, fallback_days = FALLBACK_RECORDING_RULES.get(country, DEFAULT_RECORDING_RULE)
    return CountryRecordingRule(
        country=country,
        mode=row.recording_mode or fallback_mode,
        # No statutory maximum recorded for the country: the purpose-bound default applies.
        retention_days=row.recording_retention_days or fallback_days,
        source="country_policy",
    )


def callee_country(prospect) -> str:
    return (getattr(prospect, "country", "") or "").upper()


def language_order(*, campaign, prospect, country: str) -> list[str]:
    """The callee's language, then the campaign's, then the country's defaults; no duplicates.

    A regional tag ("fr-BE") is tried as given, then as its primary language ("fr").
    """
    order: list[str] = []

    def add(language: str) -> None:
        language = (language or "").strip().lower().replace("_", "-")
        for candidate in (language, language.split("-")[0]):
            if candidate and candidate not in order:
                order.append(candidate)

    add(getattr(prospect, "language", ""))
    for language in getattr(campaign, "languages", None) or []:
        add(language)
    for language in COUNTRY_DEFAULT_LANGUAGES.get(country, []):
        add(language)
    return order


def notices_in_force(
    *, countries: Iterable[str], at: dt.datetime, active: Iterable[RecordingNotice] | None = None
) -> dict[str, dict[str, RecordingNotice]]:
    """{country: {language: highest active version in force}} in one query, or none when the
    caller has every active notice already (`active`, in this query's order: the lease path's
    `campaigns.selectors.lease_config`)."""
    countries = {c.upper() for c in countries if c}
    if not countries:
        return {}
    days = {country: country_day(country, at) for country in countries}
    latest_day = max(days.values())
    result: dict[str, dict[str, RecordingNotice]] = {country: {} for country in countries}
    if active is None:
        rows = RecordingNotice.objects.filter(
            country__in=countries, active=True, effective_from__lte=latest_day
        ).order_by("country", "language", "-version")
    else:
        rows = [n for n in active if n.active and n.country in countries and n.effective_from <= latest_day]
    for notice in rows:
        day = days[notice.country]
        if notice.effective_from > day or (notice.effective_to is not None and notice.effective_to < day):
            continue
        result[notice.country].setdefault(notice.language.lower(), notice)
    return result


def _pick(by_language: dict[str, RecordingNotice], order: list[str]) -> RecordingNotice | None:
    for language in order:
        if language in by_language:
            return by_language[language]
    if by_language:  # the country's first active notice: deterministic, by language code
        return by_language[min(by_language)]
    return None


def resolve_notice(*, campaign, prospect, at: dt.datetime) -> RecordingNotice | None:
    """The notice version the callee must hear at `at`, or None if the country has none in force.

    Fallback order: the prospect's language, the campaign's languages, the country's default
    languages, then the country's first active notice. None means "no notice": the caller must not
    record (and leasing should say so), never play another country's notice.
    """
    country = callee_country(prospect)
    if not country:
        return None
    by_language = notices_in_force(countries=[country], at=at).get(country, {})
    return _pick(by_language, language_order(campaign=campaign, prospect=prospect, country=country))


def resolve_notices(
    *, campaign, prospects: Iterable, at: dt.datetime, active: Iterable[RecordingNotice] | None = None
) -> dict[int, RecordingNotice | None]:
    """`resolve_notice` for a batch of prospects (a lease), keyed by prospect id, in one query (none
    with `active`: see `notices_in_force`)."""
    prospects = list(prospects)
    countries = [callee_country(p) for p in prospects]
    in_force = notices_in_force(countries=countries, at=at, active=active)
    result: dict[int, RecordingNotice | None] = {}
    # The pick depends on the callee's country and language only: a lease of 100 has a handful.
    picked: dict[tuple[str, str], RecordingNotice | None] = {}
    for prospect, country in zip(prospects, countries, strict=True):
        key = (country, getattr(prospect, "language", "") or "")
        if key not in picked:
            picked[key] = _pick(
                in_force.get(country, {}),
                language_order(campaign=campaign, prospect=prospect, country=country),
            )
        result[prospect.pk] = picked[key]
    return result
