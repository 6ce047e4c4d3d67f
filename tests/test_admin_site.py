"""The project's admin site (config/admin.py): request parameters that Django's own admin views
turned into a 500, found by fuzzing the admin."""

import pytest
from django.test import Client

from campaigns.models import Campaign
from tests.factories import CampaignFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    client = Client()
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    return client


@pytest.mark.parametrize(
    "query",
    [
        "at__year=9999&at__month=12&at__day=31",  # OverflowError: the day after
        "at__year=99999999999999999999",  # OverflowError
        "at__year=-1",  # ValueError: year -1 is out of range
        "at__year=2026&at__month=2&at__day=30",  # ValueError: day is out of range for month
        "at__year=2026&at__month=13",
        "at__year=２０２６",  # full-width digits
    ],
)
def test_a_date_drilldown_that_is_no_date_shows_the_list_flagged(client, query):
    response = client.get(f"/admin/contacts/auditentry/?{query}")
    assert (response.status_code, response["Location"]) == (302, "/admin/contacts/auditentry/?e=1")
    assert client.get(response["Location"]).status_code == 200


def test_a_real_date_drilldown_still_filters(client):
    import datetime as dt

    from contacts.models import AuditEntry

    for day in (22, 23):
        at = dt.datetime(2026, 11, day, 12, 0, tzinfo=dt.UTC)
        AuditEntry.objects.create(at=at, actor_label="test", action=f"test.on_{day}")
    response = client.get("/admin/contacts/auditentry/?at__year=2026&at__month=11&at__day=23")
    assert response.status_code == 200
    assert [entry.action for entry in response.context["cl"].result_list] == ["test.on_23"]


@pytest.mark.parametrize("selected", ["x", "1.5", "1\x00"])
def test_an_action_on_something_that_is_no_id_is_a_400_and_changes_nothing(client, selected):
    campaign = CampaignFactory(status=Campaign.Status.RUNNING)
    response = client.post(
        "/admin/campaigns/campaign/",
        {"action": "make_paused", "_selected_action": [str(campaign.pk), selected], "index": "0"},
    )
    assert response.status_code == 400
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING


def test_an_action_on_real_ids_still_runs(client):
    campaign = CampaignFactory(status=Campaign.Status.RUNNING)
    response = client.post(
        "/admin/campaigns/campaign/",
        {"action": "make_paused", "_selected_action": [str(campaign.pk)], "index": "0"},
    )
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PAUSED
