"""Issue 6 over HTTP: a dialler credential leases, extends, releases, posts results and reads the
suppression feed; everything scoped to its floors and audited."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from campaigns.models import Attempt, Lead, Lease, RecordingNotice
from contacts.models import AuditEntry, Suppression
from contacts.services.suppression import suppress_number
from tests.campaigns.leasing import NOW, callable_lead, dialler, running_campaign, token_client
from tests.factories import FloorFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lease_clock")]
LEASES = "/api/v1/dialler/leases/"
RESULTS = "/api/v1/dialler/results/"


@pytest.fixture
def floor():
    return FloorFactory(code="dakar-1", time_zone="Africa/Dakar")


@pytest.fixture
def campaign():
    return running_campaign(name="Model E test drives")


@pytest.fixture
def client(floor):
    _, token = dialler(floor)
    return token_client(token)


def test_lease_returns_everything_the_dialler_needs(client, floor, campaign):
    notice = RecordingNotice.objects.create(
        country="FR",
        language="fr",
        version=2,
        mode="inform_object",
        text="Cet appel est enregistré.",
        effective_from=dt.date(2026, 1, 1),
    )
    lead = callable_lead(campaign=campaign, floor=floor)
    lead.prospect.first_name, lead.prospect.last_name = "Camille", "Martin"
    lead.prospect.save()

    response = client.post(LEASES, {"floor": "dakar-1", "size": 5, "ttl_seconds": 120}, format="json")

    assert response.status_code == 200
    body = response.json()
    lease = Lease.objects.get()
    assert body["lease"] == str(lease.pk)
    assert body["expires_at"] == "2026-11-23T09:32:00Z"
    assert (body["floor"], body["count"], body["empty"]) == ("dakar-1", 1, None)
    assert body["items"] == [
        {
            "lead": lead.pk,
            "campaign": {"id": campaign.pk, "name": "Model E test drives", "kind": "test_drive"},
            "e164": lead.phone_number.e164,
            "time_zone": "Europe/Paris",
            "time_zone_candidates": ["Europe/Paris"],
            # 10:30 in Paris: the morning window ends at 13:00 Paris = 12:00 UTC.
            "window_ends_at": "2026-11-23T12:00:00Z",
            "first_name": "Camille",
            "last_name": "Martin",
            "language": "fr",
            "priority": 5,
            "notice": {
                "id": notice.pk,
                "country": "FR",
                "language": "fr",
                "version": 2,
                "mode": "inform_object",
                "text": "Cet appel est enregistré.",
                "audio": "",
            },
            "history": {"attempts": 0, "last_outcome": None},
            "callback": None,
        }
    ]
    entry = AuditEntry.objects.get(action="campaigns.leads.leased")
    assert (entry.actor_label, entry.details["count"]) == ("dialler:dialler-dakar-1", 1)


def test_lease_query_count_does_not_grow_with_the_batch(
    client, floor, campaign, django_assert_max_num_queries
):
    for _ in range(60):
        callable_lead(campaign=campaign, floor=floor)
    with django_assert_max_num_queries(40):
        response = client.post(LEASES, {"size": 60}, format="json")
    assert response.json()["count"] == 60


def test_another_floor_is_forbidden_and_nothing_changes(client, floor, campaign):
    FloorFactory(code="lyon-1")
    lead = callable_lead(campaign=campaign, floor=floor)

    response = client.post(LEASES, {"floor": "lyon-1", "size": 5}, format="json")

    assert response.status_code == 403
    assert response.json() == {"detail": "floor: this dialler is not scoped to that floor."}
    assert Lease.objects.count() == 0
    lead.refresh_from_db()
    assert lead.state == Lead.State.PENDING


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"size": 0}, "size"),
        ({"size": 501}, "size"),
        ({"ttl_seconds": 10}, "ttl_seconds"),
        ({"size": "x"}, "size"),
        ({"campaign": 2**63}, "campaign"),  # one past the largest id
        ({"campaign": 0}, "campaign"),
    ],
)
def test_bad_lease_requests_are_400_naming_the_field(client, floor, payload, field):
    response = client.post(LEASES, payload, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert Lease.objects.count() == 0


def test_a_person_cannot_lease(manager_client):
    assert manager_client.post(LEASES, {"size": 1}, format="json").status_code == 403


def test_an_empty_answer_explains_why_and_when(client, floor, campaign):
    lead = callable_lead(campaign=campaign, floor=floor)
    suppress_number(
        e164=lead.phone_number.e164, reason="objection", actor=None, now=NOW - dt.timedelta(seconds=1)
    )
    callable_lead(campaign=campaign, floor=floor, next_call_at=NOW + dt.timedelta(hours=1))

    body = client.post(LEASES, {"size": 5}, format="json").json()

    assert (body["lease"], body["count"], body["items"]) == (None, 0, [])
    assert body["empty"] == {
        "reason": "held_at_handover",
        "message": ("The leads due now failed the callability check at hand-over. Reasons: suppressed (1)."),
        "counts": {
            "no_running_campaign": 0,
            "all_leased": 0,
            "not_due_yet": 1,
            "done": 0,
            "suppressed_leads": 1,
            "checked:suppressed": 1,
        },
        "next_callable_at": "2026-11-23T10:30:00Z",
    }


def test_extend_and_release_over_http(client, floor, campaign):
    leads = [callable_lead(campaign=campaign, floor=floor) for _ in range(3)]
    lease_id = client.post(LEASES, {"size": 3}, format="json").json()["lease"]

    extended = client.post(f"{LEASES}{lease_id}/extend/", {"ttl_seconds": 600}, format="json")
    assert extended.json() == {"lease": lease_id, "expires_at": "2026-11-23T09:40:00Z"}

    some = client.post(f"{LEASES}{lease_id}/release/", {"leads": [leads[0].pk]}, format="json")
    assert some.json() == {"lease": lease_id, "returned": 1, "ended": False}
    rest = client.post(f"{LEASES}{lease_id}/release/", {}, format="json")
    assert rest.json() == {"lease": lease_id, "returned": 2, "ended": True}

    again = client.post(f"{LEASES}{lease_id}/extend/", {}, format="json")
    assert again.status_code == 409
    assert Lead.objects.filter(state=Lead.State.PENDING).count() == 3


def test_another_diallers_lease_does_not_exist(client, floor, campaign):
    other_client = APIClient()
    other_client.credentials(HTTP_AUTHORIZATION=f"Token {dialler(floor, name='other')[1]}")
    callable_lead(campaign=campaign, floor=floor)
    lease_id = other_client.post(LEASES, {"size": 1}, format="json").json()["lease"]

    assert client.post(f"{LEASES}{lease_id}/release/", {}, format="json").status_code == 404
    assert Lease.objects.get(pk=lease_id).released_at is None


def test_results_per_item_statuses_and_do_not_call(client, floor, campaign):
    a, b = callable_lead(campaign=campaign, floor=floor), callable_lead(campaign=campaign, floor=floor)
    lease_id = client.post(LEASES, {"size": 2}, format="json").json()["lease"]
    started = "2026-11-23T09:31:00Z"
    payload = {
        "results": [
            {
                "call_id": "p-1",
                "lead": a.pk,
                "lease": lease_id,
                "started_at": started,
                "outcome": "no-answer",
            },
            {
                "call_id": "p-2",
                "lead": b.pk,
                "lease": lease_id,
                "started_at": started,
                "answered_at": "2026-11-23T09:31:10Z",
                "outcome": "do-not-call",
            },
            {"call_id": "p-3", "lead": a.pk, "lease": lease_id, "outcome": "no-answer"},  # no started_at
            {
                "call_id": "p-4",
                "lead": 999999,
                "lease": lease_id,
                "started_at": started,
                "outcome": "no-answer",
            },
        ]
    }

    response = client.post(RESULTS, payload, format="json")

    assert response.status_code == 200
    body = response.json()
    # The suppression is already committed when the response arrives.
    assert Suppression.objects.filter(e164=b.phone_number.e164, reason="do_not_call").count() == 1
    assert (body["created"], body["duplicate"], body["rejected"]) == (2, 0, 2)
    assert [(r["call_id"], r["status"], r["reason"], r["suppressed"]) for r in body["results"]] == [
        ("p-1", "created", "", False),
        ("p-2", "created", "", True),
        ("p-3", "rejected", "invalid", False),
        ("p-4", "rejected", "not_leased", False),
    ]
    assert body["results"][2]["detail"] == "started_at: This field is required."

    repeat = client.post(RESULTS, payload, format="json").json()
    assert [r["status"] for r in repeat["results"]] == ["duplicate", "duplicate", "rejected", "rejected"]
    assert Attempt.objects.count() == 2
    assert Suppression.objects.count() == 1


def test_results_envelope_errors_are_400(client):
    assert client.post(RESULTS, {"results": []}, format="json").status_code == 400
    too_many = {"results": [{"call_id": str(i)} for i in range(501)]}
    response = client.post(RESULTS, too_many, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["results"]


def test_suppression_feed_since_a_cursor(client):
    first = suppress_number(e164="+33612345678", reason="objection", actor=None, now=NOW)
    suppress_number(e164="+33612345679", reason="do_not_call", actor=None, now=NOW)

    page = client.get("/api/v1/dialler/suppressions/?since=0&limit=1").json()
    assert page["has_more"] is True
    assert [(r["kind"], r["e164"]) for r in page["results"]] == [("added", "+33612345678")]
    assert page["results"][0]["id"] == first.changes.get().pk

    rest = client.get(f"/api/v1/dialler/suppressions/?since={page['next_cursor']}").json()
    assert [r["e164"] for r in rest["results"]] == ["+33612345679"]
    assert rest["has_more"] is False
    assert client.get(f"/api/v1/dialler/suppressions/?since={rest['next_cursor']}").json()["results"] == []
    assert client.get("/api/v1/dialler/suppressions/?since=x").status_code == 400


def test_openapi_documents_every_dialler_and_agent_endpoint_with_examples():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = {
        p: ops for p, ops in schema["paths"].items() if p.startswith(("/api/v1/dialler/", "/api/v1/agent/"))
    }
    assert sorted(paths) == [
        "/api/v1/agent/callbacks/",
        "/api/v1/agent/leads/{lead_id}/history/",
        "/api/v1/agent/leads/{lead_id}/outcome/",
        "/api/v1/dialler/leases/",
        "/api/v1/dialler/leases/{lease_id}/extend/",
        "/api/v1/dialler/leases/{lease_id}/release/",
        "/api/v1/dialler/results/",
        "/api/v1/dialler/suppressions/",
    ]
    for path, ops in paths.items():
        for method, op in ops.items():
            documented = [
                content.get("examples")
                for response in op["responses"].values()
                for content in response.get("content", {}).values()
            ]
            assert any(documented), f"{method.upper()} {path} has no response example"
