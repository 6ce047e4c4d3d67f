"""Issue 5: floors and agent profiles; a floor closed, added or resized rebalances running lists."""

import datetime as dt

import pytest

from campaigns.models import Lead
from campaigns.services.campaigns import CampaignError
from campaigns.services.distribution import distribute_leads
from campaigns.services.floors import clean_opening_hours, save_agent, save_floor
from contacts.models import AuditEntry
from tests.factories import CampaignFactory, FloorFactory, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ({"7": []}, "Weekday '7' is not 0"),
        ({"0": [["9:00", "18:00"]]}, "is not a"),
        ({"0": [["09:00", "13:00"], ["12:00", "18:00"]]}, "intervals overlap"),
        ({"0": "09:00-18:00"}, "expected a list"),
        ([["09:00", "18:00"]], "Expected"),
    ],
)
def test_opening_hours_are_validated(hours, message):
    with pytest.raises(CampaignError, match=message):
        clean_opening_hours(hours)


def test_opening_hours_with_a_lunch_break_are_kept_sorted():
    assert clean_opening_hours({0: [["14:00", "18:00"], ["09:00", "13:00"]]}) == {
        "0": [["09:00", "13:00"], ["14:00", "18:00"]]
    }


def test_closing_a_floor_rebalances_its_unleased_leads(django_capture_on_commit_callbacks):
    hours = {str(d): [["09:00", "18:00"]] for d in range(5)}
    lyon = FloorFactory(code="lyon", opening_hours=hours)
    tunis = FloorFactory(code="tunis", time_zone="Africa/Tunis", opening_hours=hours)
    campaign = CampaignFactory(status="running")
    for _ in range(10):
        LeadFactory(campaign=campaign, floor=None)
    distribute_leads(campaign=campaign, now=NOW)
    assert Lead.objects.filter(floor=lyon).count() == 5
    leased = Lead.objects.filter(floor=lyon).first()
    Lead.objects.filter(pk=leased.pk).update(state="leased")

    with django_capture_on_commit_callbacks(execute=True):
        save_floor(floor=lyon, data={"active": False}, actor=UserFactory(username="boss"), now=NOW)

    assert list(Lead.objects.filter(floor=lyon).values_list("id", flat=True)) == [leased.pk]
    assert Lead.objects.filter(floor=tunis).count() == 9
    assert list(AuditEntry.objects.filter(actor_label="boss").values_list("action", flat=True)) == [
        "campaigns.floor.closed"
    ]
    assert AuditEntry.objects.filter(action="campaigns.campaign.rebalanced").count() == 1


def test_renaming_a_floor_does_not_rebalance(django_capture_on_commit_callbacks):
    lyon = FloorFactory(code="lyon")
    LeadFactory(campaign=CampaignFactory(status="running"), floor=lyon)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        save_floor(floor=lyon, data={"name": "Lyon Part-Dieu"}, actor=None, now=NOW)
    assert callbacks == []
    assert AuditEntry.objects.get().details == {"fields": ["name"]}


def test_duplicate_floor_code_is_refused():
    FloorFactory(code="lyon")
    with pytest.raises(CampaignError, match="code 'lyon' exists") as info:
        save_floor(
            data={
                "code": "lyon",
                "name": "x",
                "site_city": "x",
                "country": "FR",
                "time_zone": "Europe/Paris",
            },
            actor=None,
            now=NOW,
        )
    assert info.value.field == "code"


def test_agent_code_is_random_and_stable():
    floor = FloorFactory()
    agent = save_agent(data={"user": UserFactory(username="jeanne"), "floor": floor}, actor=None, now=NOW)
    code = agent.code
    assert code.startswith("AG-") and len(code) == 11
    save_agent(agent=agent, data={"code": "JEANNE", "languages": ["FR", "en"]}, actor=None, now=NOW)
    agent.refresh_from_db()
    assert (agent.code, agent.languages) == (code, ["en", "fr"])
    with pytest.raises(CampaignError, match="already has an agent profile"):
        save_agent(data={"user": agent.user, "floor": floor}, actor=None, now=NOW)
