"""Country policies: the seed (every value with its source) and the audited writes.

Sources are the [KEY]s of shared/reference/regulation.md (§13 resolves them). Values marked
"default" are conservative product defaults where no statute was found (regulation.md §12 italics).
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import Any

import holidays
from django.db import transaction

from campaigns.models import CountryPolicy
from contacts.services.audit import audit

# FR décret 2022-1313, art. D.223-9 Code conso [FR-D223-9]: Mon–Fri 10:00–13:00 and 14:00–20:00.
_FR_WINDOWS = {str(d): [["10:00", "13:00"], ["14:00", "20:00"]] for d in range(5)} | {"5": [], "6": []}
# BE: no statute; energy-sector agreement 09:00–20:00, default Mon–Sat [BE-ENERGY] (default).
_BE_WINDOWS = {str(d): [["09:00", "20:00"]] for d in range(6)} | {"6": []}
# NL Code Telemarketing art. 9 [NL-CTM]: working days until 22:00 unconfirmed, 21:00 is the safe
# default; Saturday 10:00–16:00; never on Sunday.
_NL_WINDOWS = {str(d): [["09:00", "21:00"]] for d in range(5)} | {"5": [["10:00", "16:00"]], "6": []}
# DE: no statute; conservative default Mon–Sat 09:00–20:00 [DE-UWG7] (regulation.md §4).
_DE_WINDOWS = {str(d): [["09:00", "20:00"]] for d in range(6)} | {"6": []}
# IT code of conduct, Garante provv. 148/2024 [IT-CODICE]: Mon–Fri 09:00–20:00, Sat 10:00–19:00.
_IT_WINDOWS = {str(d): [["09:00", "20:00"]] for d in range(5)} | {"5": [["10:00", "19:00"]], "6": []}
# ES TRLGDCU art. 96.2 [ES-TRLGDCU96]: never before 09:00 or after 21:00, nor weekends.
_ES_WINDOWS = {str(d): [["09:00", "21:00"]] for d in range(5)} | {"5": [], "6": []}
# PT DL 134/2009 art. 7 [PT-DL134]: 09:00–22:00; "rest periods" read as weekdays only (L/M).
_PT_WINDOWS = {str(d): [["09:00", "22:00"]] for d in range(5)} | {"5": [], "6": []}

# CNIL référentiel [FR-CNIL-PROSP]: prospect data 3 years after the last contact; default elsewhere.
_PROSPECT_RETENTION = 3 * 365
# Recordings: elsewhere purpose-bound, default ≤ 6 months; evaluations 1 year (regulation.md §9,
# [FR-CNIL-REC] as the reference).
_DEFAULT_RECORDING_RETENTION = 180
_DEFAULT_EVALUATION_RETENTION = 365

_FR_COMMON: dict[str, Any] = {
    "windows": _FR_WINDOWS,
    # L.3133-1 Code du travail holidays [FR-D223-9]; Alsace-Moselle extras (Good Friday, 26 Dec)
    # blocked too for 57/67/68, the package names Alsace "6AE" [HOL].
    "holiday_categories": ["public"],
    "holiday_subdivision_aliases": {"67": "6AE", "68": "6AE"},
    # ≤ 4 calls or attempts per 30 days per advertiser; 60 days after a refusal [FR-D223-9].
    "frequency_max": 4,
    "frequency_days": 30,
    "refusal_quiet_days": 60,
    # Recordings ≤ 6 months, evaluation documents ≤ 1 year [FR-CNIL-REC].
    "recording_mode": "inform_object",
    "recording_retention_days": 180,
    "evaluation_retention_days": 365,
    "prospect_retention_days": _PROSPECT_RETENTION,
}

POLICY_SEED: list[dict[str, Any]] = [
    {
        **_FR_COMMON,
        "country": "FR",
        "effective_from": dt.date(2023, 3, 1),  # D.223-9 in force 1 Mar 2023 [FR-D223-9]
        "effective_to": dt.date(2026, 8, 10),  # Bloctel concession ends 10 Aug 2026 [FR-BLOCTEL-FAQ]
        "label": "France, opt-out with Bloctel",
        "sources": "FR-D223-9, FR-L223-1, FR-BLOCTEL-30D, FR-BLOCTEL-FAQ, FR-CNIL-REC, FR-CNIL-PROSP, HOL",
        "legal_basis": "opt_out",  # opt-out until 10 Aug 2026 [FR-LOI2025]
        "contract_exception": True,  # ongoing contract exempts from Bloctel [FR-L223-1]
        "register": "bloctel",
        "register_max_age_days": 30,  # cleaned file valid 30 days [FR-BLOCTEL-30D]
        "register_consent_override": "none",  # only the contract exception lifts Bloctel [FR-L223-1]
    },
    {
        **_FR_COMMON,
        "country": "FR",
        "effective_from": dt.date(2026, 8, 11),  # loi 2025-594 art. 13 [FR-LOI2025]
        "effective_to": None,
        "label": "France, opt-in",
        "sources": "FR-LOI2025, FR-D223-9, FR-CNIL-REC, FR-CNIL-PROSP, HOL",
        "legal_basis": "consent",  # prior consent with proof from 11 Aug 2026 [FR-LOI2025]
        "contract_exception": True,  # ongoing contract, related products [FR-LOI2025]
        "register": "",  # Bloctel ends with the opt-in regime [FR-BLOCTEL-FAQ]
    },
    {
        "country": "BE",
        "effective_from": dt.date(2015, 6, 28),  # AR 28/06/2015 designates DNCM [BE-CDE]
        "effective_to": None,
        "label": "Belgium, opt-out with Ne m'appelez plus",
        "sources": "BE-ENERGY, BE-CDE, BE-DNCM-DE, BE-SPF-GUIDE, BE-LCE-128, HOL",
        "windows": _BE_WINDOWS,
        "holiday_categories": ["public"],  # "no holidays" default; public set [HOL]
        "legal_basis": "opt_out",  # opt-in only under study [BE-OPTIN-2026]
        "register": "dncm",  # CDE art. VI.111–114 [BE-CDE]
        "register_max_age_days": 5,  # "re-download at least every 5 days" [BE-DNCM-DE]
        # A consent overrides DNCM only if dated after the registration [BE-SPF-GUIDE].
        "register_consent_override": "after_registration",
        "recording_mode": "inform_object",  # inform all parties before recording [BE-LCE-128]
        "recording_retention_days": _DEFAULT_RECORDING_RETENTION,  # none statutory (L), default
        "evaluation_retention_days": _DEFAULT_EVALUATION_RETENTION,
        "prospect_retention_days": _PROSPECT_RETENTION,
    },
    {
        "country": "NL",
        "effective_from": dt.date(2021, 7, 1),  # Tw art. 11.7 opt-in since 1 Jul 2021 [NL-TW-11.7]
        "effective_to": dt.date(2026, 6, 30),
        "label": "Netherlands, opt-in with customer exception",
        "sources": "NL-TW-11.7, NL-CTM, HOL",
        "windows": _NL_WINDOWS,
        # 5 Dec, 24 Dec and 4 May until 18:30 [NL-CTM].
        "special_days": {
            "12-05": [["00:00", "18:30"]],
            "12-24": [["00:00", "18:30"]],
            "05-04": [["00:00", "18:30"]],
        },
        "holiday_categories": [
            "public"
        ],  # not on public holidays [NL-CTM]; Liberation Day is "optional" [HOL]
        "legal_basis": "consent",
        "contract_exception": True,  # existing customers, similar products [NL-TW-11.7]
        "recording_mode": "inform_object",  # GDPR transparency, no fixed retention (L)
        "recording_retention_days": _DEFAULT_RECORDING_RETENTION,
        "evaluation_retention_days": _DEFAULT_EVALUATION_RETENTION,
        "prospect_retention_days": _PROSPECT_RETENTION,
    },
    {
        "country": "NL",
        "effective_from": dt.date(2026, 7, 1),  # customer exception ends 1 Jul 2026 [NL-2026]
        "effective_to": None,
        "label": "Netherlands, opt-in for customers too",
        "sources": "NL-2026, NL-TW-11.7, NL-CTM, HOL",
        "windows": _NL_WINDOWS,
        "special_days": {
            "12-05": [["00:00", "18:30"]],
            "12-24": [["00:00", "18:30"]],
            "05-04": [["00:00", "18:30"]],
        },
        "holiday_categories": ["public"],
        "legal_basis": "consent",
        "contract_exception": False,  # customers need consent too from 1 Jul 2026 [NL-2026]
        "recording_mode": "inform_object",
        "recording_retention_days": _DEFAULT_RECORDING_RETENTION,
        "evaluation_retention_days": _DEFAULT_EVALUATION_RETENTION,
        "prospect_retention_days": _PROSPECT_RETENTION,
    },
    {
        "country": "DE",
        "effective_from": dt.date(2021, 10, 1),  # §7a UWG documentation duty since 1 Oct 2021 [DE-UWG7a]
        "effective_to": None,
        "label": "Germany, strict opt-in",
        "sources": "DE-UWG7, DE-UWG7a, DE-StGB201, HOL",
        "windows": _DE_WINDOWS,
        # Land holidays; Assumption in Bavaria only with the "catholic" category [HOL].
        "holiday_categories": ["public", "catholic"],
        "legal_basis": "consent",  # UWG §7(2) no. 1, customers included [DE-UWG7]
        "contract_exception": False,
        "recording_mode": "ask_consent",  # explicit yes before recording, §201 StGB [DE-StGB201]
        "recording_retention_days": _DEFAULT_RECORDING_RETENTION,  # "often ≤ 6 months" (L)
        "evaluation_retention_days": _DEFAULT_EVALUATION_RETENTION,
        "prospect_retention_days": _PROSPECT_RETENTION,
    },
    {
        "country": "IT",
        "effective_from": dt.date(2024, 9, 28),  # code of conduct operative 28 Sep 2024 [IT-CODICE]
        "effective_to": None,
        "label": "Italy, RPO and consent",
        "sources": "IT-CODICE, IT-RPO, HOL",
        "windows": _IT_WINDOWS,
        # Days before a holiday ("prefestivi") 10:00–19:00 [IT-CODICE]; provinces add patron saints [HOL].
        "holiday_eve_windows": [["10:00", "19:00"]],
        "holiday_categories": ["public"],
        # Numbers outside public directories need consent [IT-CODICE]; we hold no directory flag, so
        # every number is treated as such (the stricter reading).
        "legal_basis": "consent",
        "contract_exception": False,
        "register": "rpo",  # mobiles too since DPR 26/2022 [IT-RPO]
        "register_max_age_days": 15,  # "ogni 15 giorni" [IT-RPO] (M)
        "register_consent_override": "after_registration",
        "register_revokes_prior_consent": True,  # registration revokes earlier consents [IT-RPO]
        "recording_mode": "inform_object",  # GDPR info in call [IT-CODICE]
        "recording_retention_days": _DEFAULT_RECORDING_RETENTION,
        "evaluation_retention_days": _DEFAULT_EVALUATION_RETENTION,
        "prospect_retention_days": _PROSPECT_RETENTION,
    },
    {
        "country": "ES",
        "effective_from": dt.date(2023, 6, 29),  # Ley 11/2022 art. 66.1.b opt-in [ES-LGTel66]
        "effective_to": None,
        "label": "Spain, opt-in with Lista Robinson",
        "sources": "ES-LGTel66, ES-TRLGDCU96, ES-ROBINSON, ES-SAC, HOL",
        "windows": _ES_WINDOWS,
        "holiday_categories": ["public"],  # national + autonomous community [HOL]
        "legal_basis": "consent",
        "contract_exception": True,  # narrow legitimate interest for existing customers [ES-LGTel66]
        "consent_max_age_days": 730,  # consent renewed every 2 years, SAC law [ES-SAC] (M)
        "register": "robinson",  # LOPDGDD art. 23.4 [ES-ROBINSON]
        # No statutory interval ("before each campaign"); 30 days is the product default.
        "register_max_age_days": 30,
        "register_consent_override": "any",  # except towards people who consented [ES-ROBINSON]
        "recording_mode": "inform_object",  # identity and purpose at start [ES-TRLGDCU96]
        "recording_retention_days": _DEFAULT_RECORDING_RETENTION,
        "evaluation_retention_days": _DEFAULT_EVALUATION_RETENTION,
        "prospect_retention_days": _PROSPECT_RETENTION,
    },
    {
        "country": "PT",
        "effective_from": dt.date(2012, 8, 30),  # Lei 46/2012 amends Lei 41/2004 art. 13-A [PT-L41-13A]
        "effective_to": None,
        "label": "Portugal, opt-in",
        "sources": "PT-L41-13A, PT-DL134, PT-CNPD-REC, PT-AMD, HOL",
        "windows": _PT_WINDOWS,
        "holiday_categories": ["public"],
        "legal_basis": "consent",
        "contract_exception": True,  # customers: analogous products, opt-out [PT-L41-13A]
        "register": "",  # AMD list is voluntary [PT-AMD]
        "recording_mode": "inform_object",
        "recording_retention_days": 30,  # quality recordings ≤ 30 days [PT-CNPD-REC]
        "evaluation_retention_days": _DEFAULT_EVALUATION_RETENTION,
        "prospect_retention_days": _PROSPECT_RETENTION,
    },
]


def seed_country_policies(*, model=None) -> int:
    """Create the seeded policies that do not exist yet (by country and start); returns how many.

    Idempotent and never overwrites a row an admin edited. `model` lets the data migration pass its
    historical model.
    """
    model = model or CountryPolicy
    created = 0
    for row in POLICY_SEED:
        values = dict(row)
        _, was_created = model.objects.get_or_create(
            country=values.pop("country"), effective_from=values.pop("effective_from"), defaults=values
        )
        created += int(was_created)
    return created


# --- validation and audited writes ---------------------------------------------------------------

_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")
_MONTH_DAY = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")


class PolicyError(ValueError):
    """A policy that cannot be saved; `field` names the offending field."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _check_intervals(field: str, intervals: Any) -> None:
    if not isinstance(intervals, list):
        raise PolicyError(field, "expected a list of [start, end] intervals")
    for interval in intervals:
        if (
            not isinstance(interval, list | tuple)
            or len(interval) != 2
            or not all(isinstance(t, str) and _TIME.match(t) for t in interval)
        ):
            raise PolicyError(field, f'interval {interval!r} is not ["HH:MM", "HH:MM"]')
        if interval[0] >= interval[1]:
            raise PolicyError(field, f"interval {interval!r} ends before it starts")


# The bounds of what a policy may say, beyond which the decisions' date arithmetic overflows (a
# fuzz campaign saved each extreme through the API, then every decision of the country was a 500):
# periods end by 2099 (the instants decisions are asked about: api.rules), and day counts stay
# within a century (`at - consent_max_age_days` before year 1, `recorded_at + retention` past 9999).
EARLIEST_DAY, LATEST_DAY = dt.date(1900, 1, 1), dt.date(2099, 12, 31)
MAX_DAYS = 36_500
_DAY_COUNTS = (
    "frequency_days",
    "refusal_quiet_days",
    "consent_max_age_days",
    "register_max_age_days",
    "recording_retention_days",
    "evaluation_retention_days",
    "prospect_retention_days",
)


def validate_policy(policy: CountryPolicy) -> None:
    """Raise PolicyError if the policy is malformed or overlaps another period of its country."""
    check_policy_fields(policy)
    overlapping = CountryPolicy.objects.filter(country=policy.country).exclude(pk=policy.pk)
    for other in overlapping:
        if (policy.effective_to is None or other.effective_from <= policy.effective_to) and (
            other.effective_to is None or policy.effective_from <= other.effective_to
        ):
            raise PolicyError("effective_from", f"overlaps the period of policy {other}")


def check_policy_fields(policy: CountryPolicy) -> None:
    """Raise PolicyError if a field of the policy is one the decision cannot compute with. No
    queries: PolicyBook (campaigns.selectors.calendar) checks every row it loads with it."""
    if not re.fullmatch(r"[A-Z]{2}", policy.country or ""):
        raise PolicyError("country", "expected an ISO 3166-1 alpha-2 code in capitals")
    for name in ("effective_from", "effective_to"):
        day = getattr(policy, name)
        if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
            raise PolicyError(name, f"must be between {EARLIEST_DAY} and {LATEST_DAY}")
    for name in _DAY_COUNTS:
        days = getattr(policy, name)
        if days is not None and days > MAX_DAYS:
            raise PolicyError(name, f"must be at most {MAX_DAYS} days (100 years)")
    if policy.effective_to and policy.effective_to < policy.effective_from:
        raise PolicyError("effective_to", "ends before effective_from")
    if not isinstance(policy.windows, dict) or not set(policy.windows) <= {str(d) for d in range(7)}:
        raise PolicyError("windows", 'expected {"0": [[start, end], …], …, "6": […]} (Monday = 0)')
    for day, intervals in policy.windows.items():
        _check_intervals(f"windows[{day}]", intervals)
    if not isinstance(policy.special_days, dict):
        raise PolicyError("special_days", 'expected {"MM-DD": [[start, end], …]}')
    for day, intervals in policy.special_days.items():
        if not _MONTH_DAY.match(day):
            raise PolicyError("special_days", f"{day!r} is not MM-DD")
        _check_intervals(f"special_days[{day}]", intervals)
    _check_intervals("holiday_eve_windows", policy.holiday_eve_windows)
    if not isinstance(policy.extra_blocked_dates, list):
        raise PolicyError("extra_blocked_dates", "expected a list of YYYY-MM-DD dates")
    for value in policy.extra_blocked_dates:
        try:
            dt.date.fromisoformat(value)
        except (TypeError, ValueError):
            raise PolicyError("extra_blocked_dates", f"{value!r} is not YYYY-MM-DD") from None
    if not isinstance(policy.holiday_categories, list) or not all(
        isinstance(c, str) for c in policy.holiday_categories
    ):
        raise PolicyError("holiday_categories", 'expected a list such as ["public"]')
    _check_holiday_categories(policy)
    aliases = policy.holiday_subdivision_aliases
    if not isinstance(aliases, dict) or not all(isinstance(v, str) for v in aliases.values()):
        raise PolicyError(
            "holiday_subdivision_aliases", 'expected {"region": "subdivision", …}, e.g. {"67": "6AE"}'
        )
    if (policy.frequency_max is None) != (policy.frequency_days is None):
        raise PolicyError("frequency_days", "frequency_max and frequency_days go together")
    if policy.register and policy.register not in _registers():
        raise PolicyError("register", f"unknown register {policy.register!r}")


def _check_holiday_categories(policy: CountryPolicy) -> None:
    """The categories must be ones the holidays calendar keeps for the country (FR has no
    "catholic" set, DE has): the calendar refuses others, at every decision of the country."""
    supported = _holiday_categories(policy.country)
    if supported is None:
        return  # a country the package has no calendar for: no holidays are read, whatever the list
    unknown = sorted(set(policy.holiday_categories) - set(supported))
    if unknown:
        raise PolicyError(
            "holiday_categories",
            # repr(): a client's string, echoed with a lone surrogate escaped (it cannot be written).
            f"{', '.join(map(repr, unknown))}: not a holiday category of {policy.country}; "
            f"use one of {', '.join(sorted(supported))}",
        )


@lru_cache(maxsize=64)
def _holiday_categories(country: str) -> frozenset[str] | None:
    """Built once per country and process (a calendar object costs up to ~1.4 ms)."""
    try:
        return frozenset(holidays.country_holidays(country).supported_categories)
    except NotImplementedError:
        return None


def _registers() -> set[str]:
    from contacts.models import RegisterImport

    return set(RegisterImport.Register.values)


_AUDITED_FIELDS = [f.name for f in CountryPolicy._meta.concrete_fields if f.name not in ("id", "updated_at")]


def _snapshot(policy: CountryPolicy) -> dict[str, Any]:
    values = {}
    for name in _AUDITED_FIELDS:
        value = getattr(policy, name)
        values[name] = value.isoformat() if isinstance(value, dt.date) else value
    return values


def save_policy(*, policy: CountryPolicy, actor: Any, now: dt.datetime) -> CountryPolicy:
    """Create or change a country policy, validated and audited with the before/after of each field.

    Regulators ask "which rule applied on that day, and who changed it": the audit entry holds both.
    """
    validate_policy(policy)
    with transaction.atomic():
        before = {}
        if policy.pk is not None:
            previous = CountryPolicy.objects.select_for_update().filter(pk=policy.pk).first()
            before = _snapshot(previous) if previous is not None else {}
        created = not before
        policy.updated_at = now
        policy.save()
        after = _snapshot(policy)
        changes = {k: [before.get(k), v] for k, v in after.items() if created or before.get(k) != v}
        audit(
            actor,
            "campaigns.countrypolicy.created" if created else "campaigns.countrypolicy.changed",
            policy,
            {"changes": changes},
            at=now,
        )
    return policy


def delete_policy(*, policy: CountryPolicy, actor: Any, now: dt.datetime) -> None:
    """Delete a policy period, keeping its last values in the audit trail."""
    with transaction.atomic():
        audit(actor, "campaigns.countrypolicy.deleted", policy, {"values": _snapshot(policy)}, at=now)
        policy.delete()
