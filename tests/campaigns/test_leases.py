"""Issue 6: leasing with the real callability decision at hand-over (DOMAIN.md promises 1, 2, 8)."""

import datetime as dt

import pytest
import time_machine

from campaigns.models import Campaign, Lead, Lease
from campaigns.selectors.queue import explain_empty_queue
from campaigns.services.leases import (
    LeaseClosed,
    LeaseError,
    LeaseForbidden,
    expire_leases,
    extend_lease,
    lease_leads,
    release_lease,
)
from campaigns.tasks.leases import expire_leases_task
from contacts.models import AuditEntry
from contacts.services.suppression import suppress_number
from tests.campaigns.leasing import NOW, PARIS, callable_lead, dialler, policies, running_campaign
from tests.factories import FloorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _policies(db):
    policies()


@pytest.fixture
def floor():
    return FloorFactory(code="dakar-1", time_zone="Africa/Dakar")


@pytest.fixture
def campaign():
    return running_campaign()


def lease(integration, floor, size=10, now=NOW, **kw):
    return lease_leads(integration=integration, floor=floor, size=size, now=now, **kw)


def test_hand_over_order_is_due_callbacks_then_priority_then_longest_waiting(floor, campaign):
    integration, _ = dialler(floor)
    fresh = callable_lead(campaign=campaign, floor=floor, priority=5)
    waited_long = callable_lead(
        campaign=campaign, floor=floor, priority=5, next_call_at=NOW - dt.timedelta(days=2)
    )
    waited_less = callable_lead(
        campaign=campaign, floor=floor, priority=5, next_call_at=NOW - dt.timedelta(hours=1)
    )
    urgent = callable_lead(
        campaign=campaign, floor=floor, priority=9, next_call_at=NOW - dt.timedelta(minutes=1)
    )
    callback = callable_lead(
        campaign=campaign,
        floor=floor,
        priority=1,
        state=Lead.State.CALLBACK_DUE,
        callback_at=NOW - dt.timedelta(minutes=5),
        next_call_at=NOW - dt.timedelta(minutes=5),
    )
    later_callback = callable_lead(
        campaign=campaign,
        floor=floor,
        state=Lead.State.CALLBACK_DUE,
        callback_at=NOW + dt.timedelta(hours=1),
        next_call_at=NOW + dt.timedelta(hours=1),
    )

    outcome = lease(integration, floor, size=10)

    assert [lead.pk for lead in outcome.leads] == [
        callback.pk,
        urgent.pk,
        fresh.pk,
        waited_long.pk,
        waited_less.pk,
    ]
    assert outcome.lease.leased_count == 5
    assert outcome.lease.expires_at == NOW + dt.timedelta(minutes=5)
    later_callback.refresh_from_db()
    assert later_callback.state == Lead.State.CALLBACK_DUE and later_callback.lease_id is None
    assert set(Lead.objects.filter(lease=outcome.lease).values_list("state", flat=True)) == {
        Lead.State.LEASED
    }


def test_only_running_campaigns_are_handed_out(floor, campaign):
    integration, _ = dialler(floor)
    paused = running_campaign(status=Campaign.Status.PAUSED)
    callable_lead(campaign=paused, floor=floor)
    mine = callable_lead(campaign=campaign, floor=floor)

    assert [lead.pk for lead in lease(integration, floor).leads] == [mine.pk]
    assert lease(integration, floor, campaign=paused).lease is None


def test_a_number_suppressed_after_the_list_was_built_is_never_handed_out(floor, campaign):
    integration, _ = dialler(floor)
    objected = callable_lead(campaign=campaign, floor=floor)
    other = callable_lead(campaign=campaign, floor=floor)
    # A second before the hand-over, the callee objects on another channel.
    suppress_number(
        e164=objected.phone_number.e164, reason="objection", actor=None, now=NOW - dt.timedelta(seconds=1)
    )

    outcome = lease(integration, floor)

    assert [lead.pk for lead in outcome.leads] == [other.pk]
    assert outcome.refused == {"suppressed": 1}
    objected.refresh_from_db()
    assert (objected.state, objected.done_reason, objected.lease_id) == (
        Lead.State.SUPPRESSED,
        "suppressed",
        None,
    )


def test_a_callback_due_at_13_30_in_paris_waits_until_14_00(floor, campaign):
    integration, _ = dialler(floor)
    at_1330 = dt.datetime(2026, 11, 23, 13, 30, tzinfo=PARIS)
    at_1400 = dt.datetime(2026, 11, 23, 14, 0, tzinfo=PARIS)
    callback = callable_lead(
        campaign=campaign,
        floor=floor,
        state=Lead.State.CALLBACK_DUE,
        callback_at=at_1330,
        next_call_at=at_1330,
    )

    held = lease(integration, floor, now=at_1330)

    assert held.lease is None
    assert held.refused == {"outside_hours": 1}
    callback.refresh_from_db()
    assert (callback.state, callback.next_call_at) == (Lead.State.CALLBACK_DUE, at_1400)
    empty = explain_empty_queue(
        floor=floor, at=at_1330, refused=held.refused, refused_next_at=held.refused_next_at
    )
    assert empty["reason"] == "held_at_handover"
    assert empty["next_callable_at"] == at_1400
    assert empty["counts"]["checked:outside_hours"] == 1

    assert lease(integration, floor, now=at_1400 - dt.timedelta(seconds=1)).lease is None
    handed = lease(integration, floor, now=at_1400)
    assert [lead.pk for lead in handed.leads] == [callback.pk]


def test_frequency_cap_holds_a_lead_back_with_its_reason(floor, campaign):
    from campaigns.models import Attempt

    integration, _ = dialler(floor)
    capped = callable_lead(campaign=campaign, floor=floor)
    outcome = campaign.outcome_codes.get(code="no-answer")
    for days in (1, 2, 3, 4):  # FR: at most 4 calls or attempts per 30 days per advertiser
        Attempt.objects.create(
            campaign=campaign,
            advertiser=campaign.advertiser,
            prospect=capped.prospect,
            phone_number=capped.phone_number,
            outcome=outcome,
            started_at=NOW - dt.timedelta(days=days),
        )

    result = lease(integration, floor)

    assert result.lease is None
    assert result.refused == {"frequency_cap": 1}
    capped.refresh_from_db()
    assert capped.state == Lead.State.PENDING
    # Out of the queue until the cap releases (or, when the decision gives no instant, for the
    # re-check delay): never re-checked by every request.
    assert capped.next_call_at >= NOW + dt.timedelta(minutes=15)
    assert lease(integration, floor, now=NOW + dt.timedelta(minutes=1)).refused == {}


def test_a_dialler_never_sees_another_floors_leads(floor, campaign):
    other_floor = FloorFactory(code="lyon-1")
    integration, _ = dialler(floor)
    callable_lead(campaign=campaign, floor=other_floor)

    assert lease(integration, floor).lease is None
    with pytest.raises(LeaseForbidden):
        lease(integration, other_floor)
    assert Lead.objects.filter(state=Lead.State.LEASED).count() == 0


@pytest.mark.parametrize(
    ("size", "ttl"), [(0, None), (501, None), (10, dt.timedelta(seconds=29)), (10, dt.timedelta(minutes=31))]
)
def test_size_and_ttl_are_bounded(floor, size, ttl):
    integration, _ = dialler(floor)
    with pytest.raises(LeaseError):
        lease(integration, floor, size=size, ttl=ttl)


def test_every_pull_is_audited_with_its_count(floor, campaign):
    integration, _ = dialler(floor)
    leads = [callable_lead(campaign=campaign, floor=floor) for _ in range(3)]

    outcome = lease(integration, floor, size=2, actor=integration.user)

    entry = AuditEntry.objects.get(action="campaigns.leads.leased")
    assert entry.actor_label == "dialler:dialler-dakar-1"
    assert entry.target_id == str(outcome.lease.pk)
    assert entry.details["count"] == 2
    assert entry.details["lead_ids"] == [leads[0].pk, leads[1].pk]


def test_an_expired_lease_returns_its_leads_at_the_next_request(floor, campaign):
    first, _ = dialler(floor, name="first")
    second, _ = dialler(floor, name="second")
    lead = callable_lead(campaign=campaign, floor=floor)
    callback = callable_lead(
        campaign=campaign,
        floor=floor,
        state=Lead.State.CALLBACK_DUE,
        callback_at=NOW - dt.timedelta(minutes=1),
        next_call_at=NOW - dt.timedelta(minutes=1),
    )
    held = lease(first, floor, ttl=dt.timedelta(seconds=60))
    assert len(held.leads) == 2
    assert lease(second, floor, now=NOW + dt.timedelta(seconds=59)).lease is None

    again = lease(second, floor, now=NOW + dt.timedelta(seconds=60))

    assert [x.pk for x in again.leads] == [callback.pk, lead.pk]
    old = Lease.objects.get(pk=held.lease.pk)
    assert (old.released_at, old.end_reason) == (NOW + dt.timedelta(seconds=60), "expired")
    assert AuditEntry.objects.filter(action="campaigns.leases.expired").count() == 1


def test_beat_task_expires_leases_and_restores_callback_state(floor, campaign):
    integration, _ = dialler(floor)
    callback = callable_lead(
        campaign=campaign,
        floor=floor,
        state=Lead.State.CALLBACK_DUE,
        callback_at=NOW - dt.timedelta(minutes=1),
        next_call_at=NOW - dt.timedelta(minutes=1),
    )
    plain = callable_lead(campaign=campaign, floor=floor)
    lease(integration, floor, ttl=dt.timedelta(seconds=30))

    with time_machine.travel(NOW + dt.timedelta(seconds=31), tick=False):
        assert expire_leases_task.delay().get() == 2
        assert expire_leases_task.delay().get() == 0  # idempotent

    callback.refresh_from_db()
    plain.refresh_from_db()
    assert (callback.state, callback.lease_id) == (Lead.State.CALLBACK_DUE, None)
    assert (plain.state, plain.lease_id) == (Lead.State.PENDING, None)


def test_release_some_leads_then_the_whole_lease(floor, campaign):
    integration, _ = dialler(floor)
    leads = [callable_lead(campaign=campaign, floor=floor) for _ in range(3)]
    held = lease(integration, floor)

    assert (
        release_lease(integration=integration, lease_id=held.lease.pk, lead_ids=[leads[0].pk], now=NOW) == 1
    )
    assert Lead.objects.get(pk=leads[0].pk).state == Lead.State.PENDING
    assert Lease.objects.get(pk=held.lease.pk).released_at is None

    assert release_lease(integration=integration, lease_id=held.lease.pk, now=NOW) == 2
    ended = Lease.objects.get(pk=held.lease.pk)
    assert (ended.released_at, ended.end_reason) == (NOW, "released")
    assert Lead.objects.filter(state=Lead.State.PENDING, lease__isnull=True).count() == 3
    with pytest.raises(LeaseClosed):
        release_lease(integration=integration, lease_id=held.lease.pk, now=NOW)


def test_extend_keeps_a_lease_alive_but_cannot_revive_an_expired_one(floor, campaign):
    integration, _ = dialler(floor)
    other, _ = dialler(floor, name="other")
    callable_lead(campaign=campaign, floor=floor)
    held = lease(integration, floor, ttl=dt.timedelta(seconds=60))

    later = NOW + dt.timedelta(seconds=50)
    extended = extend_lease(
        integration=integration, lease_id=held.lease.pk, now=later, ttl=dt.timedelta(minutes=2)
    )
    assert extended.expires_at == later + dt.timedelta(minutes=2)
    assert expire_leases(now=NOW + dt.timedelta(seconds=61)) == 0
    with pytest.raises(LeaseError):
        extend_lease(integration=other, lease_id=held.lease.pk, now=later)  # not its lease

    with pytest.raises(LeaseClosed):
        extend_lease(integration=integration, lease_id=held.lease.pk, now=later + dt.timedelta(minutes=3))


def _explain(floor):
    """The explanation, checked to be the same whether the running campaigns are read with the leads
    or given by the caller (as a lease request does, from its configuration)."""
    joined = explain_empty_queue(floor=floor, at=NOW)
    running = list(Campaign.objects.filter(status=Campaign.Status.RUNNING).values_list("pk", flat=True))
    assert explain_empty_queue(floor=floor, at=NOW, running_campaign_ids=running) == joined
    return joined


def test_empty_queue_explanations(floor, campaign):
    integration, _ = dialler(floor)
    # Nothing at all.
    assert _explain(floor)["reason"] == "nothing_pending"
    # A paused campaign's leads.
    paused = running_campaign(status=Campaign.Status.PAUSED)
    callable_lead(campaign=paused, floor=floor)
    assert _explain(floor)["reason"] == "no_running_campaign"
    # A retry not due yet: when it is.
    retry_at = NOW + dt.timedelta(hours=2)
    callable_lead(campaign=campaign, floor=floor, next_call_at=retry_at)
    explained = _explain(floor)
    assert explained["reason"] == "not_due_yet"
    assert explained["next_callable_at"] == retry_at
    assert explained["counts"] == {
        "no_running_campaign": 1,
        "all_leased": 0,
        "not_due_yet": 1,
        "done": 0,
        "suppressed_leads": 0,
    }
    # Everything callable is leased: next chance when the lease expires.
    callable_lead(campaign=campaign, floor=floor)
    held = lease(integration, floor)
    explained = _explain(floor)
    assert explained["reason"] == "all_leased"
    assert explained["counts"]["all_leased"] == 1
    assert explained["next_callable_at"] == min(retry_at, held.lease.expires_at)


def test_with_no_campaign_running_every_waiting_lead_counts_as_such(floor, campaign):
    callable_lead(campaign=campaign, floor=floor)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.PAUSED)
    explained = _explain(floor)  # the caller's list of running campaigns is empty
    assert (explained["reason"], explained["counts"]["no_running_campaign"]) == ("no_running_campaign", 1)


def test_a_lead_without_consent_leaves_the_queue_with_its_reason(floor, campaign):
    integration, _ = dialler(floor)
    no_consent = callable_lead(campaign=campaign, floor=floor, consent=False)

    outcome = lease(integration, floor)

    assert outcome.lease is None
    assert outcome.refused == {"no_consent": 1}
    no_consent.refresh_from_db()
    assert (no_consent.state, no_consent.done_reason) == (Lead.State.SUPPRESSED, "no_consent")


def test_a_stale_register_holds_the_lead_for_a_recheck_instead_of_suppressing_it(floor):
    from campaigns.services.leases import RECHECK_DELAY
    from tests.factories import LeadFactory, PhoneNumberFactory, ProspectFactory

    floor.callee_countries, floor.languages = ["BE"], ["fr"]
    floor.save()
    campaign = running_campaign(countries=["BE"], languages=["fr"])
    prospect = ProspectFactory(country="BE", language="fr", city="Liège", postcode="4000")
    number = PhoneNumberFactory(
        prospect=prospect,
        e164="+32470123456",
        region="BE",
        time_zone="Europe/Brussels",
        time_zone_candidates=["Europe/Brussels"],
    )
    lead = LeadFactory(campaign=campaign, floor=floor, phone_number=number, prospect=prospect)
    integration, _ = dialler(floor)

    # No DNCM snapshot was ever imported: the Belgian register is stale, which an operator fixes
    # by importing a fresh file, so the lead must still be there afterwards.
    outcome = lease(integration, floor)

    assert outcome.leads == []
    assert outcome.refused == {"register_stale": 1}
    lead.refresh_from_db()
    assert (lead.state, lead.done_reason, lead.next_call_at) == (Lead.State.PENDING, "", NOW + RECHECK_DELAY)


def test_a_slow_count_of_an_idle_floor_is_reused_for_a_few_seconds_only(
    floor, campaign, settings, monkeypatch
):
    """Diallers poll an idle floor; each empty answer counts every lead of it. A count slower than
    SLOW_COUNT_SECONDS is reused, for that floor and question, for EMPTY_QUEUE_REUSE_SECONDS of both
    the clock and the instant asked about; a quick one never is."""
    from campaigns.selectors import queue

    clock = [1000.0]
    monkeypatch.setattr(queue.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(queue, "_COUNTS", {})
    settings.EMPTY_QUEUE_REUSE_SECONDS = 5
    retry_at = NOW + dt.timedelta(hours=2)
    callable_lead(campaign=campaign, floor=floor, next_call_at=retry_at)

    def not_due_yet(at=NOW, **kwargs):
        return explain_empty_queue(floor=floor, at=at, **kwargs)["counts"]["not_due_yet"]

    # Quick counts (the real threshold, a frozen clock): always exact.
    assert not_due_yet() == 1
    callable_lead(campaign=campaign, floor=floor, next_call_at=retry_at)
    assert not_due_yet() == 2
    assert queue._COUNTS == {}

    monkeypatch.setattr(queue, "SLOW_COUNT_SECONDS", 0)  # every count is "slow" from here
    assert not_due_yet() == 2
    callable_lead(campaign=campaign, floor=floor, next_call_at=retry_at)
    clock[0] += 4.9
    assert not_due_yet(at=NOW + dt.timedelta(seconds=4)) == 2  # reused: 4.9 s old, for 4 s later
    assert not_due_yet(campaign=campaign) == 3  # another question: counted
    assert not_due_yet(at=NOW - dt.timedelta(seconds=1)) == 3  # an earlier instant: counted anew
    clock[0] += 4
    callable_lead(campaign=campaign, floor=floor, next_call_at=retry_at)
    assert not_due_yet() == 3  # the count of the line above: 4 s old, for 1 s earlier
    clock[0] += 1.1
    assert not_due_yet() == 4  # 5.1 s old: counted anew

    settings.EMPTY_QUEUE_REUSE_SECONDS = 0
    callable_lead(campaign=campaign, floor=floor, next_call_at=retry_at)
    assert not_due_yet() == 5
