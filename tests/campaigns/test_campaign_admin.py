"""Issue 5 admin: pages load, transitions and builds run through the services, leads are scoped."""

import pytest
from django.test import Client

from campaigns.models import Campaign, ListBuild
from campaigns.roles import sync_role_permissions
from contacts.models import AuditEntry
from tests.factories import AgentFactory, CampaignFactory, FloorFactory, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(db):
    user = UserFactory(username="root")
    user.is_staff = user.is_superuser = True
    user.save()
    client = Client()
    client.force_login(user)
    return client


def test_admin_pages_load(admin_client_):
    campaign = CampaignFactory()
    floor = FloorFactory()
    lead = LeadFactory(campaign=campaign, floor=floor)
    build = ListBuild.objects.create(
        campaign=campaign, created_at=campaign.created_at, excluded={"suppressed": 2}
    )
    for url in [
        "/admin/campaigns/campaign/",
        f"/admin/campaigns/campaign/{campaign.pk}/change/",
        "/admin/campaigns/floor/",
        f"/admin/campaigns/floor/{floor.pk}/change/",
        "/admin/campaigns/lead/",
        f"/admin/campaigns/lead/{lead.pk}/change/",
        "/admin/campaigns/listbuild/",
        f"/admin/campaigns/listbuild/{build.pk}/change/",
    ]:
        response = admin_client_.get(url)
        assert response.status_code == 200, url
    page = admin_client_.get(f"/admin/campaigns/listbuild/{build.pk}/change/").content.decode()
    assert "On the internal do-not-call list: 2 (suppressed)" in page


def test_admin_transition_action_goes_through_the_service(admin_client_):
    campaign = CampaignFactory()
    response = admin_client_.post(
        "/admin/campaigns/campaign/",
        {"action": "make_running", "_selected_action": [campaign.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "A draft campaign cannot become running" in response.content.decode()
    assert Campaign.objects.get(pk=campaign.pk).status == "draft"
    assert AuditEntry.objects.count() == 0


def test_admin_floor_save_is_audited(admin_client_):
    floor = FloorFactory(code="dakar", time_zone="Africa/Dakar")
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
    response = admin_client_.post(f"/admin/campaigns/floor/{floor.pk}/change/", data)
    assert response.status_code == 302
    floor.refresh_from_db()
    assert (floor.seats, floor.callee_countries) == (70, ["BE", "FR"])
    assert AuditEntry.objects.filter(action="campaigns.floor.changed", actor_label="root").count() == 1


def test_supervisor_sees_only_own_floor_leads_in_admin():
    sync_role_permissions()
    lyon, dakar = FloorFactory(code="lyon"), FloorFactory(code="dakar")
    mine = LeadFactory(floor=dakar)
    LeadFactory(floor=lyon)
    supervisor = AgentFactory(floor=dakar, is_supervisor=True, user__roles=["floor_supervisor"]).user
    supervisor.is_staff = True
    supervisor.save()
    client = Client()
    client.force_login(supervisor)
    page = client.get("/admin/campaigns/lead/")
    assert page.status_code == 200
    assert list(page.context["cl"].queryset.values_list("id", flat=True)) == [mine.pk]


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        (
            {"category": "do_not_call", "action": "final"},
            "action",
            "A do_not_call outcome must suppress the number.",
        ),
        (
            {"category": "no_contact", "action": "retry", "retry_after_minutes": 10**7},
            "retry_after_minutes",
            "At most 527040 minutes (366 days); use a final outcome instead.",
        ),
    ],
)
def test_the_admin_outcome_code_form_applies_the_api_rules(values, field, message):
    """The inline used to save any row: a do-not-call outcome that never suppresses (against
    GDPR art. 21), or a retry delay that overflowed every later result's next call time."""
    from django.contrib import admin
    from django.test import RequestFactory

    from campaigns.admin.campaigns import OutcomeCodeInline

    request = RequestFactory().get("/")
    request.user = UserFactory(is_staff=True, is_superuser=True)
    form_class = OutcomeCodeInline(Campaign, admin.site).get_formset(request).form
    form = form_class(data={"code": "x", "label": "X", "max_retries": 3, **values})
    assert not form.is_valid()
    assert form.errors[field] == [message]
