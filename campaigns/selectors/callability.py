"""THE decision: may this number be called for this campaign at this instant, and if not, why and
when next? Every hand-over, callback and retry asks this; list building uses its set-based twin.

Contract (implemented by the country-rules capability, issue 4; used by list building and leasing):

- `callability(*, number, campaign, at) -> Decision` — one number, every blocking reason.
- `callability_many(*, numbers, campaign, at) -> dict[int, Decision]` — the same for a batch of
  PhoneNumber objects with a constant number of queries (leasing checks 100–500 at once).
- `callability_loaded(*, numbers, prospects, campaign, at) -> LoadedDecisions` — the
  same decisions for numbers whose prospects the caller has already read (leasing reads them with
  the candidate leads): one query fewer, and the policy book is handed back for reuse.
- `annotate_callability(queryset, *, campaign, at, static_only=False) -> QuerySet[PhoneNumber]` —
  the set-based (SQL) form: annotates one boolean `block_<reason>` per reason code, so callers can
  filter (`callable=True`) or count per reason with one aggregate. `static_only=True` keeps only
  the rules that do not depend on the time of day (suppression, register, consent, validity,
  number type, country, erasure): the list-building set.

Reason codes are stable strings (see REASONS); `next_callable_at` is None when the number can never
become callable on its own (suppressed, no consent, invalid…), and equals `at` when it is callable.

The rules themselves are data (`campaigns.models.CountryPolicy`, one row per country and period);
this module only applies them. The country of a callee is the prospect's (its address), else the
number's region; times are the callee's, in every candidate zone of the number.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from datetime import datetime

from campaigns.selectors import calendar
from campaigns.selectors.calendar import PolicyBook, legal_date

REASONS = (
    "suppressed",
    "register",  # reported as "register:<name>"
    "register_stale",
    "no_consent",
    "consent_expired",
    "outside_hours",
    "holiday",
    "day_closed",
    "frequency_cap",
    "refusal_quiet_period",
    "invalid_number",
    "number_type",
    "country_not_in_campaign",
    "erased",
    # Added by issue 4: the callee's local date is outside the campaign's dates.
    "outside_campaign_dates",
    # Added by issue 4: no country policy in force for the callee's country: never call blind.
    "no_policy",
)
# Reasons that do not depend on the time of day: the list-building (static) set.
STATIC_REASONS = (
    "suppressed",
    "register",
    "register_stale",
    "no_consent",
    "consent_expired",
    "invalid_number",
    "number_type",
    "country_not_in_campaign",
    "erased",
    "no_policy",
)
# Reasons that pass with time alone: only these leave a `next_callable_at`.
TIME_REASONS = frozenset(
    {
        "outside_hours",
        "holiday",
        "day_closed",
        "frequency_cap",
        "refusal_quiet_period",
        "outside_campaign_dates",
    }
)
# Types a person answers; toll-free, UAN, personal and unknown numbers are not consumers' lines.
CALLABLE_TYPES = frozenset({"mobile", "fixed_line", "fixed_or_mobile", "voip"})
REFUSAL = "refusal"


@dataclass(frozen=True)
class Decision:
    callable: bool
    reasons: tuple[str, ...] = ()
    next_callable_at: datetime | None = None
    details: dict = field(default_factory=dict)


def reason_sort_key(reason: str) -> int:
    return REASONS.index(reason.split(":", 1)[0])


# --- shared helpers (the SQL form uses the same definitions) -------------------------------------


def callee_country(*, prospect_country: str, number_region: str) -> str:
    # Both are stored as upper-case ISO codes (import and `phonenumbers`); compared as stored so
    # that the SQL form can use the raw columns.
    return prospect_country or number_region or ""


def campaign_countries(campaign) -> set[str]:
    return {c.upper() for c in campaign.countries or []}


def number_zones(number, country: str) -> list[str]:
    """Every zone the callee may be in: the number's zone and its candidates, deduplicated."""
    zones = []
    for name in [number.time_zone, *(number.time_zone_candidates or [])]:
        # A zone name the tz database does not know is no zone: fall back rather than crash a lease.
        if isinstance(name, str) and name and name not in zones and calendar.is_zone(name):
            zones.append(name)
    return zones or [calendar.LEGAL_ZONE.get(country, "UTC")]


def register_key(register: str, e164: str) -> str:
    """How a register stores a number: Lista Robinson by its own SHA-256, the others by E.164."""
    if register == "robinson":
        from contacts.services.register_formats import robinson_hash

        return robinson_hash(e164)
    return e164


def register_is_stale(*, policy, current_import, at: datetime) -> bool:
    """A register with no current snapshot, or one older than the policy allows, blocks the country:
    an out-of-date list means "unscreened", never "clean" (regulation.md §11)."""
    if current_import is None:
        return True
    if policy.register_max_age_days is None:
        return False
    age = (legal_date(policy.country, at) - current_import.file_date).days
    return age > policy.register_max_age_days


# --- per number, batched -----------------------------------------------------------------------


@dataclass
class _Batch:
    prospects: dict
    book: PolicyBook
    suppressed_hashes: set
    imports: dict  # register -> current RegisterImport
    entries: dict  # (register, key) -> registered_at (date or None)
    consents: dict  # prospect_id -> [ConsentRecord]
    attempts_by_prospect: dict  # prospect_id -> [(started_at, category)]
    attempts_by_number: dict  # phone_number_id -> [(started_at, category)]
    # The campaign's countries, and country -> policy in force at the batch's instant: asked for
    # every number, the same for all of them (computed per number, 12 % of a lease's decisions).
    targets: frozenset
    policies: dict
    hashes: dict = field(default_factory=dict)  # e164 -> number_hash (a peppered HMAC: computed once)
    # (country, region, zones) -> time-of-day reasons at the batch's instant for the batch's
    # campaign: the same for every number of one zone and region, so computed once per batch.
    time_reasons: dict = field(default_factory=dict)


@dataclass
class LoadedDecisions:
    decisions: dict[int, Decision]
    book: PolicyBook  # the policies the decisions used, for the caller's window ends


def _load_batch(numbers: list, campaign, at: datetime, *, prospects=None, book=None) -> _Batch:
    from django.db.models import Q

    from campaigns.models import Attempt
    from contacts.models import ConsentRecord, Prospect, RegisterEntry, RegisterImport
    from contacts.selectors.suppression import suppressed_hashes as suppressed_among
    from contacts.services.suppression import number_hash

    if prospects is None:
        prospects = {p.pk: p for p in Prospect.objects.filter(pk__in={n.prospect_id for n in numbers})}
    countries = campaign_countries(campaign) & {
        callee_country(
            prospect_country=getattr(prospects.get(n.prospect_id), "country", ""), number_region=n.region
        )
        for n in numbers
    }
    # A given book may hold more countries: the decision sees only these, as when loaded here.
    book = PolicyBook.load(countries) if book is None else book.only(countries)
    policies = {c: book.at(c, at) for c in countries}

    by_e164 = {n.e164: number_hash(n.e164) for n in numbers}
    hashes = set(by_e164.values())
    suppressed_hashes = suppressed_among(hashes=hashes, advertiser_id=campaign.advertiser_id, at=at)

    registers = {p.register for p in policies.values() if p is not None and p.register}
    imports = {}
    entries = {}
    if registers:
        imports = {
            i.register: i for i in RegisterImport.objects.filter(register__in=registers, is_current=True)
        }
        keys = {register_key(r, n.e164) for r in imports for n in numbers}
        if imports:
            for register, key, registered_at in RegisterEntry.objects.filter(
                register_import__in=[i.pk for i in imports.values()], number_key__in=keys
            ).values_list("register", "number_key", "registered_at"):
                # Several rows of one number in a snapshot: the earliest registration is the one a
                # consent must postdate.
                previous = entries.get((register, key), dt.date.max)
                entries[(register, key)] = min(previous, registered_at or dt.date.min)

    consents: dict = {}
    # Consents matter only where the law asks for one or a register lists the number (a consent
    # may lift it): elsewhere `_decide` never reads them, so an opt-out country with no listed
    # number in the batch saves the query.
    needs_consents = bool(entries) or any(
        p is not None and p.legal_basis == "consent" for p in policies.values()
    )
    if needs_consents:
        for record in ConsentRecord.objects.filter(
            prospect_id__in=list(prospects),
            advertiser_id=campaign.advertiser_id,
            purpose=ConsentRecord.Purpose.TELEMARKETING,
            given_at__lte=at,
        ):
            consents.setdefault(record.prospect_id, []).append(record)

    attempts_by_prospect: dict = {}
    attempts_by_number: dict = {}
    spans = [
        d
        for p in policies.values()
        if p is not None
        for d in (p.frequency_days if p.frequency_max else None, p.refusal_quiet_days)
        if d
    ]
    if spans:
        since = at - dt.timedelta(days=max(spans))
        rows = Attempt.objects.filter(
            Q(prospect_id__in=list(prospects)) | Q(phone_number_id__in=[n.pk for n in numbers]),
            advertiser_id=campaign.advertiser_id,
            started_at__gt=since,
            started_at__lte=at,
        ).values_list("prospect_id", "phone_number_id", "started_at", "outcome__category")
        for prospect_id, number_id, started_at, category in rows:
            if prospect_id is not None:
                attempts_by_prospect.setdefault(prospect_id, []).append((started_at, category))
            if number_id is not None:
                attempts_by_number.setdefault(number_id, []).append((started_at, category))
    return _Batch(
        prospects,
        book,
        suppressed_hashes,
        imports,
        entries,
        consents,
        attempts_by_prospect,
        attempts_by_number,
        frozenset(campaign_countries(campaign)),
        policies,
        hashes=by_e164,
    )


def _cap_release(attempts: list, *, at: datetime, days: int, limit: int) -> datetime | None:
    """When the rolling count (at - days, at] drops below `limit` again, or None if it is below."""
    window = sorted(s for s, _ in attempts if at - dt.timedelta(days=days) < s <= at)
    if len(window) < limit:
        return None
    return window[len(window) - limit] + dt.timedelta(days=days)


def _quiet_end(attempts: list, *, at: datetime, days: int) -> datetime | None:
    refusals = [s for s, c in attempts if c == REFUSAL and at - dt.timedelta(days=days) < s <= at]
    return max(refusals) + dt.timedelta(days=days) if refusals else None


def _decide(number, campaign, at: datetime, batch: _Batch) -> Decision:
    from contacts.services.suppression import number_hash

    hashed = batch.hashes.get(number.e164)
    if hashed is None:
        hashed = number_hash(number.e164)
    prospect = batch.prospects.get(number.prospect_id)
    country = callee_country(prospect_country=getattr(prospect, "country", ""), number_region=number.region)
    region = getattr(prospect, "region", "") or ""
    zones = number_zones(number, country)
    # None for a country the campaign does not call: the batch's book holds the campaign's only.
    policy = batch.policies.get(country)
    reasons: list[str] = []
    details: dict = {
        "country": country,
        "region": region,
        "zones": zones,
        "policy": getattr(policy, "pk", None),
    }

    if not number.is_valid:
        reasons.append("invalid_number")
    if number.number_type not in CALLABLE_TYPES:
        reasons.append("number_type")
    if prospect is None or prospect.erased_at is not None:
        reasons.append("erased")
    targeted = country in batch.targets
    if not targeted:
        reasons.append("country_not_in_campaign")
    if hashed in batch.suppressed_hashes:
        reasons.append("suppressed")

    release: list[datetime] = []
    if targeted:
        # Campaign dates apply even without a policy; the window rules come from the policy in force.
        key = (country, region, tuple(zones))
        if key not in batch.time_reasons:
            batch.time_reasons[key] = calendar.time_reasons(
                book=batch.book, country=country, region=region, zones=zones, at=at, campaign=campaign
            )
        reasons.extend(batch.time_reasons[key])
    # A country the campaign does not call: its rules are not this campaign's question.
    if targeted and policy is None:
        reasons.append("no_policy")
        if batch.book.refused.get(country):
            details["refused_policies"] = batch.book.refused[country]
    elif targeted:
        listed = False
        registered_at = None
        if policy.register:
            current = batch.imports.get(policy.register)
            if register_is_stale(policy=policy, current_import=current, at=at):
                reasons.append("register_stale")
                details["register_file_date"] = current.file_date.isoformat() if current else None
            key = (policy.register, register_key(policy.register, number.e164))
            if current is not None and key in batch.entries:
                listed = True
                registered_at = batch.entries[key]
                if registered_at == dt.date.min:
                    registered_at = None

        is_customer = bool(prospect and prospect.is_customer)
        max_age = dt.timedelta(days=policy.consent_max_age_days) if policy.consent_max_age_days else None

        def eligible(r) -> bool:
            return r.basis == "consent" or (
                r.basis == "contract" and policy.contract_exception and is_customer
            )

        def alive(r) -> bool:
            return r.given_at <= at and (r.withdrawn_at is None or r.withdrawn_at > at)

        def expired(r) -> bool:
            return (r.valid_until is not None and r.valid_until <= at) or (
                max_age is not None and r.given_at <= at - max_age
            )

        def postdates_registration(r) -> bool:
            return registered_at is not None and r.given_at.astimezone(dt.UTC).date() > registered_at

        records = batch.consents.get(number.prospect_id, []) if prospect is not None else []
        valid = [r for r in records if eligible(r) and alive(r) and not expired(r)]

        if listed:
            override = policy.register_consent_override
            overridden = any(
                r.basis == "contract"
                or override == "any"
                or (override == "after_registration" and postdates_registration(r))
                for r in valid
            )
            if not overridden:
                reasons.append(f"register:{policy.register}")
                details["registered_at"] = registered_at.isoformat() if registered_at else None

        if policy.legal_basis == "consent":
            counting = [
                r
                for r in valid
                if not (
                    policy.register_revokes_prior_consent
                    and listed
                    and r.basis == "consent"
                    and not postdates_registration(r)
                )
            ]
            if not counting:
                if any(eligible(r) and alive(r) and expired(r) for r in records):
                    reasons.append("consent_expired")
                else:
                    reasons.append("no_consent")

        if policy.frequency_max and policy.frequency_days:
            counts = []
            for attempts in (
                batch.attempts_by_prospect.get(number.prospect_id, []) if prospect is not None else [],
                batch.attempts_by_number.get(number.pk, []),
            ):
                end = _cap_release(attempts, at=at, days=policy.frequency_days, limit=policy.frequency_max)
                counts.append(
                    sum(1 for s, _ in attempts if at - dt.timedelta(days=policy.frequency_days) < s <= at)
                )
                if end is not None:
                    release.append(end)
            details["attempts_in_window"] = max(counts)
            if any(c >= policy.frequency_max for c in counts):
                reasons.append("frequency_cap")
        if policy.refusal_quiet_days:
            ends = [
                e
                for e in (
                    _quiet_end(
                        batch.attempts_by_prospect.get(number.prospect_id, [])
                        if prospect is not None
                        else [],
                        at=at,
                        days=policy.refusal_quiet_days,
                    ),
                    _quiet_end(
                        batch.attempts_by_number.get(number.pk, []), at=at, days=policy.refusal_quiet_days
                    ),
                )
                if e is not None
            ]
            if ends:
                reasons.append("refusal_quiet_period")
                release.append(max(ends))

    reasons = sorted(set(reasons), key=reason_sort_key)
    if not reasons:
        return Decision(callable=True, reasons=(), next_callable_at=at, details=details)
    next_at = None
    if all(r in TIME_REASONS for r in reasons):
        start = max([at, *release])
        next_at = calendar.next_open_instant(
            book=batch.book,
            country=country,
            region=region,
            zones=zones,
            start=start,
            until=at + dt.timedelta(days=calendar.SEARCH_DAYS),
            campaign=campaign,
        )
    return Decision(callable=False, reasons=tuple(reasons), next_callable_at=next_at, details=details)


def callability(*, number, campaign, at: datetime) -> Decision:
    """Every reason `number` may not be called for `campaign` at `at`, and when it next may."""
    return callability_many(numbers=[number], campaign=campaign, at=at)[number.pk]


def callability_many(*, numbers, campaign, at: datetime) -> dict[int, Decision]:
    """`callability` for a batch of PhoneNumber objects in a constant number of queries (≤ 7)."""
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    # Rolling periods are exact durations (30 × 24 h), never wall-clock arithmetic in some zone.
    at = at.astimezone(dt.UTC)
    numbers = list(numbers)
    if not numbers:
        return {}
    batch = _load_batch(numbers, campaign, at)
    return {n.pk: _decide(n, campaign, at, batch) for n in numbers}


def callability_loaded(*, numbers, prospects: dict, campaign, at: datetime, book=None) -> LoadedDecisions:
    """`callability_many` for numbers whose prospects the caller read in the same transaction
    (`prospects`: id → Prospect with country, region, erased_at, is_customer), and optionally the
    policies (`book`: a PolicyBook holding at least the campaign's countries, all periods). The
    decision is the same code (`_decide`) over the same data: tests/campaigns/test_callability_loaded.py
    compares the two. The policy book used is handed back (leasing reuses it for the window ends)."""
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    at = at.astimezone(dt.UTC)
    numbers = list(numbers)
    if not numbers:
        return LoadedDecisions({}, PolicyBook([]))
    batch = _load_batch(numbers, campaign, at, prospects=prospects, book=book)
    # `n.id`: PhoneNumber's key, read without the `pk` property's lookup (every lease asks).
    return LoadedDecisions({n.id: _decide(n, campaign, at, batch) for n in numbers}, batch.book)


# --- the set-based (SQL) form --------------------------------------------------------------------


def _flag(condition):
    """A boolean annotation from a Q (None = never blocked)."""
    from django.db.models import BooleanField, Case, Value, When

    if condition is None:
        return Value(False, output_field=BooleanField())
    return Case(When(condition, then=Value(True)), default=Value(False), output_field=BooleanField())


def _sha256_hex_class():
    from django.db.models.functions import SHA256

    class Sha256Hex(SHA256):
        """SHA-256 hex in SQL without pgcrypto: PostgreSQL ≥ 11 has sha256(bytea) built in; SQLite
        uses the SHA256 function Django registers."""

        def as_postgresql(self, compiler, connection, **extra_context):
            return super().as_sql(
                compiler,
                connection,
                template="ENCODE(SHA256(CONVERT_TO(%(expressions)s, 'UTF8')), 'hex')",
                **extra_context,
            )

    return Sha256Hex


@dataclass
class _Zoneless:
    time_zone: str
    time_zone_candidates: list


def annotate_callability(queryset, *, campaign, at: datetime, static_only: bool = False):
    """`queryset` of PhoneNumber annotated with `block_<reason>` booleans and `callable`.

    Same rules as `callability`, proven equal by tests/campaigns/test_callability_property.py. Each
    rule is an Exists / Subquery on indexed columns. The time-of-day rules are the same for every
    number of one (zones, country, region) at one instant, so they are computed in Python once per
    distinct combination present (one DISTINCT query) and injected as conditions on those columns:
    the whole list is still decided in one statement.

    `block_register` covers every register ("register:<name>" in the per-number form). Internal
    suppressions are matched by E.164; the few kept only as a hash (erased people) are matched by
    hashing the queryset's numbers in Python, and only when such suppressions exist.
    """
    from django.db.models import (
        BooleanField,
        Case,
        CharField,
        Count,
        Exists,
        F,
        IntegerField,
        OuterRef,
        Q,
        Subquery,
        TextField,
        Value,
        When,
    )
    from django.db.models.functions import Cast, Coalesce, Concat, Substr, TruncDate

    from campaigns.models import Attempt
    from contacts.models import ConsentRecord, RegisterEntry, RegisterImport, Suppression
    from contacts.services.suppression import active_q, number_hash

    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    at = at.astimezone(dt.UTC)
    _Sha256Hex = _sha256_hex_class()

    qs = queryset.annotate(_zones=Cast("time_zone_candidates", TextField()))
    # Only the campaign's countries have rules to apply; other callees are `country_not_in_campaign`.
    targeted = campaign_countries(campaign)
    countries = set(targeted)
    combos = []
    if not static_only:
        # The (zones, country, region) combinations present: one DISTINCT scan, for the time rules.
        combos = [
            combo
            for combo in qs.annotate(
                _country=Case(
                    When(prospect__country="", then=F("region")),
                    default=F("prospect__country"),
                    output_field=CharField(),
                )
            )
            .order_by()
            .values_list("time_zone", "_zones", "_country", "prospect__region", "time_zone_candidates")
            .distinct()
            if combo[2] in targeted
        ]
    book = PolicyBook.load(countries)
    policies = {c: book.at(c, at) for c in countries}
    in_force = {c: p for c, p in policies.items() if p is not None}

    def country_in(codes):
        # The callee's country: the prospect's, else the number's region (`callee_country`), on the
        # raw columns so that each condition stays a plain comparison.
        codes = sorted(codes)
        return Q(prospect__country__in=codes) | Q(prospect__country="", region__in=codes)

    def country_is(country):
        return country_in([country])

    blocks: dict[str, Q | None] = {}
    blocks["invalid_number"] = Q(is_valid=False)
    blocks["number_type"] = ~Q(number_type__in=sorted(CALLABLE_TYPES))
    blocks["erased"] = Q(prospect__erased_at__isnull=False)
    blocks["country_not_in_campaign"] = ~country_in({c.upper() for c in campaign.countries or []})
    blocks["no_policy"] = (
        country_in([c for c, p in policies.items() if p is None]) if len(in_force) < len(policies) else None
    )

    # Internal suppressions: global or this advertiser's, in force at `at`.
    scope = Q(scope="global") | Q(scope="advertiser", advertiser_id=campaign.advertiser_id)
    active = Suppression.objects.filter(active_q(at=at), scope)
    suppressed = Q(Exists(active.filter(e164=OuterRef("e164"))))
    hash_only = set(active.filter(e164="").values_list("number_hash", flat=True))
    if hash_only:
        matched = [
            pk for pk, e164 in qs.values_list("pk", "e164").iterator() if number_hash(e164) in hash_only
        ]
        if matched:
            suppressed |= Q(pk__in=matched)
    blocks["suppressed"] = suppressed

    # Registers, consents: one set of conditions per country in force.
    registers = {p.register for p in in_force.values() if p.register}
    imports = (
        {i.register: i for i in RegisterImport.objects.filter(register__in=registers, is_current=True)}
        if registers
        else {}
    )
    annotations = {}
    register_blocks, stale_blocks, no_consent_blocks, expired_blocks = [], [], [], []
    freq_blocks, quiet_blocks = [], []
    base_consents = ConsentRecord.objects.filter(
        prospect=OuterRef("prospect"),
        advertiser_id=campaign.advertiser_id,
        purpose=ConsentRecord.Purpose.TELEMARKETING,
        given_at__lte=at,
    ).filter(Q(withdrawn_at__isnull=True) | Q(withdrawn_at__gt=at))
    if "robinson" in imports:
        annotations["_robinson_key"] = _Sha256Hex(
            Concat(Value("0400"), Substr("e164", 2), output_field=CharField())
        )

    for country, policy in sorted(in_force.items()):
        tag = country.lower()
        listed = None
        postdates = None
        if policy.register:
            current = imports.get(policy.register)
            if register_is_stale(policy=policy, current_import=current, at=at):
                stale_blocks.append(country_is(country))
            if current is not None:
                key = OuterRef("_robinson_key") if policy.register == "robinson" else OuterRef("e164")
                entries = RegisterEntry.objects.filter(register_import_id=current.pk, number_key=key)
                annotations[f"_listed_{tag}"] = Exists(entries)
                annotations[f"_regat_{tag}"] = Subquery(
                    entries.order_by(F("registered_at").asc(nulls_first=True)).values("registered_at")[:1]
                )
                listed = Q(**{f"_listed_{tag}": True})
                postdates = Q(given_date__gt=OuterRef(f"_regat_{tag}"))

        eligible = Q(basis="consent")
        if policy.contract_exception:
            eligible |= Q(basis="contract", prospect__is_customer=True)
        fresh = Q(valid_until__isnull=True) | Q(valid_until__gt=at)
        expired = Q(valid_until__lte=at)
        if policy.consent_max_age_days:
            oldest = at - dt.timedelta(days=policy.consent_max_age_days)
            fresh &= Q(given_at__gt=oldest)
            expired |= Q(given_at__lte=oldest)
        valid = base_consents.filter(eligible, fresh).annotate(
            given_date=TruncDate("given_at", tzinfo=dt.UTC)
        )

        if listed is not None:
            override = policy.register_consent_override
            if override == "any":
                lifting = valid
            elif override == "after_registration":
                lifting = valid.filter(Q(basis="contract") | postdates)
            else:
                lifting = valid.filter(basis="contract")
            register_blocks.append(country_is(country) & listed & ~Q(Exists(lifting)))

        if policy.legal_basis == "consent":
            if policy.register_revokes_prior_consent and listed is not None:
                counting = Q(Exists(valid.filter(Q(basis="contract") | postdates))) | (
                    ~listed & Q(Exists(valid))
                )
            else:
                counting = Q(Exists(valid))
            has_expired = Q(Exists(base_consents.filter(eligible, expired)))
            no_consent_blocks.append(country_is(country) & ~counting & ~has_expired)
            expired_blocks.append(country_is(country) & ~counting & has_expired)

        if not static_only and policy.frequency_max and policy.frequency_days:
            recent = Attempt.objects.filter(
                advertiser_id=campaign.advertiser_id,
                started_at__gt=at - dt.timedelta(days=policy.frequency_days),
                started_at__lte=at,
            )
            for name, outer in (
                ("p", {"prospect": OuterRef("prospect")}),
                ("n", {"phone_number": OuterRef("pk")}),
            ):
                annotations[f"_freq{name}_{tag}"] = Coalesce(
                    Subquery(
                        recent.filter(**outer)
                        .order_by()
                        .values("advertiser_id")
                        .annotate(n=Count("pk"))
                        .values("n")[:1],
                        output_field=IntegerField(),
                    ),
                    Value(0),
                )
            limit = policy.frequency_max
            freq_blocks.append(
                country_is(country)
                & (Q(**{f"_freqp_{tag}__gte": limit}) | Q(**{f"_freqn_{tag}__gte": limit}))
            )
        if not static_only and policy.refusal_quiet_days:
            refusals = Attempt.objects.filter(
                advertiser_id=campaign.advertiser_id,
                outcome__category=REFUSAL,
                started_at__gt=at - dt.timedelta(days=policy.refusal_quiet_days),
                started_at__lte=at,
            )
            quiet_blocks.append(
                country_is(country)
                & (
                    Q(Exists(refusals.filter(prospect=OuterRef("prospect"))))
                    | Q(Exists(refusals.filter(phone_number=OuterRef("pk"))))
                )
            )

    def any_of(conditions):
        result = None
        for condition in conditions:
            result = condition if result is None else (result | condition)
        return result

    blocks["register"] = any_of(register_blocks)
    blocks["register_stale"] = any_of(stale_blocks)
    blocks["no_consent"] = any_of(no_consent_blocks)
    blocks["consent_expired"] = any_of(expired_blocks)

    if not static_only:
        blocks["frequency_cap"] = any_of(freq_blocks)
        blocks["refusal_quiet_period"] = any_of(quiet_blocks)
        # Time of day: decided once per (zones, country, region) present, injected as conditions.
        by_reason: dict[str, list] = {
            calendar.OUTSIDE_HOURS: [],
            calendar.HOLIDAY: [],
            calendar.DAY_CLOSED: [],
            calendar.OUTSIDE_CAMPAIGN_DATES: [],
        }
        for time_zone, zones_text, country, region, candidates in combos:
            zones = number_zones(_Zoneless(time_zone, candidates), country)
            reasons = calendar.time_reasons(
                book=book, country=country, region=region, zones=zones, at=at, campaign=campaign
            )
            where = Q(time_zone=time_zone, _zones=zones_text, prospect__region=region) & country_is(country)
            for reason in reasons:
                by_reason[reason].append(where)
        for reason, conditions in by_reason.items():
            blocks[reason] = any_of(conditions)

    wanted = STATIC_REASONS if static_only else REASONS
    qs = qs.annotate(**annotations)
    qs = qs.annotate(**{f"block_{reason}": _flag(blocks.get(reason)) for reason in wanted})
    all_clear = Q(**{f"block_{reason}": False for reason in wanted})
    return qs.annotate(
        callable=Case(When(all_clear, then=Value(True)), default=Value(False), output_field=BooleanField())
    )
