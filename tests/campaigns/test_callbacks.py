"""Issue 6: callbacks: validation, reassignment, and the legal checks still applying at hand-over."""

import datetime as dt

import pytest

from campaigns.models import Lead
from campaigns.selectors.callbacks import due_callbacks
from campaigns.services.callbacks import CallbackError, reassign_callback, validate_callback
from campaigns.services.leases import lease_leads
from contacts.models import AuditEntry
from contacts.services.suppression import suppress_number
from tests.campaigns.leasing import NOW, PARIS, callable_lead, dialler, policies, running_campaign
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


def callback_lead(campaign, floor, at, **kw):
    return callable_lead(
        campaign=campaign, floor=floor, state=Lead.State.CALLBACK_DUE, callback_at=at, next_call_at=at, **kw
    )


@pytest.mark.parametrize(
    ("callback_at", "message"),
    [
        (None, "callback_at: this outcome asks for a callback time."),
        (dt.datetime(2026, 11, 24, 14, 0), "callback_at: give a time zone offset."),
        (NOW - dt.timedelta(minutes=1), "callback_at: must be after the call started."),
        (dt.datetime(2028, 1, 3, 10, 0, tzinfo=PARIS), "callback_at: the campaign ends on 2027-12-31."),
    ],
)
def test_callback_time_is_validated(campaign, callback_at, message):
    with pytest.raises(CallbackError) as exc:
        validate_callback(campaign=campaign, callback_at=callback_at, after=NOW)
    assert str(exc.value) == message


def test_reassign_to_an_agent_of_the_floor_only(floor, campaign):
    lead = callback_lead(campaign, floor, NOW)
    agent = AgentFactory(floor=floor)
    stranger = AgentFactory(floor=FloorFactory())

    assert reassign_callback(lead=lead, agent=agent, actor=None, now=NOW).callback_agent == agent
    with pytest.raises(CallbackError):
        reassign_callback(lead=lead, agent=stranger, actor=None, now=NOW)
    assert Lead.objects.get(pk=lead.pk).callback_agent == agent
    assert AuditEntry.objects.filter(action="campaigns.callback.reassigned").count() == 1


def test_a_callback_whose_number_was_suppressed_is_never_handed_out(floor, campaign):
    integration, _ = dialler(floor)
    lead = callback_lead(campaign, floor, NOW - dt.timedelta(minutes=10))
    suppress_number(
        e164=lead.phone_number.e164, reason="objection", actor=None, now=NOW - dt.timedelta(minutes=1)
    )

    outcome = lease_leads(integration=integration, floor=floor, size=5, now=NOW)

    assert outcome.lease is None
    assert outcome.refused == {"suppressed": 1}


def test_a_callback_on_saturday_waits_for_monday_in_the_callees_zone(floor, campaign):
    integration, _ = dialler(floor)
    saturday = dt.datetime(2026, 11, 28, 11, 0, tzinfo=PARIS)  # France: no calls on Saturdays
    lead = callback_lead(campaign, floor, saturday)

    assert lease_leads(integration=integration, floor=floor, size=5, now=saturday).lease is None

    lead.refresh_from_db()
    assert lead.next_call_at == dt.datetime(2026, 11, 30, 10, 0, tzinfo=PARIS)


def test_due_callbacks_excludes_other_agents_personal_ones_unless_floor_wide(floor, campaign):
    me, colleague = AgentFactory(floor=floor), AgentFactory(floor=floor)
    mine = callback_lead(campaign, floor, NOW, callback_agent=me)
    theirs = callback_lead(campaign, floor, NOW - dt.timedelta(minutes=1), callback_agent=colleague)
    later = callback_lead(campaign, floor, NOW + dt.timedelta(hours=1))

    assert list(due_callbacks(agent=me, at=NOW)) == [mine]
    assert list(due_callbacks(agent=me, at=NOW, scope="floor")) == [theirs, mine]
    assert list(due_callbacks(agent=me, at=NOW, until=NOW + dt.timedelta(hours=2))) == [mine, later]
