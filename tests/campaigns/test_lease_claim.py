"""Issue 6: on PostgreSQL the candidates are claimed in the statement that picks them and the ones
that fail the hand-over check are given back before commit. A lead held back must come out exactly
as it went in (state or its new held state, no lease, its previous last lease), and a request that
hands nothing out must leave no lease behind. The same assertions hold on SQLite (claim after the
check), so both paths are pinned."""

import datetime as dt
import uuid

import pytest

from campaigns.models import Lead, Lease
from campaigns.services.leases import lease_leads
from contacts.models import PhoneNumber
from contacts.services.suppression import suppress_number
from tests.campaigns.leasing import NOW, callable_lead, dialler, policies, running_campaign
from tests.factories import FloorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def setting(db):
    policies()
    floor = FloorFactory(code="dakar-1", time_zone="Africa/Dakar")
    return floor, running_campaign(), dialler(floor)[0]


def _previous_lease(integration, floor, lead) -> Lease:
    """A lease that held `lead` before and ended: the lead keeps it as its last lease."""
    old = Lease.objects.create(
        integration=integration,
        floor=floor,
        created_at=NOW - dt.timedelta(hours=3),
        expires_at=NOW - dt.timedelta(hours=2),
        released_at=NOW - dt.timedelta(hours=2),
        end_reason=Lease.EndReason.RELEASED,
        leased_count=1,
    )
    Lead.objects.filter(pk=lead.pk).update(last_lease=old)
    return old


def test_held_back_leads_keep_their_previous_lease_and_the_others_are_claimed(setting):
    floor, campaign, integration = setting
    passing = callable_lead(campaign=campaign, floor=floor, priority=9)
    objected = callable_lead(campaign=campaign, floor=floor, priority=5)
    no_consent = callable_lead(campaign=campaign, floor=floor, priority=5, consent=False)
    callback = callable_lead(
        campaign=campaign,
        floor=floor,
        state=Lead.State.CALLBACK_DUE,
        callback_at=NOW - dt.timedelta(minutes=5),
        next_call_at=NOW - dt.timedelta(minutes=5),
        consent=False,
    )
    previous = {lead.pk: _previous_lease(integration, floor, lead) for lead in (objected, callback)}
    suppress_number(
        e164=objected.phone_number.e164, reason="objection", actor=None, now=NOW - dt.timedelta(seconds=1)
    )

    outcome = lease_leads(integration=integration, floor=floor, size=10, now=NOW)

    assert [lead.pk for lead in outcome.leads] == [passing.pk]
    assert outcome.lease.leased_count == 1
    assert outcome.refused == {"suppressed": 1, "no_consent": 2}
    rows = {
        row[0]: row[1:]
        for row in Lead.objects.values_list("pk", "state", "lease_id", "last_lease_id", "done_reason")
    }
    assert rows == {
        passing.pk: (Lead.State.LEASED, outcome.lease.pk, outcome.lease.pk, ""),
        objected.pk: (Lead.State.SUPPRESSED, None, previous[objected.pk].pk, "suppressed"),
        no_consent.pk: (Lead.State.SUPPRESSED, None, None, "no_consent"),
        callback.pk: (Lead.State.SUPPRESSED, None, previous[callback.pk].pk, "no_consent"),
    }


def test_a_request_that_hands_nothing_out_leaves_no_lease_and_no_claimed_lead(setting):
    floor, campaign, integration = setting
    # Outside the French window (22:00 in Paris): every candidate is held for the next opening.
    late = NOW.replace(hour=22)
    leads = [callable_lead(campaign=campaign, floor=floor) for _ in range(3)]
    previous = _previous_lease(integration, floor, leads[0])

    outcome = lease_leads(integration=integration, floor=floor, size=10, now=late)

    assert outcome.lease is None and outcome.leads == []
    assert outcome.refused == {"outside_hours": 3}
    assert Lease.objects.count() == 1  # only the earlier one
    assert set(Lead.objects.values_list("state", "lease_id")) == {(Lead.State.PENDING, None)}
    assert list(Lead.objects.order_by("pk").values_list("last_lease_id", flat=True)) == [
        previous.pk,
        None,
        None,
    ]
    next_at = set(Lead.objects.values_list("next_call_at", flat=True))
    assert len(next_at) == 1 and next_at.pop() > late
    # The same leads are handed out once the window opens again (nothing stayed claimed).
    again = lease_leads(integration=integration, floor=floor, size=10, now=outcome.refused_next_at)
    assert sorted(lead.pk for lead in again.leads) == sorted(lead.pk for lead in leads)


def test_handed_out_leads_are_ordinary_instances_with_the_unread_columns_deferred(setting):
    floor, campaign, integration = setting
    lead = callable_lead(campaign=campaign, floor=floor)

    (handed,) = lease_leads(integration=integration, floor=floor, size=10, now=NOW).leads

    stored = Lead.objects.select_related("prospect", "phone_number").get(pk=lead.pk)
    assert handed == stored and handed._state.adding is False and handed._state.db == "default"
    assert handed.get_deferred_fields() == {"created_at", "updated_at"}
    for name in ("campaign_id", "prospect_id", "phone_number_id", "floor_id", "priority", "attempts"):
        assert getattr(handed, name) == getattr(stored, name), name
    assert (handed.state, handed.lease_id, handed.last_lease_id) == (
        Lead.State.LEASED,
        stored.lease_id,
        stored.last_lease_id,
    )
    assert (handed.prospect.pk, handed.prospect.first_name, handed.prospect.country) == (
        stored.prospect.pk,
        stored.prospect.first_name,
        "FR",
    )
    assert (handed.phone_number.e164, handed.phone_number.time_zone_candidates) == (
        stored.phone_number.e164,
        stored.phone_number.time_zone_candidates,
    )
    # A column not read is loaded on access, as with .only().
    assert handed.created_at == stored.created_at
    assert handed.prospect.email == stored.prospect.email


def test_leads_sharing_a_zone_list_each_get_their_own_copy(setting):
    floor, campaign, integration = setting
    zones = ["Europe/Paris", "Europe/Monaco"]  # a number whose zone is not certain
    for _ in range(3):
        lead = callable_lead(campaign=campaign, floor=floor)
        PhoneNumber.objects.filter(pk=lead.phone_number_id).update(time_zone_candidates=zones)
    other = callable_lead(campaign=campaign, floor=floor)

    outcome = lease_leads(integration=integration, floor=floor, size=10, now=NOW)

    lists = {lead.pk: lead.phone_number.time_zone_candidates for lead in outcome.leads}
    assert len(lists) == 4
    assert lists.pop(other.pk) == other.phone_number.time_zone_candidates
    assert list(lists.values()) == [zones, zones, zones]
    assert all(type(value) is list for value in lists.values())
    first, second, third = lists.values()
    first.append("UTC")  # one instance's list changed: the others are not
    assert (second, third) == (zones, zones) and first is not second and second is not third


def test_lookups_by_lease_and_by_callback_agent_use_the_partial_indexes():
    """The two references are indexed only where set (a lease writes no entry for a NULL callback
    agent): the lookups by value must still find their index, on both backends."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # the test tables are tiny: a scan would win otherwise
            cursor.execute("SET LOCAL enable_seqscan = off")
    lease_plan = Lead.objects.filter(lease_id=uuid.uuid4()).explain()
    agent_plan = Lead.objects.filter(callback_agent_id=1).explain()
    assert "lead_lease_idx" in lease_plan, lease_plan
    assert "lead_callback_agent_idx" in agent_plan, agent_plan
