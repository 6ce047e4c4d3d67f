"""Issue 6 over HTTP for agents: log or correct an outcome on their own floor, due callbacks,
a lead's contact history across campaigns."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from campaigns.models import Attempt, Lead
from contacts.models import Suppression
from tests.campaigns.leasing import NOW, callable_lead, dialler, running_campaign, token_client
from tests.factories import AgentFactory, FloorFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lease_clock")]


@pytest.fixture
def floor():
    return FloorFactory(code="lyon-1")


@pytest.fixture
def campaign():
    return running_campaign(name="Model E test drives")


@pytest.fixture
def agent(floor):
    return AgentFactory(floor=floor, code="AG-1")


def client_for(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


def outcome_url(lead):
    return f"/api/v1/agent/leads/{lead.pk}/outcome/"


def test_agent_logs_a_personal_callback(agent, floor, campaign):
    lead = callable_lead(campaign=campaign, floor=floor)
    payload = {"outcome": "callback", "callback_at": "2026-11-24T14:30:00+01:00", "callback_personal": True}

    response = client_for(agent.user).post(outcome_url(lead), payload, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["lead"] == {
        "id": lead.pk,
        "state": "callback_due",
        "done_reason": "",
        "attempts": 1,
        "next_call_at": "2026-11-24T13:30:00Z",
        "callback_at": "2026-11-24T13:30:00Z",
    }
    assert (body["attempt"]["outcome"], body["attempt"]["agent_code"]) == ("callback", "AG-1")
    lead.refresh_from_db()
    assert lead.callback_agent == agent


def test_agent_of_another_floor_gets_404_and_nothing_changes(floor, campaign):
    outsider = AgentFactory(floor=FloorFactory(code="dakar-1"))
    lead = callable_lead(campaign=campaign, floor=floor)

    response = client_for(outsider.user).post(outcome_url(lead), {"outcome": "not-interested"}, format="json")
    history = client_for(outsider.user).get(f"/api/v1/agent/leads/{lead.pk}/history/")

    assert (response.status_code, history.status_code) == (404, 404)
    assert Attempt.objects.count() == 0
    lead.refresh_from_db()
    assert (lead.state, lead.attempts) == (Lead.State.PENDING, 0)


def test_agent_corrects_an_outcome_and_bad_input_is_400(agent, floor, campaign):
    lead = callable_lead(campaign=campaign, floor=floor)
    api = client_for(agent.user)
    attempt_id = api.post(outcome_url(lead), {"outcome": "not-interested"}, format="json").json()["attempt"][
        "id"
    ]

    corrected = api.post(outcome_url(lead), {"outcome": "no-answer", "attempt": attempt_id}, format="json")
    assert corrected.status_code == 200
    assert corrected.json()["lead"]["state"] == "pending"
    assert corrected.json()["attempt"]["corrected_at"] == "2026-11-23T09:30:00Z"

    unknown = api.post(outcome_url(lead), {"outcome": "no-such"}, format="json")
    assert unknown.status_code == 400
    assert list(unknown.json()) == ["outcome"]
    no_time = api.post(outcome_url(lead), {"outcome": "callback"}, format="json")
    assert (no_time.status_code, list(no_time.json())) == (400, ["callback_at"])
    assert Attempt.objects.count() == 1


def test_agent_do_not_call_is_suppressed_when_the_response_arrives(agent, floor, campaign):
    lead = callable_lead(campaign=campaign, floor=floor)

    response = client_for(agent.user).post(outcome_url(lead), {"outcome": "do-not-call"}, format="json")

    assert response.status_code == 201
    assert Suppression.objects.filter(e164=lead.phone_number.e164, reason="do_not_call").count() == 1


def test_due_callbacks_mine_and_floor(agent, floor, campaign, django_assert_max_num_queries):
    colleague = AgentFactory(floor=floor, code="AG-2")
    mine = callable_lead(
        campaign=campaign, floor=floor, state=Lead.State.CALLBACK_DUE, callback_at=NOW, callback_agent=agent
    )
    shared = callable_lead(
        campaign=campaign,
        floor=floor,
        state=Lead.State.CALLBACK_DUE,
        callback_at=NOW - dt.timedelta(minutes=5),
    )
    theirs = callable_lead(
        campaign=campaign,
        floor=floor,
        state=Lead.State.CALLBACK_DUE,
        callback_at=NOW,
        callback_agent=colleague,
    )
    callable_lead(
        campaign=campaign, floor=floor, state=Lead.State.CALLBACK_DUE, callback_at=NOW + dt.timedelta(hours=2)
    )
    callable_lead(campaign=campaign, floor=FloorFactory(), state=Lead.State.CALLBACK_DUE, callback_at=NOW)
    api = client_for(agent.user)

    # The agent, the callbacks, then the hand-over decision for the one campaign listed
    # (suppressions, consents, attempts): bounded, whatever the number of callbacks.
    with django_assert_max_num_queries(8):
        body = api.get("/api/v1/agent/callbacks/").json()
    assert [row["lead"] for row in body] == [shared.pk, mine.pk]
    assert body[1]["agent_code"] == "AG-1"
    assert [(row["callable"], row["e164"]) for row in body] == [
        (True, shared.phone_number.e164),
        (True, mine.phone_number.e164),
    ]
    floor_wide = api.get("/api/v1/agent/callbacks/?scope=floor").json()
    assert [row["lead"] for row in floor_wide] == [shared.pk, mine.pk, theirs.pk]
    assert api.get("/api/v1/agent/callbacks/?scope=all").status_code == 400


def test_history_spans_campaigns_and_hides_other_floors_agents(agent, floor, campaign):
    lead = callable_lead(campaign=campaign, floor=floor)
    older = running_campaign(name="Spring offer", advertiser=campaign.advertiser)
    other_floor = FloorFactory(code="porto-1")
    Attempt.objects.create(
        campaign=older,
        advertiser=older.advertiser,
        prospect=lead.prospect,
        phone_number=lead.phone_number,
        floor=other_floor,
        agent_code="AG-OTHER",
        outcome=older.outcome_codes.get(code="not-interested"),
        started_at=NOW - dt.timedelta(days=200),
        note="Already has a car",
    )
    api = client_for(agent.user)
    api.post(outcome_url(lead), {"outcome": "no-answer"}, format="json")

    body = api.get(f"/api/v1/agent/leads/{lead.pk}/history/").json()

    assert [(r["campaign"], r["outcome"], r["floor"], r["agent_code"]) for r in body] == [
        ("Model E test drives", "no-answer", "lyon-1", "AG-1"),
        ("Spring offer", "not-interested", "porto-1", ""),
    ]
    assert body[1]["note"] == "Already has a car"


def test_dialler_and_people_without_an_agent_profile_are_refused(floor, campaign):
    lead = callable_lead(campaign=campaign, floor=floor)
    _, token = dialler(floor)
    machine = token_client(token)
    nobody = client_for(UserFactory(roles=["agent"]))

    assert machine.post(outcome_url(lead), {"outcome": "no-answer"}, format="json").status_code == 403
    assert nobody.post(outcome_url(lead), {"outcome": "no-answer"}, format="json").status_code == 403
    assert nobody.get("/api/v1/agent/callbacks/").status_code == 403
    assert Attempt.objects.count() == 0
