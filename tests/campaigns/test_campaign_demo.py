"""Issue 5 demo data: eight floors, two running campaigns with built lists; idempotent."""

import datetime as dt

import pytest

from campaigns.demo.campaigns import load_campaigns
from campaigns.demo.floors import load_floors
from campaigns.models import Campaign, Floor, Lead, ListBuild
from tests.campaigns.rules_factories import ConsentFactory
from tests.factories import AdvertiserFactory, PhoneNumberFactory

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def test_demo_floors_and_running_campaigns_with_lists_twice_changes_nothing():
    advertiser = AdvertiserFactory(code="aurora")
    for _ in range(6):
        number = PhoneNumberFactory(prospect__country="FR", prospect__language="fr")
        ConsentFactory(prospect=number.prospect, advertiser=advertiser)
    messages: list[str] = []
    load_floors(now=NOW, log=messages.append)
    load_campaigns(now=NOW, log=messages.append)

    assert sorted(Floor.objects.values_list("code", flat=True)) == [
        "amsterdam",
        "berlin",
        "dakar",
        "lisbon",
        "lyon",
        "madrid",
        "milan",
        "tunis",
    ]
    offshore = Floor.objects.filter(code__in=["tunis", "dakar"])
    assert all({"FR", "BE"} <= set(f.callee_countries) and f.country not in ("FR", "BE") for f in offshore)
    assert sorted(Campaign.objects.values_list("name", "status")) == [
        ("Spring offer in DE, IT, ES, PT", "running"),
        ("Test drive of the new model in FR, BE, NL", "running"),
    ]
    test_drive = Campaign.objects.get(kind="test_drive")
    assert Lead.objects.filter(campaign=test_drive).count() == 6
    # French leads go to French-speaking floors serving France only.
    assert set(Lead.objects.values_list("floor__code", flat=True)) <= {"lyon", "tunis", "dakar"}
    assert not Lead.objects.filter(floor__isnull=True).exists()

    state = (ListBuild.objects.count(), Lead.objects.count(), Floor.objects.count(), Campaign.objects.count())
    load_floors(now=NOW, log=messages.append)
    load_campaigns(now=NOW, log=messages.append)
    assert (
        ListBuild.objects.count(),
        Lead.objects.count(),
        Floor.objects.count(),
        Campaign.objects.count(),
    ) == state
