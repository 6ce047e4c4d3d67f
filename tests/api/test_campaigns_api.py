"""Issue 5 over the API: permissions, floor scoping, transitions, builds, quotas, leads with counts."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from campaigns.models import Agent, Campaign, Floor, FloorQuota, Lead, ListBuild, OutcomeCode
from campaigns.roles import sync_role_permissions
from contacts.models import AuditEntry
from tests.factories import (
    AdvertiserFactory,
    AgentFactory,
    CampaignFactory,
    FloorFactory,
    LeadFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _roles():
    sync_role_permissions()


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def campaign_payload(**extra):
    AdvertiserFactory(code="carmaker")
    return {
        "name": "Spring offer in DE, IT, ES, PT",
        "kind": "offer",
        "advertiser": "carmaker",
        "countries": ["DE", "IT", "ES", "PT"],
        "starts_on": "2026-03-01",
        "ends_on": "2026-05-31",
        "selection": {"audience": "customers"},
        **extra,
    }


@pytest.fixture
def two_floors():
    return FloorFactory(code="lyon"), FloorFactory(code="dakar", time_zone="Africa/Dakar")


def test_manager_creates_a_campaign_with_default_outcome_codes(manager_client):
    response = manager_client.post("/api/v1/campaigns/", campaign_payload(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "draft"
    assert body["advertiser"] == "carmaker"
    assert OutcomeCode.objects.filter(campaign_id=body["id"]).count() == 11
    assert AuditEntry.objects.filter(action="campaigns.campaign.created", actor_label="manager").count() == 1


def test_bad_selection_is_a_400_naming_the_field(manager_client):
    response = manager_client.post(
        "/api/v1/campaigns/", campaign_payload(selection={"audience": "all", "colour": "red"}), format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["selection"]
    assert "colour" in response.json()["selection"][0]
    assert Campaign.objects.count() == 0


@pytest.mark.parametrize("role", ["agent", "floor_supervisor", "quality_evaluator"])
def test_only_managers_create_campaigns_and_nothing_changes(role):
    payload = campaign_payload()
    user = UserFactory(username=f"u-{role}", roles=[role])
    response = client_for(user).post("/api/v1/campaigns/", payload, format="json")
    assert response.status_code == 403
    assert Campaign.objects.count() == 0
    assert OutcomeCode.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_agent_cannot_transition_or_build_and_nothing_changes():
    campaign = CampaignFactory()
    agent = AgentFactory()
    client = client_for(agent.user)
    assert client.post(f"/api/v1/campaigns/{campaign.pk}/transition/", {"to": "ready"}).status_code == 403
    assert client.post(f"/api/v1/campaigns/{campaign.pk}/build/").status_code == 403
    assert Campaign.objects.get(pk=campaign.pk).status == "draft"
    assert ListBuild.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_transitions_over_the_api_and_an_illegal_one_is_a_400(manager_client):
    campaign_id = manager_client.post("/api/v1/campaigns/", campaign_payload(), format="json").json()["id"]
    url = f"/api/v1/campaigns/{campaign_id}/transition/"
    response = manager_client.post(url, {"to": "running"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"to": ["A draft campaign cannot become running (allowed: cancelled, ready)."]}
    assert Campaign.objects.get(pk=campaign_id).status == "draft"
    assert manager_client.post(url, {"to": "ready"}, format="json").json()["status"] == "ready"
    assert manager_client.post(url, {"to": "running"}, format="json").json()["status"] == "running"
    # The status is not writable by an edit.
    manager_client.patch(f"/api/v1/campaigns/{campaign_id}/", {"status": "draft"}, format="json")
    assert Campaign.objects.get(pk=campaign_id).status == "running"


def test_build_answers_202_with_a_job_and_an_empty_universe_gives_an_empty_list(
    manager_client, django_capture_on_commit_callbacks
):
    campaign = CampaignFactory(countries=["NL"])
    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(f"/api/v1/campaigns/{campaign.pk}/build/")
    assert response.status_code == 202
    job = response.json()
    assert job["campaign"] == campaign.pk and job["kind"] == "build"
    assert response["Location"] == f"/api/v1/list-builds/{job['id']}/"
    polled = manager_client.get(f"/api/v1/list-builds/{job['id']}/").json()
    assert (polled["status"], polled["progress"], polled["added"]) == ("done", 1.0, 0)
    report = manager_client.get(f"/api/v1/campaigns/{campaign.pk}/exclusion-report/").json()
    assert report["excluded"] == [] and report["added"] == 0


def test_exclusion_report_before_any_build_is_404(manager_client):
    campaign = CampaignFactory()
    response = manager_client.get(f"/api/v1/campaigns/{campaign.pk}/exclusion-report/")
    assert response.status_code == 404
    assert response.json() == {"detail": "This campaign's list has not been built yet."}


def test_finished_campaign_cannot_be_built(manager_client):
    campaign = CampaignFactory(status="finished")
    response = manager_client.post(f"/api/v1/campaigns/{campaign.pk}/build/")
    assert response.status_code == 400
    assert response.json() == {"status": ["A finished campaign's list cannot be built."]}
    assert ListBuild.objects.count() == 0


def test_quotas_set_and_refused_when_not_100(manager_client, two_floors):
    campaign = CampaignFactory()
    url = f"/api/v1/campaigns/{campaign.pk}/quotas/"
    bad = manager_client.put(url, {"quotas": [{"floor": "lyon", "percent": 70}]}, format="json")
    assert bad.status_code == 400
    assert bad.json() == {"quotas": ["Quotas add up to 70%, not 100%."]}
    assert FloorQuota.objects.count() == 0
    ok = manager_client.put(
        url, {"quotas": [{"floor": "lyon", "percent": 70}, {"floor": "dakar", "percent": 30}]}, format="json"
    )
    assert ok.status_code == 200
    assert ok.json() == [{"floor": "dakar", "percent": 30}, {"floor": "lyon", "percent": 70}]
    supervisor = AgentFactory(floor=two_floors[0], is_supervisor=True, user__roles=["floor_supervisor"])
    assert client_for(supervisor.user).put(url, {"quotas": []}, format="json").status_code == 403
    assert FloorQuota.objects.count() == 2


def test_floor_with_bad_zone_or_hours_is_a_400_naming_the_field(manager_client):
    base = {
        "code": "tunis",
        "name": "Tunis",
        "site_city": "Tunis",
        "country": "TN",
        "languages": ["fr", "ar"],
        "callee_countries": ["fr", "be"],
        "seats": 40,
    }
    response = manager_client.post("/api/v1/floors/", {**base, "time_zone": "Africa/Nowhere"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"time_zone": ["'Africa/Nowhere' is not an IANA time zone."]}
    response = manager_client.post(
        "/api/v1/floors/",
        {**base, "time_zone": "Africa/Tunis", "opening_hours": {"0": [["18:00", "09:00"]]}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"opening_hours": ["Weekday 0: 18:00–09:00 ends before it starts."]}
    assert Floor.objects.count() == 0
    response = manager_client.post(
        "/api/v1/floors/",
        {
            **base,
            "time_zone": "Africa/Tunis",
            "opening_hours": {"0": [["09:00", "13:00"], ["14:00", "18:00"]]},
        },
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["callee_countries"] == ["BE", "FR"]
    assert AuditEntry.objects.filter(action="campaigns.floor.created").count() == 1


def test_agent_profile_gets_a_stable_pseudonymous_code(manager_client, two_floors):
    UserFactory(username="awa")
    response = manager_client.post(
        "/api/v1/agents/", {"user": "awa", "floor": "dakar", "languages": ["fr", "wo"]}, format="json"
    )
    assert response.status_code == 201
    code = response.json()["code"]
    assert code.startswith("AG-") and "awa" not in code.lower()
    agent_id = response.json()["id"]
    manager_client.patch(f"/api/v1/agents/{agent_id}/", {"code": "AWA", "floor": "lyon"}, format="json")
    agent = Agent.objects.get(pk=agent_id)
    assert (agent.code, agent.floor.code) == (code, "lyon")


def test_supervisor_sees_only_own_floor(two_floors, django_assert_max_num_queries):
    lyon, dakar = two_floors
    campaign = CampaignFactory(countries=["FR", "BE"])
    for _ in range(3):
        LeadFactory(campaign=campaign, floor=lyon)
    for _ in range(2):
        LeadFactory(campaign=campaign, floor=dakar, phone_number__prospect__country="BE")
    supervisor = AgentFactory(floor=dakar, is_supervisor=True, user__roles=["floor_supervisor"])
    client = client_for(supervisor.user)

    with django_assert_max_num_queries(12):
        leads = client.get(f"/api/v1/leads/?campaign={campaign.pk}").json()
    assert {lead["floor"] for lead in leads["results"]} == {"dakar"}
    assert leads["counts"]["total"] == 2
    assert leads["counts"]["by_floor"] == {"dakar": 2}
    assert "e164" not in leads["results"][0] and "first_name" not in leads["results"][0]

    lyon_lead = Lead.objects.filter(floor=lyon).first()
    assert client.get(f"/api/v1/leads/{lyon_lead.pk}/").status_code == 404
    assert [f["code"] for f in client.get("/api/v1/floors/").json()["results"]] == ["dakar"]
    assert client.get(f"/api/v1/floors/{lyon.pk}/").status_code == 404
    rows = client.get(f"/api/v1/campaigns/{campaign.pk}/distribution/").json()
    assert [(r["floor"], r["assigned"]) for r in rows] == [("dakar", 2)]
    # A supervisor may not change its floor either.
    assert client.patch(f"/api/v1/floors/{dakar.pk}/", {"seats": 999}, format="json").status_code == 403
    assert Floor.objects.get(pk=dakar.pk).seats == 20


def test_manager_lead_list_filters_and_counts(manager_client, two_floors):
    lyon, dakar = two_floors
    campaign = CampaignFactory(countries=["FR", "BE"])
    for _ in range(3):
        LeadFactory(campaign=campaign, floor=lyon)
    LeadFactory(campaign=campaign, floor=dakar, state="done", phone_number__prospect__country="BE")
    LeadFactory(campaign=campaign, floor=None)
    all_leads = manager_client.get(f"/api/v1/leads/?campaign={campaign.pk}").json()
    assert all_leads["counts"] == {
        "total": 5,
        "by_state": {"pending": 4, "leased": 0, "callback_due": 0, "done": 1, "suppressed": 0},
        "by_floor": {"dakar": 1, "lyon": 3, "unassigned": 1},
        "by_country": {"BE": 1, "FR": 4},
    }
    be = manager_client.get(f"/api/v1/leads/?campaign={campaign.pk}&country=be").json()
    assert [(lead["country"], lead["floor"], lead["state"]) for lead in be["results"]] == [
        ("BE", "dakar", "done")
    ]
    assert manager_client.get("/api/v1/leads/?state=pending&floor=lyon").json()["count"] == 3
    bad = manager_client.get("/api/v1/leads/?state=lost")
    assert bad.status_code == 400
    assert "state" in bad.json()


def test_outcome_code_edit_refuses_a_do_not_call_that_does_not_suppress(manager_client):
    campaign_id = manager_client.post("/api/v1/campaigns/", campaign_payload(), format="json").json()["id"]
    code = OutcomeCode.objects.get(campaign_id=campaign_id, code="do_not_call")
    response = manager_client.patch(f"/api/v1/outcome-codes/{code.pk}/", {"action": "final"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"action": ["A do_not_call outcome must suppress the number."]}
    assert OutcomeCode.objects.get(pk=code.pk).action == "suppress"
    created = manager_client.post(
        "/api/v1/outcome-codes/",
        {
            "campaign": campaign_id,
            "code": "dealer_visit",
            "label": "Will visit the dealer",
            "category": "success",
            "action": "final",
        },
        format="json",
    )
    assert created.status_code == 201


def test_a_retry_delay_beyond_a_year_is_refused(manager_client):
    campaign_id = manager_client.post("/api/v1/campaigns/", campaign_payload(), format="json").json()["id"]
    code = OutcomeCode.objects.filter(campaign_id=campaign_id, action="retry").first()
    before = code.retry_after_minutes
    for minutes, status in ((527_041, 400), (2**31 - 1, 400), (527_040, 200)):
        response = manager_client.patch(
            f"/api/v1/outcome-codes/{code.pk}/", {"retry_after_minutes": minutes}, format="json"
        )
        assert response.status_code == status, response.json()
        if status == 400:
            assert response.json() == {
                "retry_after_minutes": ["At most 527040 minutes (366 days); use a final outcome instead."]
            }
            assert OutcomeCode.objects.get(pk=code.pk).retry_after_minutes == before
    assert OutcomeCode.objects.get(pk=code.pk).retry_after_minutes == 527_040


def test_draft_campaign_without_list_can_be_deleted_a_running_one_cannot(manager_client):
    draft = CampaignFactory()
    running = CampaignFactory(status="running")
    assert manager_client.delete(f"/api/v1/campaigns/{running.pk}/").status_code == 409
    assert manager_client.delete(f"/api/v1/campaigns/{draft.pk}/").status_code == 204
    assert list(Campaign.objects.values_list("id", flat=True)) == [running.pk]


def test_dates_in_wrong_order_are_refused(manager_client):
    payload = campaign_payload(starts_on=str(dt.date(2026, 6, 1)), ends_on="2026-05-01")
    response = manager_client.post("/api/v1/campaigns/", payload, format="json")
    assert response.status_code == 400
    assert response.json() == {"ends_on": ["ends_on is before starts_on."]}
