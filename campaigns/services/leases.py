"""Leases: the exclusive, time-limited hand-over of leads to one dialler (DOMAIN.md §6 promises 1–2).

Exclusivity rests on two things. On PostgreSQL the candidates are read with
`SELECT … FOR UPDATE SKIP LOCKED` inside the lease transaction, so concurrent requests each lock a
disjoint set without waiting. On SQLite (which ignores FOR UPDATE) every transaction is IMMEDIATE
(see config/settings/base.py), so lease requests serialise on the write lock. In both cases the
claim itself is a conditional UPDATE (`lease IS NULL AND state IN (pending, callback_due)`) whose
row count is checked: never read-then-write.

Every lead is checked with the full callability decision at the instant of hand-over (suppression,
consent, window, holiday, frequency, quiet period), callbacks and retries included. A lead that
fails is not handed out and its `next_call_at` moves to the decision's next callable instant, so it
leaves the queue until then instead of being re-checked by every request (the "stale hopper").
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.db.models.base import ModelState

from campaigns.models import Campaign, DiallerIntegration, Floor, Lead, Lease
from campaigns.selectors.calendar import PolicyBook
from campaigns.selectors.callability import STATIC_REASONS, Decision, callability_loaded
from campaigns.selectors.lease_config import LeaseConfig, lease_config
from config.db import insert, prepared_cursor
from contacts.services.audit import audit, audit_entry

MIN_LEASE_SIZE = 1
MAX_LEASE_SIZE = 500
DEFAULT_TTL = timedelta(minutes=5)
# Long enough for a predictive dialler to work a batch, short enough that a crashed dialler's
# leads come back within one agent break.
MIN_TTL = timedelta(seconds=30)
MAX_TTL = timedelta(minutes=30)
# Candidates read per lease request at most, as a multiple of the size asked: bounds the work one
# request does when most of the queue fails the hand-over check (e.g. 13:00–14:00 in France).
MAX_CHECK_FACTOR = 4
HANDOVER_STATES = (Lead.State.PENDING, Lead.State.CALLBACK_DUE)
# A failing lead whose decision gives no next instant, or one in the past, is looked at again
# after this delay rather than at every request.
RECHECK_DELAY = timedelta(minutes=15)
# The columns a hand-over reads: the lead's own (all but its timestamps), and what the callability
# decision and the dialler's item need of the callee. Reading whole rows cost ~2 ms more per 100
# (JSON and timestamp columns decoded for nothing; measured on the bench).
CANDIDATE_FIELDS = (
    "id",
    "campaign_id",
    "prospect_id",
    "phone_number_id",
    "floor_id",
    "state",
    "done_reason",
    "priority",
    "attempts",
    "next_call_at",
    "callback_at",
    "callback_agent_id",
    "last_outcome_id",
    "lease_id",
    "last_lease_id",
    "prospect__id",
    "prospect__first_name",
    "prospect__last_name",
    "prospect__language",
    "prospect__country",
    "prospect__region",
    "prospect__erased_at",
    "prospect__is_customer",
    "phone_number__id",
    "phone_number__prospect_id",
    "phone_number__e164",
    "phone_number__region",
    "phone_number__number_type",
    "phone_number__is_valid",
    "phone_number__time_zone",
    "phone_number__time_zone_candidates",
)


class LeaseError(ValueError):
    """Bad request to a lease service; `field` names the input at fault."""

    def __init__(self, message: str, *, field: str = "non_field_errors"):
        super().__init__(message)
        self.field = field


class LeaseForbidden(LeaseError):
    """The floor or lease is not this dialler's."""


class LeaseNotFound(LeaseError):
    pass


class LeaseClosed(LeaseError):
    """The lease has expired or was released."""


@dataclass
class LeaseOutcome:
    lease: Lease | None
    leads: list[Lead]
    # phone_number_id → the decision that let each handed-out lead go (window end, zone).
    decisions: dict[int, Decision] = field(default_factory=dict)
    # Why candidates checked during this request were held back, and when the first becomes callable.
    refused: Counter = field(default_factory=Counter)
    refused_next_at: datetime | None = None
    # What the request read of campaigns, policies and notices (the lease items and their window
    # ends reuse it).
    config: LeaseConfig | None = None


def clamp_ttl(ttl: timedelta | None) -> timedelta:
    if ttl is None:
        return DEFAULT_TTL
    if ttl < MIN_TTL or ttl > MAX_TTL:
        raise LeaseError(
            f"ttl_seconds: must be between {int(MIN_TTL.total_seconds())} and "
            f"{int(MAX_TTL.total_seconds())}.",
            field="ttl_seconds",
        )
    return ttl


def _check_floor(integration: DiallerIntegration, floor: Floor, config: LeaseConfig) -> None:
    if integration.revoked_at is not None:
        raise LeaseForbidden("This dialler credential has been revoked.")
    if floor.pk not in {f.pk for f in config.floors_of(integration)}:
        raise LeaseForbidden("floor: this dialler is not scoped to that floor.", field="floor")


def lease_leads(
    *,
    integration: DiallerIntegration,
    floor: Floor,
    size: int,
    now: datetime,
    ttl: timedelta | None = None,
    campaign: Campaign | None = None,
    actor: Any = None,
    config: LeaseConfig | None = None,
) -> LeaseOutcome:
    """Hand up to `size` callable leads of `floor` (optionally one campaign) to `integration`.

    Order: due callbacks first, then higher priority, then the longest-waiting. Leads of campaigns
    not running are never handed out. Returns an outcome with no lease when nothing could be
    handed out (`campaigns.selectors.queue.explain_empty_queue` says why). `config` is this
    request's `lease_config()` when the caller has read it already.
    """
    if not (MIN_LEASE_SIZE <= size <= MAX_LEASE_SIZE):
        raise LeaseError(f"size: must be between {MIN_LEASE_SIZE} and {MAX_LEASE_SIZE}.", field="size")
    ttl = clamp_ttl(ttl)
    if config is None:
        config = lease_config()
    _check_floor(integration, floor, config)
    if campaign is not None and campaign.status != Campaign.Status.RUNNING:
        return LeaseOutcome(lease=None, leads=[], config=config)
    # Embedded mode has no beat: expired leases are swept by the requests themselves.
    expire_leases(now=now)

    campaigns = dict(config.running)
    if campaign is not None:
        campaigns = {campaign.pk: campaigns[campaign.pk]} if campaign.pk in campaigns else {}
    outcome = LeaseOutcome(lease=None, leads=[], config=config)
    if not campaigns:
        return outcome

    lease_id = uuid.uuid4()
    # PostgreSQL claims the candidates for this lease in the statement that picks them (one pass
    # over the rows instead of a locking SELECT then an UPDATE: ~3 ms of database time per lease
    # of 100, measured), and gives the ones that fail the check back below, before commit.
    claim_first = connection.vendor == "postgresql"
    with transaction.atomic():
        taken: list[Lead] = []
        checked = 0
        budget = size * MAX_CHECK_FACTOR
        while len(taken) < size and checked < budget:
            want = size - len(taken)
            # After a first pass with refusals, read wider so one request still fills its batch.
            fetch = want if checked == 0 else min(want * 2, budget - checked)
            candidates = _candidates(
                floor=floor,
                campaign_ids=list(campaigns),
                now=now,
                limit=fetch,
                exclude=[lead.id for lead in taken],
                claim_for=lease_id if claim_first else None,
            )
            if not candidates:
                break
            checked += len(candidates)
            passed, held = _check_at_handover(
                candidates, campaigns=campaigns, now=now, outcome=outcome, book=config.book
            )
            taken.extend(passed)
            if held:
                _save_held(held)
            if len(candidates) < fetch:
                break
        if not taken:
            return outcome

        # The lease row is written after the claim, with its count: foreign keys are checked at
        # commit (Django declares them DEFERRABLE INITIALLY DEFERRED), which saves a round trip.
        lease = Lease(
            id=lease_id,
            integration=integration,
            floor=floor,
            campaign=campaign,
            created_at=now,
            expires_at=now + ttl,
            requested_size=size,
        )
        # `.id`, not `.pk`, on the leads of this path: `pk` is a property that looks the primary
        # key's name up at each read, and a lease of 100 read it 1,210 times (counted).
        ids = [lead.id for lead in taken]
        claimed = len(ids) if claim_first else _claim(ids, lease_id)
        if claimed != len(ids):
            # Only possible on a backend that neither locks rows nor serialises writers: keep
            # exactly the rows this UPDATE claimed.
            mine = set(Lead.objects.filter(lease_id=lease_id).values_list("pk", flat=True))
            taken = [lead for lead in taken if lead.id in mine]
            ids = [lead.id for lead in taken]
        lease.leased_count = len(taken)
        # As the claim left the rows. Attribute and cache set directly: the relation descriptor's
        # checks cost ~0.5 ms per lease of 100 (py-spy on the bench) for objects built right here.
        cache_lease, cache_last_lease = (
            Lead.lease.field.set_cached_value,
            Lead.last_lease.field.set_cached_value,
        )
        for lead in taken:
            values = lead.__dict__
            values["state"], values["lease_id"], values["last_lease_id"] = (
                Lead.State.LEASED,
                lease_id,
                lease_id,
            )
            cache_lease(lead, lease)
            cache_last_lease(lead, lease)
        # Bulk access to personal data must be attributable to a key (DOMAIN.md promise 8). The
        # lease and its audit entry are written in one statement (on PostgreSQL; two on SQLite),
        # without compiling either INSERT at every request (config.db.insert).
        entry = audit_entry(
            actor,
            "campaigns.leads.leased",
            lease,
            {
                "count": len(taken),
                "floor": floor.code,
                "campaign": campaign.pk if campaign else None,
                "lead_ids": ids,
                "expires_at": lease.expires_at.isoformat(),
            },
            at=now,
        )
        insert(lease, entry)
    outcome.lease = lease
    outcome.leads = taken
    return outcome


def _claim(ids: list[int], lease_id) -> int:
    """The conditional claim (`lease IS NULL AND state IN (pending, callback_due)`) of leads read by
    `_candidates` without `claim_for`; returns the rows it took."""
    return Lead.objects.filter(pk__in=ids, lease__isnull=True, state__in=HANDOVER_STATES).update(
        state=Lead.State.LEASED, lease_id=lease_id, last_lease_id=lease_id
    )


def _candidates(
    *,
    floor: Floor,
    campaign_ids: list[int],
    now: datetime,
    limit: int,
    exclude: list[int],
    claim_for: uuid.UUID | None = None,
) -> list[Lead]:
    """Lock up to `limit` unleased, due leads of the floor: due callbacks first, then the rest.

    `of=("self",)` locks only the lead rows: locking the joined campaign row would make every
    concurrent request skip every lead of that campaign.

    With `claim_for` (PostgreSQL only), the locked leads are also claimed for that lease in the
    same statement; they are returned as they were before it (state, lease, last lease), so the
    caller decides on them as on unclaimed candidates and gives back those it holds
    (`_save_held` restores lease and last lease).
    """
    if claim_for is not None:
        return _claim_candidates(floor.pk, campaign_ids, now, exclude, limit, claim_for)
    base = (
        Lead.objects.filter(floor=floor, campaign_id__in=campaign_ids, lease__isnull=True)
        .filter(Q(next_call_at__isnull=True) | Q(next_call_at__lte=now))
        .select_related("phone_number", "prospect")
        .only(*CANDIDATE_FIELDS)
        .order_by("-priority", F("next_call_at").asc(nulls_first=True), "id")
        .select_for_update(skip_locked=True, of=("self",))
    )
    if exclude:  # this request's own picks: still unclaimed, and our own locks are not skipped
        base = base.exclude(pk__in=exclude)
    found = list(base.filter(state=Lead.State.CALLBACK_DUE)[:limit])
    if len(found) < limit:
        found += list(base.filter(state=Lead.State.PENDING)[: limit - len(found)])
    return found


class _CandidateQuery:
    """`_candidates`' query with the claim, as SQL written once per process (PostgreSQL): the ORM
    query's filters, order and `FOR UPDATE SKIP LOCKED` (lead rows only) pick the rows, the UPDATE
    claims exactly those, and the rows are built into the same Lead / Prospect / PhoneNumber
    instances select_related would give (same columns, same converters, related objects cached).
    Measured on the bench: compiling the ORM query and populating through it cost ~4 ms of Python
    per lease of 100; this costs ~1 ms."""

    def __init__(self):
        from contacts.models import PhoneNumber, Prospect

        quote = connection.ops.quote_name
        self.parts = []  # (model, attnames, slice of the row, converters)
        columns = []
        for model, alias, prefix in (
            (Lead, "l", ""),
            (Prospect, "p", "prospect__"),
            (PhoneNumber, "n", "phone_number__"),
        ):
            wanted = {
                name[len(prefix) :]
                for name in CANDIDATE_FIELDS
                if name.startswith(prefix) and "__" not in name[len(prefix) :]
            }
            fields = [f for f in model._meta.concrete_fields if f.attname in wanted or f.name in wanted]
            start = len(columns)
            columns += [f"{alias}.{quote(f.column)}" for f in fields]
            if model is Lead:
                returning = [f"claimed.{quote(f.column)}" for f in fields]
            converters = [
                (start + i, f.get_db_converters(connection), f)
                for i, f in enumerate(fields)
                if f.get_db_converters(connection)
            ]
            self.parts.append((model, [f.attname for f in fields], slice(start, len(columns)), converters))
        lead, prospect, number = (quote(m._meta.db_table) for m in (Lead, Prospect, PhoneNumber))

        # Each branch of `picked` is the ORM query of `_candidates` (its SQLite branch) for one
        # state, verbatim in meaning: due callbacks (k = 0), then the rest (k = 1). The executor
        # pulls rows on demand, in branch order, and stops at the outer LIMIT: the second branch
        # locks only the rows still wanted (EXPLAIN ANALYZE with 30 due callbacks on the floor:
        # 30 locked, then exactly 70 pending rows for a lease of 100). A statement that locks
        # rows is never run in parallel, so the order of the branches holds.
        def branch(k: int) -> str:
            return (
                f"SELECT * FROM (SELECT id, last_lease_id AS previous_lease, {k} AS k FROM {lead} "  # noqa: S608 (model names only)
                "WHERE floor_id = %s AND campaign_id = ANY(%s::bigint[]) AND lease_id IS NULL "
                "AND (next_call_at IS NULL OR next_call_at <= %s) AND state = %s "
                "AND NOT (id = ANY(%s::bigint[])) "
                "ORDER BY priority DESC, next_call_at ASC NULLS FIRST, id ASC "
                f"LIMIT %s FOR UPDATE SKIP LOCKED) AS branch_{k}"
            )

        self.sql = (
            f"WITH picked AS ({branch(0)} UNION ALL {branch(1)} LIMIT %s), "  # noqa: S608 (model names only)
            f"l AS (UPDATE {lead} AS claimed SET state = %s, lease_id = %s, last_lease_id = %s "
            "FROM picked WHERE claimed.id = picked.id "
            f"RETURNING {', '.join(returning)}, picked.previous_lease, picked.k) "
            f"SELECT {', '.join(columns)}, l.previous_lease, l.k FROM l "
            # One primary-key probe per claimed lead: `OFFSET 0` keeps each lateral subquery from
            # being flattened into a plain join, which the planner ran as a hash join over whole
            # prospect and number tables (2 × 2 ms at 20,000 rows, growing with the tables;
            # EXPLAIN ANALYZE on the bench).
            f"CROSS JOIN LATERAL (SELECT * FROM {prospect} WHERE id = l.prospect_id OFFSET 0) p "
            f"CROSS JOIN LATERAL (SELECT * FROM {number} WHERE id = l.phone_number_id OFFSET 0) n "
            "ORDER BY l.k, l.priority DESC, l.next_call_at ASC NULLS FIRST, l.id ASC"
        )

    def rows_to_leads(self, rows) -> list[Lead]:
        """Instances as the leads were before the claim: their state (callback due or pending, by
        branch: the last column), no lease, their previous last lease (the one before it)."""
        db = connection.alias
        build = _instance if _plain_models(Lead, *(part[0] for part in self.parts)) else _from_db
        (
            (lead_model, lead_names, lead_cols, _),
            (p_model, p_names, p_cols, _),
            (n_model, n_names, n_cols, _),
        ) = self.parts
        converters = [c for part in self.parts for c in part[3]]
        prospect_cache = Lead.prospect.field.cache_name
        number_cache = Lead.phone_number.field.cache_name
        leads = []
        # The numbers of one lease share a handful of zone lists (`time_zone_candidates`, JSON):
        # each distinct text is decoded once per batch, and each instance gets its own copy of a
        # flat list of strings (100 json.loads were ~0.3 ms per lease, measured).
        decoded: dict = {}
        for row in rows:
            if converters:
                row = list(row)
                for index, funcs, field in converters:
                    raw = row[index]
                    flat = decoded.get((index, raw)) if type(raw) is str else None
                    if flat is not None:
                        row[index] = list(flat)
                        continue
                    for func in funcs:
                        row[index] = func(row[index], field, connection)
                    value = row[index]
                    if type(raw) is str and type(value) is list and all(type(x) is str for x in value):
                        decoded[(index, raw)] = tuple(value)
            lead = build(lead_model, db, lead_names, row[lead_cols])
            lead._state.fields_cache[prospect_cache] = build(p_model, db, p_names, row[p_cols])
            lead._state.fields_cache[number_cache] = build(n_model, db, n_names, row[n_cols])
            # Written to the instance's dict: a fresh instance has no cached lease for the foreign
            # key descriptors to clear (their checks were ~2 % of a lease's Python, py-spy).
            values = lead.__dict__
            values["state"] = Lead.State.CALLBACK_DUE if row[-1] == 0 else Lead.State.PENDING
            values["lease_id"], values["last_lease_id"] = None, row[-2]
            leads.append(lead)
        return leads


_CANDIDATE_QUERY: _CandidateQuery | None = None


def _plain_models(*models) -> bool:
    """No model overrides `from_db` and nothing listens to its init signals: `_instance` then
    builds exactly what `from_db` would."""
    from django.db.models import Model, signals

    return all(
        model.from_db.__func__ is Model.from_db.__func__
        and not signals.pre_init.has_listeners(model)
        and not signals.post_init.has_listeners(model)
        for model in models
    )


def _from_db(model, db, attnames, values):
    return model.from_db(db, attnames, values)


def _instance(model, db, attnames, values):
    """`model.from_db(db, attnames, values)` without `Model.__init__`'s per-field walk (300
    instances per lease of 100: ~1.5 ms of Python, measured). Columns not read stay deferred,
    exactly as with `from_db`."""
    instance = model.__new__(model)
    state = ModelState()
    state.adding, state.db = False, db
    instance.__dict__["_state"] = state
    instance.__dict__.update(zip(attnames, values, strict=True))
    return instance


def candidate_query() -> _CandidateQuery:
    """This process's `_CandidateQuery` (written at the first use, or by `config.warmup`)."""
    global _CANDIDATE_QUERY
    if _CANDIDATE_QUERY is None:
        _CANDIDATE_QUERY = _CandidateQuery()
    return _CANDIDATE_QUERY


def warm_lease_statements(now: datetime) -> None:
    """Run the claim and the expired-lease probe once with arguments that match no row (floor -1,
    campaign -1): the connection prepares them and the database server loads the tables and
    indexes they touch, so a worker's first real lease does not pay for it (config.warmup)."""
    any_expired_lease(now)
    if connection.vendor == "postgresql":
        _claim_candidates(-1, [-1], now, [], 1, uuid.uuid4())


def _claim_candidates(floor_id, campaign_ids, now, exclude, limit, lease_id) -> list[Lead]:
    query = candidate_query()
    params = []
    for state in (Lead.State.CALLBACK_DUE, Lead.State.PENDING):
        params += [floor_id, list(campaign_ids), now, state, list(exclude), limit]
    params += [limit, Lead.State.LEASED, lease_id, lease_id]
    with prepared_cursor() as cursor:
        cursor.execute(query.sql, params)
        return query.rows_to_leads(cursor.fetchall())


def _check_at_handover(
    candidates: list[Lead],
    *,
    campaigns: dict[int, Campaign],
    now: datetime,
    outcome: LeaseOutcome,
    book: PolicyBook,
) -> tuple[list[Lead], list[Lead]]:
    """Split candidates into those callable now and those held back (updated in memory)."""
    by_campaign: dict[int, list[Lead]] = {}
    for lead in candidates:
        by_campaign.setdefault(lead.campaign_id, []).append(lead)
    passed: list[Lead] = []
    held: list[Lead] = []
    cache_campaign = Lead.campaign.field.set_cached_value  # see lease_leads: no descriptor checks
    for campaign_id, leads in by_campaign.items():
        # The prospects came with the candidates (same transaction): the decision does not read
        # them again (`callability_loaded` is `callability_many` minus that query).
        loaded = callability_loaded(
            numbers=[lead.phone_number for lead in leads],
            prospects={lead.prospect_id: lead.prospect for lead in leads},
            campaign=campaigns[campaign_id],
            at=now,
            book=book,
        )
        decisions = loaded.decisions
        for lead in leads:
            cache_campaign(lead, campaigns[campaign_id])
            decision = decisions.get(lead.phone_number_id)
            if decision is not None and decision.callable:
                outcome.decisions[lead.phone_number_id] = decision
                passed.append(lead)
                continue
            reasons = tuple(decision.reasons) if decision is not None else ("no_decision",)
            for reason in reasons or ("not_callable",):
                outcome.refused[reason] += 1
            next_at = decision.next_callable_at if decision is not None else None
            if next_at is None and any(_is_static(r) for r in reasons):
                # Cannot become callable on its own (objection, no consent, invalid number): it
                # leaves the queue; a rebuild or a manager brings it back if that changes.
                lead.state = Lead.State.SUPPRESSED
                lead.done_reason = reasons[0][:30]
            else:
                if next_at is None or next_at <= now:
                    next_at = now + RECHECK_DELAY
                lead.next_call_at = next_at
                if outcome.refused_next_at is None or next_at < outcome.refused_next_at:
                    outcome.refused_next_at = next_at
            held.append(lead)
    # Keep the hand-over order of the query (callbacks, priority, waiting time): the groups above
    # split it when the candidates belong to several campaigns.
    if len(by_campaign) > 1:
        order = {lead.id: i for i, lead in enumerate(candidates)}
        passed.sort(key=lambda lead: order[lead.id])
    return passed, held


def _save_held(leads: list[Lead]) -> None:
    """Write held-back leads' new state and next time (executemany: bulk_update's CASE building
    costs ~10 ms of Python per lead, measured on the bench), and their lease as before the claim
    (PostgreSQL claims while picking: see `_candidates`)."""
    fields = [
        Lead._meta.get_field(name) for name in ("state", "next_call_at", "done_reason", "lease", "last_lease")
    ]
    quote = connection.ops.quote_name
    sets = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    sql = f"UPDATE {quote(Lead._meta.db_table)} SET {sets} WHERE id = %s"  # noqa: S608 (model names only)
    with connection.cursor() as cursor:
        cursor.executemany(
            sql,
            [
                [f.get_db_prep_save(getattr(lead, f.attname), connection) for f in fields] + [lead.pk]
                for lead in leads
            ],
        )


# Static, but cured by an operator rather than by the person: a fresh register import or a new
# country policy. Such leads wait for a re-check instead of leaving the queue.
HELD_FOR_RECHECK = frozenset({"register_stale", "no_policy"})


def _is_static(reason: str) -> bool:
    code = reason.split(":", 1)[0]
    return code in STATIC_REASONS and code not in HELD_FOR_RECHECK


def _return_leads(*, lease_ids: list, lead_ids: list[int] | None = None) -> int:
    """Put a lease's unreported leads back in the queue, as callbacks if they were callbacks."""
    leads = Lead.objects.filter(lease_id__in=lease_ids, state=Lead.State.LEASED)
    if lead_ids is not None:
        leads = leads.filter(pk__in=lead_ids)
    return leads.update(
        lease=None,
        state=Case(
            When(callback_at__isnull=False, then=Value(Lead.State.CALLBACK_DUE)),
            default=Value(Lead.State.PENDING),
        ),
    )


def expire_leases(*, now: datetime, batch_size: int = 200) -> int:
    """End every live lease past its expiry and return its unreported leads; returns leads returned.

    Idempotent and safe to run concurrently (beat and every lease request): leases are claimed with
    SKIP LOCKED and ended with a conditional update.
    """
    returned = 0
    if not any_expired_lease(now):  # the common case at every lease request: one indexed probe
        return 0
    while True:
        with transaction.atomic():
            ids = list(
                Lease.objects.filter(released_at__isnull=True, expires_at__lte=now)
                .order_by("expires_at")
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                return returned
            ended = list(
                Lease.objects.filter(pk__in=ids, released_at__isnull=True, expires_at__lte=now).values_list(
                    "pk", flat=True
                )
            )
            Lease.objects.filter(pk__in=ended, released_at__isnull=True).update(
                released_at=now, end_reason=Lease.EndReason.EXPIRED
            )
            count = _return_leads(lease_ids=ended)
            returned += count
            if count:
                audit(
                    None,
                    "campaigns.leases.expired",
                    None,
                    {"leases": [str(pk) for pk in ended], "leads_returned": count},
                    at=now,
                )
        if len(ids) < batch_size:
            return returned


def any_expired_lease(now: datetime) -> bool:
    """`Lease.objects.filter(released_at__isnull=True, expires_at__lte=now).exists()`, as SQL
    written once: every lease request asks, and compiling the ORM query cost ~0.5 ms of the
    ~0.7 ms it took (measured)."""
    quote = connection.ops.quote_name
    released, expires = (Lease._meta.get_field(name) for name in ("released_at", "expires_at"))
    sql = (
        f"SELECT 1 FROM {quote(Lease._meta.db_table)} WHERE {quote(released.column)} IS NULL "  # noqa: S608 (model names only)
        f"AND {quote(expires.column)} <= %s LIMIT 1"
    )
    with prepared_cursor() as cursor:
        cursor.execute(sql, [expires.get_db_prep_value(now, connection)])
        return cursor.fetchone() is not None


def _own_live_lease(*, integration: DiallerIntegration, lease_id, now: datetime) -> Lease:
    lease = Lease.objects.filter(pk=lease_id, integration=integration).first()
    if lease is None:
        raise LeaseNotFound("lease: no such lease for this dialler.", field="lease")
    if lease.released_at is not None or lease.expires_at <= now:
        raise LeaseClosed(
            f"lease: this lease ended at {(lease.released_at or lease.expires_at).isoformat()}.",
            field="lease",
        )
    return lease


def extend_lease(
    *, integration: DiallerIntegration, lease_id, now: datetime, ttl: timedelta | None = None
) -> Lease:
    """Heartbeat: push a live lease's expiry to now + ttl (conditional update, so it cannot revive
    a lease the expiry sweep has already ended)."""
    ttl = clamp_ttl(ttl)
    with transaction.atomic():
        updated = Lease.objects.filter(
            pk=lease_id, integration=integration, released_at__isnull=True, expires_at__gt=now
        ).update(expires_at=now + ttl)
        if updated != 1:
            _own_live_lease(integration=integration, lease_id=lease_id, now=now)
            raise LeaseClosed("lease: this lease has ended.", field="lease")  # pragma: no cover (raced)
        return Lease.objects.get(pk=lease_id)


def release_lease(
    *,
    integration: DiallerIntegration,
    lease_id,
    now: datetime,
    lead_ids: list[int] | None = None,
    actor: Any = None,
) -> int:
    """Return unused leads to the queue: the listed ones (the lease stays live), or all unreported
    leads and end the lease. Returns how many leads went back."""
    with transaction.atomic():
        lease = _own_live_lease(integration=integration, lease_id=lease_id, now=now)
        if lead_ids is None:
            ended = Lease.objects.filter(pk=lease.pk, released_at__isnull=True).update(
                released_at=now, end_reason=Lease.EndReason.RELEASED
            )
            if ended != 1:  # pragma: no cover (raced with the sweep)
                raise LeaseClosed("lease: this lease has ended.", field="lease")
        count = _return_leads(lease_ids=[lease.pk], lead_ids=lead_ids)
        audit(
            actor,
            "campaigns.lease.released",
            lease,
            {"leads_returned": count, "whole_lease": lead_ids is None},
            at=now,
        )
        return count
