"""Issue 6: inputs that once gave a 500 or lost a whole batch (found by an independent review).

Each bad value is rejected on its own, naming its field, and the valid items of the same post are
recorded; nothing answers 500, on SQLite or PostgreSQL."""

import datetime as dt

import pytest
import time_machine
from rest_framework.test import APIClient

from campaigns.models import Attempt, Lead
from contacts.services.suppression import suppress_number
from tests.campaigns.leasing import NOW, callable_lead, dialler, running_campaign, token_client
from tests.factories import AgentFactory, FloorFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lease_clock")]
LEASES = "/api/v1/dialler/leases/"
RESULTS = "/api/v1/dialler/results/"
CALLBACKS = "/api/v1/agent/callbacks/"


@pytest.fixture
def floor():
    return FloorFactory(code="lyon-1")


@pytest.fixture
def campaign():
    return running_campaign(name="Model E test drives")


@pytest.fixture
def client(floor):
    _, token = dialler(floor)
    return token_client(token)


@pytest.fixture
def agent(floor):
    return AgentFactory(floor=floor, code="AG-1")


def as_user(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


def lease_two(client, campaign, floor):
    leads = [callable_lead(campaign=campaign, floor=floor) for _ in range(2)]
    body = client.post(LEASES, {"size": 2}, format="json").json()
    assert body["count"] == 2
    return body["lease"], sorted(leads, key=lambda lead: lead.pk)


def result(lead_id, lease, call_id, **kw):
    return {
        "call_id": call_id,
        "lead": lead_id,
        "lease": lease,
        "started_at": "2026-11-23T09:31:00Z",
        "ended_at": "2026-11-23T09:32:00Z",
        "outcome": "no-answer",
        **kw,
    }


@pytest.mark.parametrize(
    ("bad", "field", "message"),
    [
        ({"started_at": "2026-02-30T10:00:00Z"}, "started_at", "Not a valid date and time."),
        ({"started_at": "2026-11-23T10:00:00+25:00"}, "started_at", "Not a valid date and time."),
        ({"ended_at": "9999-12-31T23:59:59-01:00"}, "ended_at", "Not a valid date and time."),
        ({"started_at": "0001-01-01T00:30:00+01:00"}, "started_at", "Not a valid date and time."),
        ({"note": "one\x00two"}, "note", "Null characters are not allowed."),
        ({"call_id": "c\x00"}, "call_id", "Null characters are not allowed."),
        ({"agent_code": "A\x00"}, "agent_code", "Null characters are not allowed."),
        ({"lead": 10**30}, "lead", "Must be between 1 and 9223372036854775807."),
        ({"notice": 10**30}, "notice", "Must be between 1 and 9223372036854775807."),
        ({"lead": 0}, "lead", "Must be between 1 and 9223372036854775807."),
        (
            {"recording": {"uri": "https://rec.example.com/1.wav", "size_bytes": 10**30}},
            "recording",
            "size_bytes: Ensure this value is less than or equal to 9223372036854775807.",
        ),
        (
            {"recording": {"uri": "https://rec.example.com/1.wav", "duration_seconds": 10**12}},
            "recording",
            "duration_seconds: Ensure this value is less than or equal to 2147483647.",
        ),
    ],
)
def test_a_bad_value_rejects_its_item_only(client, campaign, floor, bad, field, message):
    lease, (first, second) = lease_two(client, campaign, floor)
    items = [{**result(first.pk, lease, "bad"), **bad}, result(second.pk, lease, "good")]

    response = client.post(RESULTS, {"results": items}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert [(r["status"], r["reason"]) for r in body["results"]] == [("rejected", "invalid"), ("created", "")]
    assert body["results"][0]["detail"] == f"{field}: {message}"
    assert list(Attempt.objects.values_list("call_id", flat=True)) == ["good"]


def test_a_number_past_a_float_rejects_its_item_only(client, campaign, floor):
    # 1e999 decodes to infinity; the envelope's JSONField re-encoded each item and refused the batch.
    import json

    lease, (first, second) = lease_two(client, campaign, floor)
    items = [result(first.pk, lease, "bad"), result(second.pk, lease, "good")]
    body = json.dumps({"results": items}).replace(f'"lead": {first.pk},', '"lead": 1e999,', 1)

    response = client.post(RESULTS, body, content_type="application/json")

    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [(r["status"], r["reason"], r["detail"]) for r in results] == [
        ("rejected", "invalid", "lead: A valid integer is required."),
        ("created", "", ""),
    ]


def test_a_far_future_end_is_rejected_not_overflowed(client, campaign, floor):
    lease, (first, second) = lease_two(client, campaign, floor)
    items = [
        result(first.pk, lease, "far", ended_at="9999-12-31T23:00:00Z"),
        result(second.pk, lease, "good"),
    ]

    body = client.post(RESULTS, {"results": items}, format="json").json()

    assert [(r["status"], r["reason"], r["detail"]) for r in body["results"]] == [
        ("rejected", "bad_times", "ended_at: 9999-12-31T23:00:00+00:00 is in the future."),
        ("created", "", ""),
    ]
    first.refresh_from_db()
    assert (first.state, first.attempts) == (Lead.State.LEASED, 0)


def test_release_refuses_an_id_beyond_the_database_range(client, campaign, floor):
    lease, _ = lease_two(client, campaign, floor)

    response = client.post(f"{LEASES}{lease}/release/", {"leads": [10**30]}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "leads": {"0": ["Ensure this value is less than or equal to 9223372036854775807."]}
    }
    assert Lead.objects.filter(state=Lead.State.LEASED).count() == 2


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        (
            {"outcome": "callback", "callback_at": "2026-11-24T14:30:00"},
            "callback_at",
            "Give a time zone offset (e.g. Z or +01:00).",
        ),
        (
            {"outcome": "no-answer", "started_at": "9999-12-31T23:00:00Z"},
            "started_at",
            "started_at: 9999-12-31T23:00:00+00:00 is in the future.",
        ),
        (
            {"outcome": "no-answer", "started_at": "2026-11-01T09:00:00Z"},
            "started_at",
            "started_at: 2026-11-01T09:00:00+00:00 is before the last 7 days.",
        ),
        (
            {"outcome": "no-answer", "attempt": 2**70},
            "attempt",
            "Ensure this value is less than or equal to 9223372036854775807.",
        ),
        (
            {"outcome": "no-answer", "started_at": "2026-02-30T09:00:00Z"},
            "started_at",
            "Datetime has wrong format. Use one of these formats instead: "
            "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].",
        ),
        (
            {
                "outcome": "booked",
                "appointment": {"dealer": "Lyon Est", "at": "2026-11-28T10:00:00", "model": "E"},
            },
            "appointment",
            None,
        ),
    ],
)
def test_agent_outcome_times_are_checked_not_guessed(agent, floor, campaign, payload, field, message):
    lead = callable_lead(campaign=campaign, floor=floor)

    response = as_user(agent.user).post(f"/api/v1/agent/leads/{lead.pk}/outcome/", payload, format="json")

    assert response.status_code == 400, response.content
    errors = response.json()
    if message is None:
        assert errors == {field: {"at": ["Give a time zone offset (e.g. Z or +01:00)."]}}
    else:
        assert errors == {field: [message]}
    assert Attempt.objects.count() == 0
    lead.refresh_from_db()
    assert (lead.state, lead.attempts) == (Lead.State.PENDING, 0)


@pytest.mark.parametrize(
    ("until", "message"),
    [
        ("2026-02-30T10:00:00Z", "Datetime has wrong format."),
        ("2026-11-23T10:00:00+25:00", "Datetime has wrong format."),
        ("9999-12-31T23:59:59-01:00", "Not a valid date and time."),
        ("2026-11-23T12:00:00", "Give a time zone offset (e.g. Z or +01:00)."),
    ],
)
def test_callbacks_until_must_be_a_real_instant(agent, until, message):
    response = as_user(agent.user).get(CALLBACKS, {"until": until})

    assert response.status_code == 400
    (error,) = response.json()["until"]
    assert error.startswith(message)


def test_a_callback_whose_number_was_suppressed_since_is_listed_without_its_number(agent, floor, campaign):
    lead = callable_lead(
        campaign=campaign,
        floor=floor,
        state=Lead.State.CALLBACK_DUE,
        callback_at=NOW - dt.timedelta(minutes=5),
    )
    fine = callable_lead(campaign=campaign, floor=floor, state=Lead.State.CALLBACK_DUE, callback_at=NOW)
    suppress_number(e164=lead.phone_number.e164, reason="do_not_call", actor=None, now=NOW)

    body = as_user(agent.user).get(CALLBACKS).json()

    assert [(row["lead"], row["callable"], row["not_callable_reasons"], row["e164"]) for row in body] == [
        (lead.pk, False, ["suppressed"], None),
        (fine.pk, True, [], fine.phone_number.e164),
    ]
    assert body[0]["next_callable_at"] is None


def test_a_callback_due_in_the_lunch_gap_says_when_it_may_be_dialled(agent, floor, campaign):
    paris = NOW.tzinfo
    at = dt.datetime(2026, 11, 23, 13, 30, tzinfo=paris)  # France: no calls 13:00–14:00
    lead = callable_lead(campaign=campaign, floor=floor, state=Lead.State.CALLBACK_DUE, callback_at=at)

    with time_machine.travel(at, tick=False):
        (row,) = as_user(agent.user).get(CALLBACKS).json()

    assert (row["lead"], row["callable"], row["e164"]) == (lead.pk, False, None)
    assert row["not_callable_reasons"] == ["outside_hours"]
    assert row["next_callable_at"] == "2026-11-23T13:00:00Z"  # 14:00 in Paris


def test_a_callback_a_dialler_holds_is_not_listed_to_agents(agent, client, floor, campaign):
    held = callable_lead(
        campaign=campaign,
        floor=floor,
        state=Lead.State.CALLBACK_DUE,
        callback_at=NOW - dt.timedelta(minutes=5),
    )
    assert client.post(LEASES, {"size": 1}, format="json").json()["count"] == 1
    held.refresh_from_db()
    assert held.state == Lead.State.LEASED

    assert as_user(agent.user).get(CALLBACKS).json() == []
