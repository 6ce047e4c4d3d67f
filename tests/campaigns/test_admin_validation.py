"""Fuzzing findings on the admin: bad input gets an error on its field (never a 500), and admin
writes go through the services the API uses, audited the same way."""

import pytest
from django.test import Client
from django.utils import timezone

from campaigns.models import (
    Agent,
    Campaign,
    CampaignRecordingPolicy,
    DiallerIntegration,
    Floor,
    OutcomeCode,
    RecordingNotice,
)
from campaigns.roles import sync_role_permissions
from contacts.models import AuditEntry
from tests.campaigns.test_recording_factories import RecordingNoticeFactory
from tests.factories import (
    AdvertiserFactory,
    AgentFactory,
    CampaignFactory,
    FloorFactory,
    LeadFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(db):
    user = UserFactory(username="root")
    user.is_staff = user.is_superuser = True
    user.save()
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def _inline_management(prefix: str, total: int = 0, initial: int = 0) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def _campaign_data(advertiser, **overrides) -> dict:
    data = {
        "name": "Spring test drive",
        "kind": Campaign.Kind.TEST_DRIVE,
        "advertiser": str(advertiser.pk),
        "product": "Model E",
        "countries": '["FR"]',
        "languages": '["fr"]',
        "starts_on": "2026-03-01",
        "ends_on": "2026-04-30",
        "priority": "0",
        "selection": "{}",
        "max_attempts": "4",
        "script": "",
        **_inline_management("outcome_codes"),
        **_inline_management("floor_quotas"),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _errors(response) -> dict:
    form = response.context["adminform"].form
    return {field: list(errors) for field, errors in form.errors.items()}


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"languages": ""}, "languages", "languages must be a list of non-empty strings."),
        ({"countries": '"FR"'}, "countries", "countries must be a list of non-empty strings."),
        ({"ends_on": "2026-02-01"}, "ends_on", "ends_on is before starts_on."),
        (
            {"selection": '{"region": ["69"]}'},
            "selection",
            "Unknown selection key(s): region. Allowed: countries, regions, postcodes, sources, tags, "
            "audience, languages, not_contacted_days.",
        ),
    ],
)
def test_campaign_add_shows_the_service_refusal_on_its_field(root, overrides, field, message):
    data = _campaign_data(AdvertiserFactory(), **overrides)
    response = root.post("/admin/campaigns/campaign/add/", data)
    assert response.status_code == 200
    assert _errors(response) == {field: [message]}
    assert Campaign.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_campaign_change_shows_the_service_refusal_on_its_field(root):
    campaign = CampaignFactory()
    data = _campaign_data(campaign.advertiser, ends_on="2025-01-01", starts_on="2026-01-01")
    response = root.post(f"/admin/campaigns/campaign/{campaign.pk}/change/", data)
    assert response.status_code == 200
    assert _errors(response) == {"ends_on": ["ends_on is before starts_on."]}
    campaign.refresh_from_db()
    assert campaign.ends_on.isoformat() == "2027-12-31"


@pytest.mark.parametrize("status", [Campaign.Status.CANCELLED, Campaign.Status.FINISHED])
def test_closed_campaign_change_form_is_read_only_and_refuses_a_save(root, status):
    campaign = CampaignFactory(status=status)
    page = root.get(f"/admin/campaigns/campaign/{campaign.pk}/change/")
    assert page.status_code == 200
    assert page.context["adminform"].form.fields == {}
    response = root.post(
        f"/admin/campaigns/campaign/{campaign.pk}/change/",
        {**_inline_management("outcome_codes"), **_inline_management("floor_quotas")},
    )
    assert response.status_code == 200
    assert _errors(response) == {"__all__": [f"A {status} campaign cannot be edited."]}
    assert AuditEntry.objects.count() == 0


def test_campaign_add_refuses_an_inline_outcome_code_named_like_a_default(root):
    data = _campaign_data(
        AdvertiserFactory(),
        **_inline_management("outcome_codes", total=1),
        **{
            "outcome_codes-0-code": "no_answer",
            "outcome_codes-0-label": "Nobody",
            "outcome_codes-0-category": OutcomeCode.Category.NO_CONTACT,
            "outcome_codes-0-action": OutcomeCode.Action.RETRY,
            "outcome_codes-0-retry_after_minutes": "60",
            "outcome_codes-0-max_retries": "3",
        },
    )
    response = root.post("/admin/campaigns/campaign/add/", data)
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert formset.errors == [
        {"code": ["'no_answer' is a default code every new campaign gets; edit it once saved."]}
    ]
    assert Campaign.objects.count() == 0


def _floor_data(**overrides) -> dict:
    data = {
        "code": "dakar",
        "name": "Dakar Plateau",
        "site_city": "Dakar",
        "country": "SN",
        "time_zone": "Africa/Dakar",
        "languages": '["fr", "wo"]',
        "callee_countries": '["FR", "BE"]',
        "seats": "70",
        "opening_hours": '{"0": [["08:00", "18:00"]]}',
        "outsourcer": "",
        "active": "on",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"time_zone": "Europe/Pariss"}, "time_zone", "'Europe/Pariss' is not an IANA time zone."),
        ({"time_zone": "Europe"}, "time_zone", "'Europe' is not an IANA time zone."),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "'Mars/Olympus' is not an IANA time zone."),
        ({"languages": '"fr"'}, "languages", "languages must be a list of codes."),
        ({"callee_countries": "[1]"}, "callee_countries", "callee_countries must be a list of codes."),
        (
            {"opening_hours": '{"0": [["18:00", "09:00"]]}'},
            "opening_hours",
            "Weekday 0: 18:00–09:00 ends before it starts.",
        ),
    ],
)
def test_floor_add_shows_the_service_refusal_on_its_field(root, overrides, field, message):
    response = root.post("/admin/campaigns/floor/add/", _floor_data(**overrides))
    assert response.status_code == 200
    assert _errors(response) == {field: [message]}
    assert Floor.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_floor_change_shows_the_service_refusal_on_its_field(root):
    floor = FloorFactory(code="dakar", time_zone="Africa/Dakar")
    response = root.post(f"/admin/campaigns/floor/{floor.pk}/change/", _floor_data(time_zone="Europe"))
    assert response.status_code == 200
    assert _errors(response) == {"time_zone": ["'Europe' is not an IANA time zone."]}
    floor.refresh_from_db()
    assert floor.time_zone == "Africa/Dakar"


def test_recording_policy_add_refuses_a_retention_past_the_bound_on_its_field(root):
    campaign = CampaignFactory()
    response = root.post(
        "/admin/campaigns/campaignrecordingpolicy/add/",
        {"campaign": str(campaign.pk), "retention_days": "36501"},
    )
    assert response.status_code == 200
    assert _errors(response) == {"retention_days": ["Must be at most 36500 days (100 years)."]}
    assert CampaignRecordingPolicy.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_floor_cannot_be_deleted_in_the_admin(root):
    floor = FloorFactory()
    lead = LeadFactory(floor=floor)
    response = root.post(f"/admin/campaigns/floor/{floor.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    bulk = root.post(
        "/admin/campaigns/floor/",
        {"action": "delete_selected", "_selected_action": [floor.pk], "post": "yes"},
    )
    assert bulk.status_code == 200  # the action is not offered: "No action selected."
    lead.refresh_from_db()
    assert lead.floor_id == floor.pk
    assert Floor.objects.filter(pk=floor.pk).exists()


def test_bulk_delete_of_recording_policies_is_audited(root):
    policies = [
        CampaignRecordingPolicy.objects.create(campaign=CampaignFactory(), retention_days=days)
        for days in (30, 90)
    ]
    response = root.post(
        "/admin/campaigns/campaignrecordingpolicy/",
        {"action": "delete_selected", "_selected_action": [p.pk for p in policies], "post": "yes"},
    )
    assert response.status_code == 302
    assert CampaignRecordingPolicy.objects.count() == 0
    entries = AuditEntry.objects.filter(action="campaigns.recording_policy.changed").order_by("id")
    assert sorted((e.details["retention_days"], e.details["previous"]) for e in entries) == [
        (None, 30),
        (None, 90),
    ]


# With other actions on offer, an unknown one redirects with "No action selected."; without any,
# the post is not an action at all and the list is shown again.
@pytest.mark.parametrize(
    ("url", "bulk_status"), [("agent", 200), ("diallerintegration", 302), ("campaign", 302)]
)
def test_admins_without_an_audited_delete_offer_none(root, url, bulk_status):
    if url == "agent":
        obj = AgentFactory()
    elif url == "diallerintegration":
        obj = DiallerIntegration.objects.create(name="acme", user=UserFactory(), created_at=timezone.now())
    else:
        obj = CampaignFactory(status=Campaign.Status.RUNNING)
    response = root.post(f"/admin/campaigns/{url}/{obj.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    bulk = root.post(
        f"/admin/campaigns/{url}/", {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"}
    )
    assert bulk.status_code == bulk_status
    assert type(obj).objects.filter(pk=obj.pk).exists()
    assert AuditEntry.objects.count() == 0


def test_a_draft_campaign_without_leads_may_still_be_deleted(root):
    campaign = CampaignFactory()
    response = root.post(f"/admin/campaigns/campaign/{campaign.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Campaign.objects.filter(pk=campaign.pk).exists()


def _quota_rows(*rows, initial=0) -> dict:
    data = _inline_management("floor_quotas", total=len(rows), initial=initial)
    for i, (floor, percent) in enumerate(rows):
        data[f"floor_quotas-{i}-floor"] = str(floor.pk)
        data[f"floor_quotas-{i}-percent"] = str(percent)
    return data


def test_campaign_quota_inline_refuses_a_total_other_than_100(root):
    campaign = CampaignFactory()
    lyon, dakar = FloorFactory(), FloorFactory()
    data = _campaign_data(campaign.advertiser, **_quota_rows((lyon, 10), (dakar, 5)))
    response = root.post(f"/admin/campaigns/campaign/{campaign.pk}/change/", data)
    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][1].formset
    assert formset.non_form_errors() == ["Quotas add up to 15%, not 100%."]
    assert campaign.floor_quotas.count() == 0
    assert AuditEntry.objects.count() == 0


def test_campaign_quota_inline_saves_through_the_audited_service(root):
    campaign = CampaignFactory()
    lyon, dakar = FloorFactory(code="lyon"), FloorFactory(code="dakar")
    data = _campaign_data(campaign.advertiser, **_quota_rows((lyon, 60), (dakar, 40)))
    response = root.post(f"/admin/campaigns/campaign/{campaign.pk}/change/", data)
    assert response.status_code == 302
    assert sorted(campaign.floor_quotas.values_list("floor__code", "percent")) == [
        ("dakar", 40),
        ("lyon", 60),
    ]
    entry = AuditEntry.objects.get(action="campaigns.campaign.quotas_set")
    assert entry.details == {"quotas": {"lyon": 60, "dakar": 40}}


def test_agent_code_is_read_only_and_languages_are_checked_as_over_the_api(root):
    agent = AgentFactory(code="AG-00001")
    url = f"/admin/campaigns/agent/{agent.pk}/change/"
    data = {"user": str(agent.user_id), "floor": str(agent.floor_id), "languages": '"not a list"'}
    response = root.post(url, {**data, "code": "AG-RENAMED"})
    assert response.status_code == 200
    assert _errors(response) == {"languages": ["languages must be a list of codes."]}
    response = root.post(url, {**data, "languages": '["FR", "wo"]', "code": "AG-RENAMED"})
    assert response.status_code == 302
    agent.refresh_from_db()
    assert (agent.code, agent.languages) == ("AG-00001", ["fr", "wo"])
    entry = AuditEntry.objects.get(action="campaigns.agent.changed")
    assert entry.details == {"fields": ["languages"]}


def test_agent_added_in_the_admin_gets_a_service_code_and_an_audit_entry(root):
    floor = FloorFactory()
    user = UserFactory()
    response = root.post(
        "/admin/campaigns/agent/add/",
        {"user": str(user.pk), "floor": str(floor.pk), "languages": '["fr"]', "code": "AG-MINE"},
    )
    assert response.status_code == 302
    agent = Agent.objects.get(user=user)
    assert agent.code != "AG-MINE"
    assert agent.code.startswith("AG-")
    assert AuditEntry.objects.filter(action="campaigns.agent.created").count() == 1


def test_dialler_integration_floors_cannot_be_changed_in_the_admin(root):
    lyon, dakar = FloorFactory(), FloorFactory()
    integration = DiallerIntegration.objects.create(
        name="acme", user=UserFactory(), created_at=timezone.now()
    )
    integration.floors.set([lyon])
    response = root.post(
        f"/admin/campaigns/diallerintegration/{integration.pk}/change/",
        {"description": "widened", "floors": [str(lyon.pk), str(dakar.pk)]},
    )
    assert response.status_code == 302
    assert list(integration.floors.values_list("pk", flat=True)) == [lyon.pk]


# A filter with a single choice is not shown; Lead.floor is nullable, so its filter adds "(None)".
@pytest.mark.parametrize(
    ("url", "role", "shown"),
    [("lead", "agent", True), ("lead", "floor_supervisor", True), ("agent", "floor_supervisor", False)],
)
def test_floor_filter_lists_only_the_users_floors(url, role, shown):
    sync_role_permissions()
    dakar = FloorFactory(code="dakar", name="Dakar Plateau", site_city="Dakar")
    FloorFactory(code="porto", name="Porto Norte", site_city="Porto")
    user = AgentFactory(floor=dakar, is_supervisor=role == "floor_supervisor", user__roles=[role]).user
    user.is_staff = True
    user.save()
    client = Client()
    client.force_login(user)
    response = client.get(f"/admin/campaigns/{url}/")
    assert response.status_code == 200
    floor_filters = [f.lookup_choices for f in response.context["cl"].filter_specs if f.title == "floor"]
    assert floor_filters == ([[(dakar.pk, "Dakar Plateau (Dakar)")]] if shown else [])
    assert "Porto" not in response.content.decode()


def test_notice_admin_shows_the_service_refusals_on_their_fields(root):
    response = root.post(
        "/admin/campaigns/recordingnotice/add/",
        {
            "country": "12",
            "language": "fr",
            "mode": "inform_object",
            "text": "Cet appel est enregistré.",
            "effective_from": "2026-06-01",
            "effective_to": "2026-05-01",
            "active": "on",
        },
    )
    assert response.status_code == 200
    assert _errors(response) == {
        "country": ["Use an ISO 3166-1 alpha-2 code, e.g. FR."],
        "effective_to": ["Must be on or after effective_from."],
    }
    assert RecordingNotice.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_notice_change_shows_a_date_refusal_on_its_field(root):
    notice = RecordingNoticeFactory()
    response = root.post(
        f"/admin/campaigns/recordingnotice/{notice.pk}/change/",
        {
            "mode": notice.mode,
            "text": notice.text,
            "effective_from": "2026-06-01",
            "effective_to": "2026-05-01",
            "active": "on",
        },
    )
    assert response.status_code == 200
    assert _errors(response) == {"effective_to": ["Must be on or after effective_from."]}
    assert list(RecordingNotice.objects.values_list("pk", flat=True)) == [notice.pk]


def test_outcome_codes_edited_inline_are_audited_as_over_the_api(root):
    campaign = CampaignFactory()
    busy = OutcomeCode.objects.create(
        campaign=campaign,
        code="busy",
        label="Busy",
        category="no_contact",
        action="retry",
        retry_after_minutes=30,
    )
    data = _campaign_data(
        campaign.advertiser,
        **_inline_management("outcome_codes", total=2, initial=1),
        **{
            "outcome_codes-0-id": str(busy.pk),
            "outcome_codes-0-campaign": str(campaign.pk),
            "outcome_codes-0-code": "busy",
            "outcome_codes-0-label": "Line busy",
            "outcome_codes-0-category": "no_contact",
            "outcome_codes-0-action": "retry",
            "outcome_codes-0-retry_after_minutes": "30",
            "outcome_codes-0-max_retries": "",
            "outcome_codes-1-campaign": str(campaign.pk),
            "outcome_codes-1-code": "moved_abroad",
            "outcome_codes-1-label": "Moved abroad",
            "outcome_codes-1-category": "contact",
            "outcome_codes-1-action": "final",
            "outcome_codes-1-retry_after_minutes": "",
            "outcome_codes-1-max_retries": "",
        },
    )
    response = root.post(f"/admin/campaigns/campaign/{campaign.pk}/change/", data)
    assert response.status_code == 302, (
        response.context and response.context["inline_admin_formsets"][0].formset.errors
    )
    assert sorted(campaign.outcome_codes.values_list("code", "label")) == [
        ("busy", "Line busy"),
        ("moved_abroad", "Moved abroad"),
    ]
    actions = AuditEntry.objects.filter(action__startswith="campaigns.outcome_code.").values_list(
        "action", flat=True
    )
    assert sorted(actions) == [
        "campaigns.outcome_code.changed",
        "campaigns.outcome_code.created",
    ]
