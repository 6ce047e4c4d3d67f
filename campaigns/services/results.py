"""Call results: what a dialler or an agent reports, and the rule that moves the lead on.

- Idempotent on the dialler's own call id (unique per integration, a database constraint): the
  same result posted twice is recorded once and answered "duplicate" (DOMAIN.md promise 4).
- Per item: one bad item is rejected with its reason and does not reject the others.
- A do-not-call outcome or an objection (GDPR art. 21) suppresses the number inside the same
  transaction, so the suppression exists before the response is sent (promise 3).
- Every recorded attempt is an Attempt row with advertiser, prospect, number and start time: the
  frequency caps (FR: 4 calls or attempts per 30 days per advertiser) count them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F

from campaigns.models import (
    Agent,
    Attempt,
    Campaign,
    DiallerIntegration,
    Lead,
    Lease,
    OutcomeCode,
    RecordingNotice,
)
from campaigns.services.callbacks import CallbackError, validate_callback
from campaigns.services.notices import notice_proof_fields
from campaigns.services.recordings import RecordingRefused, attach_recording
from contacts.models import Prospect, Suppression
from contacts.services.audit import audit
from contacts.services.suppression import suppress_number

MAX_RESULTS_PER_REQUEST = 500
DEFAULT_RETRY_DELAY = timedelta(hours=1)
# How far a dialler's or an agent's clock may run ahead of ours. A call reported from further in
# the future, or from before the lease it was made under, is a clock or typing error: recorded, it
# would dodge the frequency caps (counted over the last 30 days) or push the lead's next call
# past the end of the calendar.
CLOCK_SKEW = timedelta(minutes=10)
# How far back an agent may date a call logged by hand (a call made yesterday, typed in today).
MAX_AGENT_BACKDATE = timedelta(days=7)

CREATED = "created"
DUPLICATE = "duplicate"
REJECTED = "rejected"

# Outcome category → why a FINAL outcome closes the lead (Lead.done_reason).
DONE_REASONS = {
    OutcomeCode.Category.SUCCESS: "success",
    OutcomeCode.Category.REFUSAL: "final_refusal",
    OutcomeCode.Category.DO_NOT_CALL: "do_not_call",
    OutcomeCode.Category.WRONG_NUMBER: "wrong_number",
    OutcomeCode.Category.CONTACT: "final_contact",
    OutcomeCode.Category.NO_CONTACT: "final_no_contact",
    OutcomeCode.Category.CALLBACK: "final_contact",
}
APPOINTMENT_FIELDS = ("dealer", "at", "model")


class ResultError(ValueError):
    """An item that cannot be recorded; `reason` is a stable code, the message says why."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass
class ItemStatus:
    index: int
    call_id: str
    status: str
    attempt: int | None = None
    reason: str = ""
    detail: str = ""
    suppressed: bool = False
    recording: str = ""

    def as_dict(self) -> dict:
        return {
            "index": self.index,
            "call_id": self.call_id,
            "status": self.status,
            "attempt": self.attempt,
            "reason": self.reason,
            "detail": self.detail,
            "suppressed": self.suppressed,
            "recording": self.recording,
        }


def suppression_reason(*, outcome: OutcomeCode, objection: bool) -> str | None:
    """The Suppression.Reason an outcome writes, or None."""
    if objection:
        return Suppression.Reason.OBJECTION
    if outcome.category == OutcomeCode.Category.DO_NOT_CALL:
        return Suppression.Reason.DO_NOT_CALL
    if outcome.action == OutcomeCode.Action.SUPPRESS:
        if outcome.category == OutcomeCode.Category.WRONG_NUMBER:
            return Suppression.Reason.WRONG_NUMBER
        if outcome.category == OutcomeCode.Category.REFUSAL:
            return Suppression.Reason.OBJECTION
        return Suppression.Reason.DO_NOT_CALL
    return None


def apply_outcome(
    *,
    lead: Lead,
    outcome: OutcomeCode,
    campaign: Campaign,
    attempt_at: datetime,
    callback_at: datetime | None,
    callback_agent: Agent | None,
    same_outcome_count: int,
    suppressed_reason: str | None,
    counted: bool = True,
) -> None:
    """Move `lead` (in memory) by the outcome's rule. `same_outcome_count` includes this attempt.

    - suppressing outcomes and objections: done (do_not_call / wrong_number);
    - callback: callback due at the asked time, for one agent or the floor; the hand-over check
      still applies then (a callback asked for 13:30 in Paris waits until 14:00);
    - final: done, with the category as the reason;
    - retry: pending again after the outcome's delay, unless the campaign's attempts or the
      outcome's retries are used up (done: attempts_exhausted).
    """
    if counted:
        lead.attempts += 1
    lead.last_outcome = outcome
    lead.lease = None
    lead.callback_at = None
    lead.callback_agent = None
    lead.done_reason = ""
    if suppressed_reason is not None:
        lead.state = Lead.State.DONE
        lead.done_reason = (
            "wrong_number" if suppressed_reason == Suppression.Reason.WRONG_NUMBER else "do_not_call"
        )
        lead.next_call_at = None
    elif outcome.action == OutcomeCode.Action.CALLBACK:
        lead.state = Lead.State.CALLBACK_DUE
        lead.callback_at = callback_at
        lead.callback_agent = callback_agent
        lead.next_call_at = callback_at
    elif outcome.action == OutcomeCode.Action.FINAL:
        lead.state = Lead.State.DONE
        lead.done_reason = DONE_REASONS.get(outcome.category, "final")
        lead.next_call_at = None
    else:
        exhausted = lead.attempts >= campaign.max_attempts or (
            outcome.max_retries is not None and same_outcome_count > outcome.max_retries
        )
        if exhausted:
            lead.state = Lead.State.DONE
            lead.done_reason = "attempts_exhausted"
            lead.next_call_at = None
        else:
            delay = (
                timedelta(minutes=outcome.retry_after_minutes)
                if outcome.retry_after_minutes is not None
                else DEFAULT_RETRY_DELAY
            )
            lead.state = Lead.State.PENDING
            lead.next_call_at = attempt_at + delay


def validate_appointment(
    *, campaign: Campaign, outcome: OutcomeCode, appointment: dict | None
) -> dict | None:
    """Test-drive campaigns: a success carries the appointment (dealer, date and time, model)."""
    if appointment in (None, {}):
        if campaign.kind == Campaign.Kind.TEST_DRIVE and outcome.category == OutcomeCode.Category.SUCCESS:
            raise ResultError(
                "appointment_required",
                "appointment: a test drive booked needs the dealer, the date and time, and the model.",
            )
        return None
    if campaign.kind != Campaign.Kind.TEST_DRIVE:
        raise ResultError("appointment_not_allowed", "appointment: only test-drive campaigns book one.")
    missing = [f for f in APPOINTMENT_FIELDS if not appointment.get(f)]
    if missing:
        raise ResultError("appointment_incomplete", f"appointment: missing {', '.join(missing)}.")
    at = appointment["at"]
    if isinstance(at, str):
        try:
            at = dt.datetime.fromisoformat(at)
        except ValueError:
            raise ResultError(
                "appointment_incomplete", "appointment.at: not an ISO 8601 date-time."
            ) from None
    if at.tzinfo is None:
        raise ResultError("appointment_incomplete", "appointment.at: give a time zone offset.")
    return {"dealer": str(appointment["dealer"]), "at": at.isoformat(), "model": str(appointment["model"])}


def record_results(
    *, integration: DiallerIntegration, items: list[tuple[int, dict]], now: datetime, actor: Any = None
) -> list[ItemStatus]:
    """Record a dialler's results. `items` are (index in the request, validated item) pairs.

    One transaction; retried once if a concurrent post of the same call id won the race, which
    the retry then reports as a duplicate.
    """
    if len(items) > MAX_RESULTS_PER_REQUEST:
        raise ResultError("too_many", f"results: at most {MAX_RESULTS_PER_REQUEST} per request.")
    for attempt_no in range(2):
        try:
            with transaction.atomic():
                return _record_results(integration=integration, items=items, now=now, actor=actor)
        except IntegrityError:
            if attempt_no == 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _record_results(
    *, integration: DiallerIntegration, items: list[tuple[int, dict]], now: datetime, actor: Any
) -> list[ItemStatus]:
    statuses: dict[int, ItemStatus] = {}
    lead_ids = sorted({item["lead"] for _, item in items})
    # Lock the batch's leads in id order (no deadlock between two posts) so an agent's correction
    # or another post cannot move them under us.
    # The number only as its E.164 (for suppressions), the campaign with the outcome codes below:
    # joining both per lead built 300 model instances per 100 results (measured on the bench).
    leads = {
        lead.pk: lead
        for lead in Lead.objects.select_for_update(of=("self",))
        .annotate(number_e164=F("phone_number__e164"))
        .filter(pk__in=lead_ids)
        .order_by("pk")
    }
    # Read after the leads are locked: a concurrent post of the same calls has committed by now, so
    # its call ids are seen here and answered `duplicate` (not taken for a second result).
    call_ids = [item["call_id"] for _, item in items]
    known = dict(
        Attempt.objects.filter(integration=integration, call_id__in=call_ids).values_list("call_id", "pk")
    )
    lease_ids = {item["lease"] for _, item in items}
    leases = {
        lease.pk: lease
        for lease in Lease.objects.filter(pk__in=lease_ids, integration=integration).only(
            "id", "created_at", "expires_at", "released_at", "end_reason"
        )
    }
    # (lead, lease) pairs that already have a result, asked only for leads their lease no longer
    # holds (a late or repeated report): the usual post, on held leads, sends no query for it.
    unheld = {
        (lead_id, lease_id)
        for lead_id, lease_id in ((item["lead"], item["lease"]) for _, item in items)
        if lead_id in leads
        and (leads[lead_id].lease_id != lease_id or leads[lead_id].state != Lead.State.LEASED)
    }
    reported: set[tuple[int, Any]] = set()
    if unheld:
        reported = set(
            Attempt.objects.filter(
                lead_id__in={lead_id for lead_id, _ in unheld}, lease_id__in={lease for _, lease in unheld}
            ).values_list("lead_id", "lease_id")
        )
    campaign_ids = {lead.campaign_id for lead in leads.values()}
    # Each outcome code carries its campaign: one campaign instance per code asked, not per lead.
    outcomes = {
        (o.campaign_id, o.code): o
        for o in OutcomeCode.objects.select_related("campaign").filter(
            campaign_id__in=campaign_ids, code__in={item["outcome"] for _, item in items}
        )
    }
    floor_ids = {lead.floor_id for lead in leads.values()}
    agent_codes = {item.get("agent_code") for _, item in items if item.get("agent_code")}
    agents = {
        (a.floor_id, a.code): a for a in Agent.objects.filter(floor_id__in=floor_ids, code__in=agent_codes)
    }
    notice_ids = {item["notice"] for _, item in items if item.get("notice")}
    notices = RecordingNotice.objects.in_bulk(notice_ids) if notice_ids else {}

    seen_in_request: dict[str, int] = {}  # call id → index of the item that carries it
    accepted: list[tuple[int, dict, Lead, OutcomeCode, Agent | None, dict | None]] = []
    for index, item in items:
        call_id = item["call_id"]
        if call_id in known or call_id in seen_in_request:
            statuses[index] = ItemStatus(index, call_id, DUPLICATE, attempt=known.get(call_id))
            continue
        try:
            lead, outcome, callback_agent, appointment = _check_item(
                item,
                integration=integration,
                leads=leads,
                leases=leases,
                reported=reported,
                now=now,
                outcomes=outcomes,
                agents=agents,
                notices=notices,
            )
        except ResultError as exc:
            statuses[index] = ItemStatus(index, call_id, REJECTED, reason=exc.reason, detail=str(exc))
            continue
        seen_in_request[call_id] = index
        # One result per lead and lease, within this post too.
        reported.add((lead.pk, item["lease"]))
        accepted.append((index, item, lead, outcome, callback_agent, appointment))

    if accepted:
        _write_attempts(accepted, integration=integration, statuses=statuses, now=now, actor=actor)
        audit(
            actor,
            "campaigns.results.recorded",
            integration,
            {"created": len(accepted), "items": len(items)},
            at=now,
        )
    # A call id repeated within the post: the duplicate names the attempt its first copy created.
    for index, item in items:
        status = statuses[index]
        if status.status == DUPLICATE and status.attempt is None and item["call_id"] in seen_in_request:
            status.attempt = statuses[seen_in_request[item["call_id"]]].attempt
    return [statuses[index] for index, _ in items]


def check_call_times(*, started, answered, ended, earliest, earliest_why: str, now) -> None:
    """started ≤ answered ≤ ended, none after now (give or take CLOCK_SKEW), the start not before
    `earliest` (`earliest_why` says what that instant is)."""
    if (
        (answered and answered < started)
        or (ended and ended < started)
        or (answered and ended and ended < answered)
    ):
        raise ResultError("bad_times", "started_at ≤ answered_at ≤ ended_at is required.")
    latest = now + CLOCK_SKEW
    for name, value in (("started_at", started), ("answered_at", answered), ("ended_at", ended)):
        if value is not None and value > latest:
            raise ResultError("bad_times", f"{name}: {value.isoformat()} is in the future.")
    if started < earliest:
        raise ResultError("bad_times", f"started_at: {started.isoformat()} is before {earliest_why}.")


def _lease_ended_by_expiry(lease: Lease, now: datetime) -> bool:
    if lease.released_at is None:
        return lease.expires_at <= now  # expired, not swept yet
    return lease.end_reason == Lease.EndReason.EXPIRED


def _check_item(item, *, integration, leads, leases, reported, now, outcomes, agents, notices):
    lead = leads.get(item["lead"])
    lease = leases.get(item["lease"])
    if lead is None or lease is None or lead.last_lease_id != lease.pk:
        # A lead this dialler never leased, or one another lease has taken since: the dialler
        # must not report on it (DOMAIN.md promise 1).
        raise ResultError("not_leased", f"lead: lead {item['lead']} is not in this dialler's lease.")
    # One result per lead and lease: a second one would move a lead the first has moved already
    # (reopen a lead closed as a refusal, say), and its call was dialled without a hand-over check.
    if (lead.pk, lease.pk) in reported:
        raise ResultError("already_reported", f"lead: lead {lead.pk} already has a result under this lease.")
    if not (lead.lease_id == lease.pk and lead.state == Lead.State.LEASED):
        # The lease no longer holds the lead. A result is still taken for a call made before the
        # lease expired (the call happened: the frequency caps must count it), but not for a lead
        # the dialler gave back (the queue may have handed it to someone else since) or that an
        # agent reported while the lease was live (the agent's outcome moved it already).
        if not _lease_ended_by_expiry(lease, now):
            raise ResultError(
                "not_leased",
                f"lead: lead {lead.pk} is no longer held by this lease (given back, or reported by an agent).",
            )
    outcome = outcomes.get((lead.campaign_id, item["outcome"]))
    if outcome is None:
        raise ResultError(
            "unknown_outcome", f"outcome: {item['outcome']!r} is not an outcome code of this campaign."
        )
    lead.campaign = outcome.campaign  # the same row (outcome.campaign_id == lead.campaign_id)
    started = item["started_at"]
    check_call_times(
        started=started,
        answered=item.get("answered_at"),
        ended=item.get("ended_at"),
        earliest=lease.created_at - CLOCK_SKEW,
        earliest_why="the lease was handed out at " + lease.created_at.isoformat(),
        now=now,
    )
    callback_agent = None
    if outcome.action == OutcomeCode.Action.CALLBACK:
        if item.get("callback_personal"):
            callback_agent = agents.get((lead.floor_id, item.get("agent_code")))
            if callback_agent is None:
                raise ResultError(
                    "unknown_agent", "agent_code: a personal callback needs an agent of the lead's floor."
                )
        try:
            validate_callback(campaign=lead.campaign, callback_at=item.get("callback_at"), after=started)
        except CallbackError as exc:
            raise ResultError("bad_callback", str(exc)) from None
    appointment = validate_appointment(
        campaign=lead.campaign, outcome=outcome, appointment=item.get("appointment")
    )
    if item.get("notice") and item["notice"] not in notices:
        raise ResultError("bad_notice", f"notice: no recording notice {item['notice']}.")
    try:
        item["_notice_fields"] = notice_proof_fields(
            notice=notices.get(item.get("notice")),
            played=item.get("notice_played"),
            answer=item.get("notice_answer", ""),
        )
    except ValidationError as exc:
        raise ResultError("bad_notice", "; ".join(exc.messages)) from None
    return lead, outcome, callback_agent, appointment


def _write_attempts(accepted, *, integration, statuses, now, actor) -> None:
    accepted.sort(key=lambda row: row[1]["started_at"])
    lead_ids = {row[2].pk for row in accepted}
    capped = [row[3].pk for row in accepted if row[3].max_retries is not None]
    prior = _prior_outcome_counts(lead_ids, capped)
    rows = []
    touched: dict[int, Lead] = {}
    suppressions: list[tuple[int, Lead, str, str]] = []
    contacts: dict[int, datetime] = {}
    for index, item, lead, outcome, callback_agent, appointment in accepted:
        campaign = lead.campaign
        prior[(lead.pk, outcome.pk)] += 1
        reason = suppression_reason(outcome=outcome, objection=bool(item.get("objection")))
        apply_outcome(
            lead=lead,
            outcome=outcome,
            campaign=campaign,
            attempt_at=item.get("ended_at") or item["started_at"],
            callback_at=item.get("callback_at"),
            callback_agent=callback_agent,
            same_outcome_count=prior[(lead.pk, outcome.pk)],
            suppressed_reason=reason,
        )
        touched[lead.pk] = lead
        if reason is not None:
            suppressions.append((index, lead, reason, item["call_id"]))
        if item.get("answered_at"):
            contacts[lead.prospect_id] = max(
                contacts.get(lead.prospect_id, item["answered_at"]), item["answered_at"]
            )
        notice = item["_notice_fields"]["notice"]
        rows.append(
            {
                "lead_id": lead.pk,
                "campaign_id": lead.campaign_id,
                "advertiser_id": campaign.advertiser_id,
                "prospect_id": lead.prospect_id,
                "phone_number_id": lead.phone_number_id,
                "floor_id": lead.floor_id,
                "lease_id": item["lease"],
                "integration_id": integration.pk if integration else None,
                "call_id": item["call_id"],
                "agent_code": item.get("agent_code", ""),
                "outcome_id": outcome.pk,
                "started_at": item["started_at"],
                "answered_at": item.get("answered_at"),
                "ended_at": item.get("ended_at"),
                "callback_at": item.get("callback_at")
                if outcome.action == OutcomeCode.Action.CALLBACK
                else None,
                "note": item.get("note", ""),
                "appointment": appointment,
                "notice_id": notice.pk if notice is not None else None,
                "notice_played": item["_notice_fields"]["notice_played"],
                "notice_answer": item["_notice_fields"]["notice_answer"],
                "objection": bool(item.get("objection")),
                "payment_data_spoken": bool(item.get("payment_data_spoken"))
                or bool((item.get("recording") or {}).get("payment_data_spoken")),
                "corrected_at": None,
                "created_at": now,
            }
        )
    attempt_ids = _insert_attempts(rows)
    by_index = {}
    for (index, item, *_), attempt_id in zip(accepted, attempt_ids, strict=True):
        statuses[index] = ItemStatus(index, item["call_id"], CREATED, attempt=attempt_id)
        by_index[index] = (item, attempt_id)
    _save_lead_moves(list(touched.values()), now=now)
    # The objection or do-not-call is on the list before the response leaves (promise 3).
    for index, lead, reason, call_id in suppressions:
        suppress_number(
            e164=lead.number_e164,
            reason=reason,
            actor=actor,
            now=now,
            source=f"call result {integration.name}" if integration else "agent",
            note=f"call {call_id}, lead {lead.pk}",
        )
        statuses[index].suppressed = True
    if contacts:
        field = Prospect._meta.get_field("last_contact_at")
        table, column = (
            connection.ops.quote_name(Prospect._meta.db_table),
            connection.ops.quote_name(field.column),
        )
        sql = f"UPDATE {table} SET {column} = %s WHERE id = %s"  # noqa: S608 (model names only)
        with connection.cursor() as cursor:
            cursor.executemany(
                sql, [[field.get_db_prep_save(at, connection), pk] for pk, at in contacts.items()]
            )
    recorded = {index: entry for index, entry in by_index.items() if entry[0].get("recording")}
    attempts = (
        Attempt.objects.in_bulk([attempt_id for _, attempt_id in recorded.values()]) if recorded else {}
    )
    for index, (item, attempt_id) in recorded.items():
        # The call happened and is recorded either way; a refused recording (an objection to
        # recording, DE without a yes) is reported on the item, never kept.
        try:
            attach_recording(attempt=attempts[attempt_id], actor=actor, now=now, **item["recording"])
            statuses[index].recording = "attached"
        except RecordingRefused as exc:
            statuses[index].recording = f"refused:{exc.reason}"


ATTEMPT_INSERT_FIELDS = (
    "lead_id",
    "campaign_id",
    "advertiser_id",
    "prospect_id",
    "phone_number_id",
    "floor_id",
    "lease_id",
    "integration_id",
    "call_id",
    "agent_code",
    "outcome_id",
    "started_at",
    "answered_at",
    "ended_at",
    "callback_at",
    "note",
    "appointment",
    "notice_id",
    "notice_played",
    "notice_answer",
    "objection",
    "payment_data_spoken",
    "corrected_at",
    "created_at",
)


def _insert_attempts(rows: list[dict]) -> list[int]:
    """Insert the attempts (column values by attname, in order) and return their ids in that order.

    PostgreSQL: one `INSERT … SELECT … FROM UNNEST(arrays) RETURNING id`, the values passed as they
    are (ints, strings, aware datetimes, UUIDs: what psycopg adapts natively; the JSON column as
    text). Measured on the bench: `bulk_create` spent ~15 ms of Python per 100 attempts building
    model instances and preparing 2,400 values one by one. Elsewhere, `bulk_create`.
    """
    if not rows:
        return []
    if connection.vendor != "postgresql":
        created = Attempt.objects.bulk_create([Attempt(**row) for row in rows])
        return [attempt.pk for attempt in created]
    quote = connection.ops.quote_name
    fields = [Attempt._meta.get_field(name) for name in ATTEMPT_INSERT_FIELDS]
    arrays, selects, params = [], [], []
    for n, f in enumerate(fields):
        values = [row[f.attname] for row in rows]
        if f.get_internal_type() == "JSONField":
            arrays.append("%s::text[]")
            selects.append(f"c{n}::jsonb")
            values = [None if v is None else json.dumps(v, cls=f.encoder) for v in values]
        else:
            arrays.append(f"%s::{f.db_type(connection)}[]")
            selects.append(f"c{n}")
        params.append(values)
    sql = (
        f"INSERT INTO {quote(Attempt._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608 (model names only)
        f"SELECT {', '.join(selects)} FROM UNNEST({', '.join(arrays)}) "
        f"AS v({', '.join(f'c{n}' for n in range(len(fields)))}) RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        # INSERT … SELECT FROM UNNEST keeps the arrays' order (Django's own bulk_create relies on it).
        return [row[0] for row in cursor.fetchall()]


LEAD_MOVE_FIELDS = (
    "state",
    "done_reason",
    "attempts",
    "next_call_at",
    "callback_at",
    "callback_agent",
    "last_outcome",
    "lease",
)


def _save_lead_moves(leads: list[Lead], *, now: datetime) -> None:
    """Write the moved leads in one statement on PostgreSQL (UPDATE … FROM UNNEST(arrays)), or as
    one executemany batch elsewhere.

    Measured on the bench: `bulk_update` of 100 leads × 8 fields spent ~1 s in Python building its
    CASE expressions; executemany ~100 ms (one UPDATE per row); one VALUES join ~13 ms, mostly
    psycopg splitting a 900-placeholder statement it cannot cache and Django preparing each value;
    one array per column, passed as they are (ints, strings, aware datetimes, UUIDs), a short
    statement. The rows are locked by this transaction (select_for_update above), so there is no
    lost update.
    """
    if not leads:
        return
    fields = [Lead._meta.get_field(name) for name in (*LEAD_MOVE_FIELDS, "updated_at")]
    quote = connection.ops.quote_name
    for lead in leads:
        lead.updated_at = now
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            sets = ", ".join(f"{quote(f.column)} = v.c{n}" for n, f in enumerate(fields))
            arrays = ", ".join(["%s::bigint[]"] + [f"%s::{f.db_type(connection)}[]" for f in fields])
            names = ", ".join(["id"] + [f"c{n}" for n in range(len(fields))])
            sql = (
                f"UPDATE {quote(Lead._meta.db_table)} AS l SET {sets} "  # noqa: S608 (model names only)
                f"FROM UNNEST({arrays}) AS v({names}) WHERE l.id = v.id"
            )
            params = [[lead.pk for lead in leads]]
            params += [[getattr(lead, f.attname) for lead in leads] for f in fields]
            cursor.execute(sql, params)
        else:
            sets = ", ".join(f"{quote(f.column)} = %s" for f in fields)
            sql = f"UPDATE {quote(Lead._meta.db_table)} SET {sets} WHERE id = %s"  # noqa: S608 (model names only)
            cursor.executemany(
                sql,
                [
                    [f.get_db_prep_save(getattr(lead, f.attname), connection) for f in fields] + [lead.pk]
                    for lead in leads
                ],
            )


def _prior_outcome_counts(lead_ids, outcome_ids) -> Counter:
    """(lead, outcome) → attempts already recorded, for outcomes that cap their retries."""
    counts: Counter = Counter()
    if outcome_ids:
        rows = (
            Attempt.objects.filter(lead_id__in=lead_ids, outcome_id__in=outcome_ids)
            .values("lead_id", "outcome_id")
            .annotate(n=Count("id"))
        )
        for row in rows:
            counts[(row["lead_id"], row["outcome_id"])] = row["n"]
    return counts


def record_agent_outcome(
    *,
    agent: Agent,
    lead: Lead,
    outcome_code: str,
    now: datetime,
    actor: Any = None,
    attempt: Attempt | None = None,
    started_at: datetime | None = None,
    callback_at: datetime | None = None,
    callback_personal: bool = False,
    note: str = "",
    appointment: dict | None = None,
    objection: bool = False,
) -> Attempt:
    """An agent logs what the customer said (a new attempt) or corrects an attempt's outcome.

    A correction does not count as a new attempt; it re-applies the corrected outcome's rule to
    the lead. The lead must be on the agent's floor (the caller scopes it; checked again here).
    """
    with transaction.atomic():
        lead = (
            Lead.objects.select_for_update(of=("self",))
            .select_related("campaign", "phone_number")
            .get(pk=lead.pk)
        )
        if lead.floor_id != agent.floor_id:
            raise ResultError("not_your_floor", "lead: this lead is not on your floor.")
        outcome = OutcomeCode.objects.filter(campaign_id=lead.campaign_id, code=outcome_code).first()
        if outcome is None:
            raise ResultError(
                "unknown_outcome", f"outcome: {outcome_code!r} is not an outcome code of this campaign."
            )
        if attempt is not None and attempt.lead_id != lead.pk:
            raise ResultError("bad_attempt", "attempt: that attempt is not one of this lead's.")
        started = attempt.started_at if attempt is not None else (started_at or now)
        if attempt is None and started_at is not None:
            check_call_times(
                started=started,
                answered=None,
                ended=None,
                earliest=now - MAX_AGENT_BACKDATE,
                earliest_why=f"the last {MAX_AGENT_BACKDATE.days} days",
                now=now,
            )
        if outcome.action == OutcomeCode.Action.CALLBACK:
            try:
                validate_callback(campaign=lead.campaign, callback_at=callback_at, after=started)
            except CallbackError as exc:
                raise ResultError("bad_callback", str(exc)) from None
        appointment = validate_appointment(campaign=lead.campaign, outcome=outcome, appointment=appointment)
        reason = suppression_reason(outcome=outcome, objection=objection)
        same = (
            Attempt.objects.filter(lead=lead, outcome=outcome)
            .exclude(pk=getattr(attempt, "pk", None))
            .count()
            + 1
        )
        apply_outcome(
            lead=lead,
            outcome=outcome,
            campaign=lead.campaign,
            attempt_at=now if attempt is not None else started,
            callback_at=callback_at,
            callback_agent=agent if callback_personal else None,
            same_outcome_count=same,
            suppressed_reason=reason,
            counted=attempt is None,
        )
        fields = {
            "outcome": outcome,
            "note": note,
            "appointment": appointment,
            "objection": objection,
            "callback_at": callback_at if outcome.action == OutcomeCode.Action.CALLBACK else None,
        }
        if attempt is None:
            attempt = Attempt.objects.create(
                lead=lead,
                campaign_id=lead.campaign_id,
                advertiser_id=lead.campaign.advertiser_id,
                prospect_id=lead.prospect_id,
                phone_number_id=lead.phone_number_id,
                floor_id=lead.floor_id,
                agent_code=agent.code,
                started_at=started,
                **fields,
            )
            audit(
                actor, "campaigns.attempt.logged", attempt, {"outcome": outcome.code, "lead": lead.pk}, at=now
            )
        else:
            before = attempt.outcome.code
            for name, value in fields.items():
                setattr(attempt, name, value)
            attempt.corrected_at = now
            attempt.save(update_fields=[*fields, "corrected_at"])
            audit(
                actor,
                "campaigns.attempt.corrected",
                attempt,
                {"lead": lead.pk, "from": before, "to": outcome.code},
                at=now,
            )
        lead.save(
            update_fields=[
                "state",
                "done_reason",
                "attempts",
                "next_call_at",
                "callback_at",
                "callback_agent",
                "last_outcome",
                "lease",
                "updated_at",
            ]
        )
        if reason is not None:
            suppress_number(
                e164=lead.phone_number.e164,
                reason=reason,
                actor=actor,
                now=now,
                source=f"agent {agent.code}",
                note=f"attempt {attempt.pk}, lead {lead.pk}",
            )
        return attempt
