"""Country and language codes in campaigns and floors are checked by the services (so the API and
the admin refuse the same): ISO 3166-1 alpha-2 countries, ISO 639 languages."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from campaigns.models import Agent, Campaign, Floor
from contacts.models import AuditEntry
from tests.factories import AdvertiserFactory, AgentFactory, CampaignFactory, FloorFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager():
    client = APIClient()
    client.force_authenticate(UserFactory(username="manon", roles=["campaign_manager"]))
    return client


def _campaign(**extra) -> dict:
    AdvertiserFactory(code="carmaker")
    return {
        "name": "Spring offer",
        "kind": "offer",
        "advertiser": "carmaker",
        "countries": ["FR"],
        "starts_on": "2026-03-01",
        "ends_on": "2026-05-31",
        **extra,
    }


def _floor(**extra) -> dict:
    return {
        "code": "tunis-1",
        "name": "Tunis",
        "site_city": "Tunis",
        "country": "TN",
        "time_zone": "Africa/Tunis",
        "languages": ["fr"],
        "callee_countries": ["FR"],
        "seats": 10,
        **extra,
    }


@pytest.mark.parametrize(
    ("extra", "errors"),
    [
        (
            {"countries": ["FR", "ZZ", "123"]},
            {"countries": ["Not ISO 3166-1 alpha-2 country codes: ZZ, 123."]},
        ),
        (
            {"languages": ["xx-invalid"]},
            {"languages": ["Not ISO 639 language codes (e.g. fr, wo): xx-invalid."]},
        ),
        (
            {"selection": {"languages": ["fr", "french!"]}},
            {"selection.languages": ["Not ISO 639 language codes (e.g. fr, wo): french!."]},
        ),
    ],
)
def test_campaign_codes_are_checked(manager, extra, errors):
    response = manager.post("/api/v1/campaigns/", _campaign(**extra), format="json")
    assert response.status_code == 400
    assert response.json() == errors
    assert Campaign.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_campaign_codes_are_checked_on_change(manager):
    campaign = CampaignFactory()
    response = manager.patch(f"/api/v1/campaigns/{campaign.pk}/", {"countries": ["FR", "EU"]}, format="json")
    assert response.status_code == 400
    assert response.json() == {"countries": ["Not ISO 3166-1 alpha-2 country codes: EU."]}
    campaign.refresh_from_db()
    assert campaign.countries == ["FR"]


def test_valid_codes_are_normalised(manager):
    response = manager.post(
        "/api/v1/campaigns/", _campaign(countries=["fr", " be"], languages=["FR", "nl"]), format="json"
    )
    assert response.status_code == 201, response.json()
    assert (response.json()["countries"], response.json()["languages"]) == (["FR", "BE"], ["fr", "nl"])


@pytest.mark.parametrize(
    ("extra", "errors"),
    [
        ({"country": "-1"}, {"country": ["Not ISO 3166-1 alpha-2 country codes: -1."]}),
        ({"callee_countries": ["ZZZ"]}, {"callee_countries": ["Not ISO 3166-1 alpha-2 country codes: ZZZ."]}),
        (
            {"languages": ["fr", "wolof!"]},
            {"languages": ["Not ISO 639 language codes (e.g. fr, wo): wolof!."]},
        ),
    ],
)
def test_floor_codes_are_checked(manager, extra, errors):
    response = manager.post("/api/v1/floors/", _floor(**extra), format="json")
    assert response.status_code == 400
    assert response.json() == errors
    assert Floor.objects.count() == 0
    assert AuditEntry.objects.count() == 0


def test_agent_languages_are_checked(manager):
    agent = AgentFactory()
    response = manager.patch(f"/api/v1/agents/{agent.pk}/", {"languages": ["xx-invalid"]}, format="json")
    assert response.status_code == 400
    assert response.json() == {"languages": ["Not ISO 639 language codes (e.g. fr, wo): xx-invalid."]}
    assert Agent.objects.get(pk=agent.pk).languages == ["fr"]


def test_floor_admin_shows_a_code_refusal_on_its_field():
    root = UserFactory(username="root")
    root.is_staff = root.is_superuser = True
    root.save()
    client = Client()
    client.force_login(root)
    floor = FloorFactory(code="dakar", country="SN", time_zone="Africa/Dakar")
    response = client.post(
        f"/admin/campaigns/floor/{floor.pk}/change/",
        {
            "code": "dakar",
            "name": floor.name,
            "site_city": "Dakar",
            "country": "-1",
            "time_zone": "Africa/Dakar",
            "languages": '["fr"]',
            "callee_countries": '["FR"]',
            "seats": "20",
            "opening_hours": "{}",
            "outsourcer": "",
            "active": "on",
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "country": ["Not ISO 3166-1 alpha-2 country codes: -1."]
    }
