"""Issue 6: call results: idempotency, per-item statuses, outcome rules, do-not-call, foreign leases."""

import datetime as dt

import pytest

from campaigns.models import Attempt, Lead, OutcomeCode
from campaigns.services.leases import lease_leads
from campaigns.services.results import record_agent_outcome, record_results
from contacts.models import Prospect, Suppression
from contacts.models.compliance import SuppressionChange
from contacts.selectors.suppression import is_suppressed
from tests.campaigns.leasing import NOW, callable_lead, dialler, policies, running_campaign
from tests.factories import AgentFactory, FloorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _policies(db):
    policies()


@pytest.fixture
def floor():
    return FloorFactory(code="lyon-1")


@pytest.fixture
def campaign():
    return running_campaign()


@pytest.fixture
def integration(floor):
    return dialler(floor)[0]


def leased(integration, floor, campaign, n=1):
    leads = [callable_lead(campaign=campaign, floor=floor) for _ in range(n)]
    outcome = lease_leads(integration=integration, floor=floor, size=n, now=NOW)
    assert len(outcome.leads) == n
    return outcome.lease, leads


def item(lead, lease, call_id, outcome="no-answer", **kw):
    return {
        "call_id": call_id,
        "lead": lead.pk,
        "lease": lease.pk,
        "agent_code": "",
        "started_at": NOW + dt.timedelta(minutes=1),
        "ended_at": NOW + dt.timedelta(minutes=2),
        "outcome": outcome,
        **kw,
    }


def post(integration, *items, now=NOW + dt.timedelta(minutes=3)):
    return [
        s.as_dict() for s in record_results(integration=integration, items=list(enumerate(items)), now=now)
    ]


def test_the_same_call_id_twice_is_recorded_once(integration, floor, campaign):
    lease, (lead,) = leased(integration, floor, campaign)

    first = post(integration, item(lead, lease, "c-1"))
    again = post(integration, item(lead, lease, "c-1"), item(lead, lease, "c-1"))

    assert first[0]["status"] == "created"
    assert [r["status"] for r in again] == ["duplicate", "duplicate"]
    assert again[0]["attempt"] == first[0]["attempt"]
    assert Attempt.objects.count() == 1
    lead.refresh_from_db()
    assert lead.attempts == 1


def test_one_bad_item_does_not_reject_the_others(integration, floor, campaign):
    lease, (a, b) = leased(integration, floor, campaign, n=2)

    statuses = post(
        integration,
        item(a, lease, "ok-1"),
        item(b, lease, "bad-outcome", outcome="no-such-code"),
        item(b, lease, "bad-times", ended_at=NOW),
        item(b, lease, "no-callback-time", outcome="callback"),
    )

    assert [(s["status"], s["reason"]) for s in statuses] == [
        ("created", ""),
        ("rejected", "unknown_outcome"),
        ("rejected", "bad_times"),
        ("rejected", "bad_callback"),
    ]
    assert list(Attempt.objects.values_list("call_id", flat=True)) == ["ok-1"]
    b.refresh_from_db()
    assert (b.state, b.attempts) == (Lead.State.LEASED, 0)


def test_a_result_for_a_lead_this_dialler_did_not_lease_is_rejected(integration, floor, campaign):
    other = dialler(floor, name="other")[0]
    lease, (lead,) = leased(integration, floor, campaign)
    other_lease, (others_lead,) = leased(other, floor, campaign)
    stranger = callable_lead(campaign=campaign, floor=floor)  # never leased

    statuses = post(
        integration,
        item(stranger, lease, "x-1"),
        item(others_lead, other_lease, "x-2"),  # another dialler's lease
        item(others_lead, lease, "x-3"),  # our lease, their lead
    )

    assert [(s["status"], s["reason"]) for s in statuses] == [("rejected", "not_leased")] * 3
    assert Attempt.objects.count() == 0
    others_lead.refresh_from_db()
    assert others_lead.state == Lead.State.LEASED


def test_do_not_call_suppresses_the_number_in_the_same_transaction(integration, floor, campaign):
    lease, (lead,) = leased(integration, floor, campaign)

    (status,) = post(integration, item(lead, lease, "dnc-1", outcome="do-not-call"))

    assert (status["status"], status["suppressed"]) == ("created", True)
    suppression = Suppression.objects.get()
    assert (suppression.e164, suppression.reason, suppression.scope) == (
        lead.phone_number.e164,
        "do_not_call",
        "global",
    )
    assert is_suppressed(e164=lead.phone_number.e164, advertiser=None, at=NOW + dt.timedelta(minutes=3))
    assert SuppressionChange.objects.filter(e164=lead.phone_number.e164, kind="added").count() == 1
    lead.refresh_from_db()
    assert (lead.state, lead.done_reason, lead.lease_id) == (Lead.State.DONE, "do_not_call", None)


def test_an_objection_on_any_outcome_suppresses(integration, floor, campaign):
    lease, (lead,) = leased(integration, floor, campaign)

    post(integration, item(lead, lease, "obj-1", outcome="not-interested", objection=True))

    assert Suppression.objects.get().reason == "objection"
    assert Attempt.objects.get().objection is True


def test_outcome_rules_move_the_lead(integration, floor, campaign):
    lease, (retry, callback, booked, refused) = leased(integration, floor, campaign, n=4)
    agent = AgentFactory(floor=floor, code="AG-7")
    callback_at = NOW + dt.timedelta(days=1)

    post(
        integration,
        item(retry, lease, "r"),
        item(
            callback,
            lease,
            "c",
            outcome="callback",
            callback_at=callback_at,
            callback_personal=True,
            agent_code="AG-7",
        ),
        item(
            booked,
            lease,
            "b",
            outcome="booked",
            appointment={"dealer": "Lyon Nord", "at": "2026-11-28T15:00:00+01:00", "model": "Model E"},
        ),
        item(refused, lease, "n", outcome="not-interested"),
    )

    for lead in (retry, callback, booked, refused):
        lead.refresh_from_db()
        assert lead.lease_id is None and lead.attempts == 1
    # no-answer: retry 120 minutes after the call ended
    assert (retry.state, retry.next_call_at) == (Lead.State.PENDING, NOW + dt.timedelta(minutes=2 + 120))
    assert (callback.state, callback.callback_at, callback.next_call_at, callback.callback_agent) == (
        Lead.State.CALLBACK_DUE,
        callback_at,
        callback_at,
        agent,
    )
    assert (booked.state, booked.done_reason) == (Lead.State.DONE, "success")
    assert Attempt.objects.get(call_id="b").appointment == {
        "dealer": "Lyon Nord",
        "at": "2026-11-28T15:00:00+01:00",
        "model": "Model E",
    }
    assert (refused.state, refused.done_reason) == (Lead.State.DONE, "final_refusal")


def test_a_test_drive_booked_without_appointment_is_rejected(integration, floor, campaign):
    lease, (lead,) = leased(integration, floor, campaign)

    (status,) = post(integration, item(lead, lease, "b", outcome="booked"))

    assert (status["status"], status["reason"]) == ("rejected", "appointment_required")


def test_attempts_exhausted_close_the_lead(integration, floor, campaign):
    campaign.max_attempts = 2
    campaign.save()
    lease, (lead,) = leased(integration, floor, campaign)
    post(integration, item(lead, lease, "a-1"))
    lead.refresh_from_db()
    assert (lead.state, lead.attempts, lead.next_call_at) == (
        Lead.State.PENDING,
        1,
        NOW + dt.timedelta(minutes=2 + 120),  # ended + the no-answer code's retry delay
    )

    # The retry goes back through the queue and its hand-over check, under a new lease.
    later = lead.next_call_at
    again = lease_leads(integration=integration, floor=floor, size=1, now=later)
    assert [lead.pk for lead in again.leads] == [lead.pk]
    (status,) = post(
        integration,
        item(
            lead,
            again.lease,
            "a-2",
            started_at=later + dt.timedelta(minutes=1),
            ended_at=later + dt.timedelta(minutes=2),
        ),
        now=later + dt.timedelta(minutes=3),
    )

    assert status["status"] == "created"
    lead.refresh_from_db()
    assert (lead.state, lead.done_reason, lead.attempts) == (Lead.State.DONE, "attempts_exhausted", 2)


def test_one_result_per_lead_and_lease_a_redial_in_the_same_post_is_rejected(integration, floor, campaign):
    lease, (lead,) = leased(integration, floor, campaign)

    statuses = post(
        integration,
        item(lead, lease, "r-1", outcome="not-interested"),
        item(
            lead,
            lease,
            "r-2",
            started_at=NOW + dt.timedelta(minutes=2),
            ended_at=NOW + dt.timedelta(minutes=3),
        ),
    )

    assert [(s["status"], s["reason"]) for s in statuses] == [
        ("created", ""),
        ("rejected", "already_reported"),
    ]
    assert statuses[1]["detail"] == f"lead: lead {lead.pk} already has a result under this lease."
    lead.refresh_from_db()
    assert (lead.state, lead.done_reason, lead.attempts) == (Lead.State.DONE, "final_refusal", 1)


def test_a_later_post_cannot_reopen_a_lead_its_first_result_closed(integration, floor, campaign):
    lease, (lead,) = leased(integration, floor, campaign)
    post(integration, item(lead, lease, "c-1", outcome="not-interested"))

    (status,) = post(
        integration,
        item(
            lead,
            lease,
            "c-2",
            started_at=NOW + dt.timedelta(minutes=3),
            ended_at=NOW + dt.timedelta(minutes=4),
        ),
        now=NOW + dt.timedelta(minutes=5),
    )

    assert (status["status"], status["reason"]) == ("rejected", "already_reported")
    lead.refresh_from_db()
    assert (lead.state, lead.done_reason, lead.attempts) == (Lead.State.DONE, "final_refusal", 1)
    assert Attempt.objects.count() == 1


def test_a_result_for_a_lead_given_back_is_rejected(integration, floor, campaign):
    from campaigns.services.leases import release_lease

    lease, (kept, given_back) = leased(integration, floor, campaign, n=2)
    release_lease(integration=integration, lease_id=lease.pk, lead_ids=[given_back.pk], now=NOW)

    statuses = post(integration, item(kept, lease, "k-1"), item(given_back, lease, "g-1"))

    assert [(s["status"], s["reason"]) for s in statuses] == [("created", ""), ("rejected", "not_leased")]
    assert statuses[1]["detail"] == (
        f"lead: lead {given_back.pk} is no longer held by this lease (given back, or reported by an agent)."
    )
    given_back.refresh_from_db()
    assert (given_back.state, given_back.attempts, given_back.lease_id) == (Lead.State.PENDING, 0, None)


def test_a_late_result_is_taken_once_after_expiry(integration, floor, campaign):
    from campaigns.services.leases import expire_leases

    lease, (lead,) = leased(integration, floor, campaign)
    after = NOW + dt.timedelta(minutes=10)
    assert expire_leases(now=after) == 1

    first = post(integration, item(lead, lease, "late-1"), now=after)
    second = post(
        integration,
        item(
            lead,
            lease,
            "late-2",
            started_at=NOW + dt.timedelta(minutes=3),
            ended_at=NOW + dt.timedelta(minutes=4),
        ),
        now=after,
    )

    assert (first[0]["status"], second[0]["status"], second[0]["reason"]) == (
        "created",
        "rejected",
        "already_reported",
    )
    lead.refresh_from_db()
    assert lead.attempts == 1


@pytest.mark.parametrize(
    ("times", "detail"),
    [
        (
            {"started_at": NOW + dt.timedelta(minutes=20), "ended_at": NOW + dt.timedelta(minutes=21)},
            "started_at: 2026-11-23T10:50:00+01:00 is in the future.",
        ),
        (
            {"ended_at": dt.datetime(9999, 12, 31, 23, 0, tzinfo=dt.UTC)},
            "ended_at: 9999-12-31T23:00:00+00:00 is in the future.",
        ),
        (
            {"started_at": NOW - dt.timedelta(minutes=11), "ended_at": NOW},
            "started_at: 2026-11-23T10:19:00+01:00 is before the lease was handed out at "
            "2026-11-23T09:30:00+00:00.",
        ),
    ],
)
def test_call_times_outside_the_lease_and_the_clock_are_rejected_per_item(
    integration, floor, campaign, times, detail
):
    lease, (bad, good) = leased(integration, floor, campaign, n=2)

    statuses = post(integration, item(bad, lease, "t-1", **times), item(good, lease, "t-2"))

    assert [(s["status"], s["reason"], s["detail"]) for s in statuses] == [
        ("rejected", "bad_times", detail),
        ("created", "", ""),
    ]
    bad.refresh_from_db()
    assert (bad.state, bad.attempts) == (Lead.State.LEASED, 0)


def test_a_call_id_repeated_in_one_post_names_the_attempt_created(integration, floor, campaign):
    lease, (lead,) = leased(integration, floor, campaign)

    statuses = post(integration, item(lead, lease, "c-1"), item(lead, lease, "c-1"))

    attempt = Attempt.objects.get()
    assert [(s["status"], s["attempt"]) for s in statuses] == [
        ("created", attempt.pk),
        ("duplicate", attempt.pk),
    ]


def test_results_count_toward_frequency_caps(integration, floor, campaign):
    lease, (lead,) = leased(integration, floor, campaign)

    post(integration, item(lead, lease, "f-1", answered_at=NOW + dt.timedelta(minutes=1, seconds=5)))

    attempt = Attempt.objects.get()
    assert (attempt.advertiser_id, attempt.prospect_id, attempt.phone_number_id, attempt.started_at) == (
        campaign.advertiser_id,
        lead.prospect_id,
        lead.phone_number_id,
        NOW + dt.timedelta(minutes=1),
    )
    assert (attempt.integration_id, attempt.lease_id, attempt.floor_id) == (
        integration.pk,
        lease.pk,
        floor.pk,
    )
    assert Prospect.objects.get(pk=lead.prospect_id).last_contact_at == NOW + dt.timedelta(
        minutes=1, seconds=5
    )


def test_a_late_result_after_expiry_is_kept_unless_the_lead_was_leased_again(integration, floor, campaign):
    other = dialler(floor, name="other")[0]
    lease, (late, taken) = leased(integration, floor, campaign, n=2)
    after = NOW + dt.timedelta(minutes=10)
    # The lease expired; another dialler leased one of its leads again.
    release = lease_leads(integration=other, floor=floor, size=1, now=after)
    assert [lead.pk for lead in release.leads] == [late.pk]

    statuses = post(integration, item(late, lease, "late-1"), item(taken, lease, "late-2"), now=after)

    assert [(s["status"], s["reason"]) for s in statuses] == [("rejected", "not_leased"), ("created", "")]
    taken.refresh_from_db()
    assert (taken.state, taken.attempts) == (Lead.State.PENDING, 1)


def test_agent_logs_and_corrects_an_outcome(floor, campaign):
    agent = AgentFactory(floor=floor)
    lead = callable_lead(campaign=campaign, floor=floor)

    attempt = record_agent_outcome(agent=agent, lead=lead, outcome_code="not-interested", now=NOW)
    lead.refresh_from_db()
    assert (lead.state, lead.attempts, attempt.agent_code) == (Lead.State.DONE, 1, agent.code)

    corrected = record_agent_outcome(
        agent=agent,
        lead=lead,
        outcome_code="callback",
        attempt=attempt,
        callback_at=NOW + dt.timedelta(hours=3),
        now=NOW + dt.timedelta(minutes=1),
    )

    lead.refresh_from_db()
    assert corrected.pk == attempt.pk and corrected.outcome.code == "callback"
    assert corrected.corrected_at == NOW + dt.timedelta(minutes=1)
    assert (lead.state, lead.attempts, lead.callback_at) == (
        Lead.State.CALLBACK_DUE,
        1,
        NOW + dt.timedelta(hours=3),
    )
    assert Attempt.objects.count() == 1


def test_agent_do_not_call_suppresses_before_returning(floor, campaign):
    agent = AgentFactory(floor=floor)
    lead = callable_lead(campaign=campaign, floor=floor)

    record_agent_outcome(agent=agent, lead=lead, outcome_code="do-not-call", now=NOW)

    assert Suppression.objects.get().e164 == lead.phone_number.e164


def test_outcome_code_categories_are_the_rule_inputs():
    # The rule table is keyed on the model's categories; a renamed category must fail here.
    assert set(OutcomeCode.Category.values) >= {
        "success",
        "refusal",
        "do_not_call",
        "wrong_number",
        "callback",
    }


def test_payment_data_flag_is_kept_on_the_attempt_for_later_uploads(integration, floor, campaign):
    from campaigns.models import Attempt

    lease, (lead,) = leased(integration, floor, campaign)
    (status,) = post(integration, item(lead, lease, "c-pci", payment_data_spoken=True))
    assert status["status"] == "created"
    assert Attempt.objects.get(pk=status["attempt"]).payment_data_spoken is True
