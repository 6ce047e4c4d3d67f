"""Issue 5: splitting a call list across floors by capacity, quotas, and rebalancing."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Count

from campaigns.models import Lead, Lease
from campaigns.selectors.distribution import apportion, distribution_summary, weekly_allowed_hours
from campaigns.services.campaigns import set_floor_quotas
from campaigns.services.diallers import issue_dialler_credential
from campaigns.services.distribution import distribute_leads, rebalance_campaign
from contacts.models import AuditEntry
from tests.factories import CampaignFactory, FloorFactory, LeadFactory

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
# A Monday in winter: Paris is UTC+1, Dakar UTC+0.
WINTER = dt.datetime(2026, 11, 30, 9, 0, tzinfo=PARIS)
# A Monday in summer: Paris is UTC+2, Dakar still UTC+0.
SUMMER = dt.datetime(2026, 6, 1, 9, 0, tzinfo=PARIS)


def weekdays(start: str, end: str) -> dict:
    return {str(d): [[start, end]] for d in range(5)} | {"5": [], "6": []}


@pytest.fixture
def floors():
    return {
        # Offshore: open 08:00–17:00 Dakar time = 09:00–18:00 Paris time in winter.
        "dakar": FloorFactory(
            code="dakar",
            site_city="Dakar",
            country="SN",
            time_zone="Africa/Dakar",
            languages=["fr", "wo"],
            callee_countries=["FR", "BE"],
            seats=30,
            opening_hours=weekdays("08:00", "17:00"),
        ),
        "lyon": FloorFactory(
            code="lyon",
            time_zone="Europe/Paris",
            languages=["fr"],
            callee_countries=["FR"],
            seats=20,
            opening_hours=weekdays("09:00", "20:00"),
        ),
        # Serves Portugal on paper but speaks no Portuguese.
        "berlin": FloorFactory(
            code="berlin",
            site_city="Berlin",
            country="DE",
            time_zone="Europe/Berlin",
            languages=["de", "en"],
            callee_countries=["DE", "PT"],
            seats=25,
            opening_hours=weekdays("08:00", "20:00"),
        ),
        # Speaks Portuguese, but its 06:00–09:00 (Berlin) is 05:00–08:00 in Lisbon: before PT's window.
        "berlin-early": FloorFactory(
            code="berlin-early",
            country="DE",
            time_zone="Europe/Berlin",
            languages=["pt", "de"],
            callee_countries=["PT"],
            seats=10,
            opening_hours=weekdays("06:00", "09:00"),
        ),
        "lisbon": FloorFactory(
            code="lisbon",
            country="PT",
            time_zone="Europe/Lisbon",
            languages=["pt"],
            callee_countries=["PT"],
            seats=15,
            opening_hours=weekdays("09:00", "18:00"),
        ),
    }


def make_leads(campaign, n, *, country="FR", language="fr", floor=None):
    return [
        LeadFactory(
            campaign=campaign,
            floor=floor,
            phone_number__prospect__country=country,
            phone_number__prospect__language=language,
        )
        for _ in range(n)
    ]


def per_floor(campaign) -> dict:
    counts: dict = {}
    for code in Lead.objects.filter(campaign=campaign).values_list("floor__code", flat=True):
        counts[code] = counts.get(code, 0) + 1
    return counts


def test_weekly_hours_follow_both_zones_and_daylight_saving(floors):
    # Winter: Dakar 09–18 Paris ∩ FR 10–13, 14–20 = 3 + 4 = 7 h a day, 5 days.
    assert weekly_allowed_hours(floor=floors["dakar"], country="FR", at=WINTER) == 35.0
    # Summer: Dakar 10–19 Paris → 3 + 5 = 8 h a day.
    assert weekly_allowed_hours(floor=floors["dakar"], country="FR", at=SUMMER) == 40.0
    assert weekly_allowed_hours(floor=floors["lyon"], country="FR", at=WINTER) == 45.0
    assert weekly_allowed_hours(floor=floors["berlin-early"], country="PT", at=WINTER) == 0.0
    # Berlin 08–20 = Lisbon 07–19, PT window 09–22 → 10 h a day.
    assert weekly_allowed_hours(floor=floors["berlin"], country="PT", at=WINTER) == 50.0


def test_worked_example_dakar_lyon_split_within_one_lead_and_berlin_gets_no_portuguese(floors):
    campaign = CampaignFactory(countries=["FR", "PT", "DE"])
    make_leads(campaign, 100, country="FR", language="fr")
    make_leads(campaign, 12, country="PT", language="pt")
    make_leads(campaign, 7, country="DE", language="de")

    result = distribute_leads(campaign=campaign, now=WINTER)

    # Capacity: Dakar 30 seats × 35 h = 1050, Lyon 20 × 45 h = 900; exact shares 53.85 and 46.15.
    exact_dakar = 100 * 1050 / 1950
    counts = per_floor(campaign)
    assert abs(counts["dakar"] - exact_dakar) < 1
    assert abs(counts["lyon"] - (100 - exact_dakar)) < 1
    assert counts == {"dakar": 54, "lyon": 46, "lisbon": 12, "berlin": 7}
    assert Lead.objects.filter(floor=floors["berlin"], prospect__country="PT").count() == 0
    assert Lead.objects.filter(floor=floors["berlin-early"]).count() == 0
    assert result.assigned == {"dakar": 54, "lyon": 46, "lisbon": 12, "berlin": 7}
    assert result.unassignable == {}


def test_summer_shifts_the_split_towards_dakar(floors):
    campaign = CampaignFactory()
    make_leads(campaign, 100)
    distribute_leads(campaign=campaign, now=SUMMER)
    # Summer: Dakar 30 × 40 = 1200, Lyon 20 × 45 = 900 → 57.14 / 42.86.
    assert per_floor(campaign) == {"dakar": 57, "lyon": 43}


def test_leads_no_floor_may_call_stay_unassigned_and_are_reported(floors):
    campaign = CampaignFactory(countries=["IT"])
    make_leads(campaign, 3, country="IT", language="it")
    result = distribute_leads(campaign=campaign, now=WINTER)
    assert result.unassignable == {"IT/it": 3}
    assert per_floor(campaign) == {None: 3}


def test_a_second_distribution_changes_nothing(floors):
    campaign = CampaignFactory()
    make_leads(campaign, 40)
    distribute_leads(campaign=campaign, now=WINTER)
    before = dict(Lead.objects.values_list("id", "floor_id"))
    result = distribute_leads(campaign=campaign, now=WINTER)
    assert result.assigned == {}
    assert dict(Lead.objects.values_list("id", "floor_id")) == before


def test_new_leads_fill_floors_up_to_their_share(floors):
    campaign = CampaignFactory()
    make_leads(campaign, 30, floor=floors["lyon"])  # an earlier split put all on Lyon
    make_leads(campaign, 70)
    distribute_leads(campaign=campaign, now=WINTER)
    # Target over the 100 open leads is 54 / 46: the 70 new ones go 54 to Dakar, 16 to Lyon.
    assert per_floor(campaign) == {"dakar": 54, "lyon": 46}


def test_quotas_override_capacity_but_never_eligibility(floors):
    campaign = CampaignFactory(countries=["FR", "PT"])
    set_floor_quotas(
        campaign=campaign,
        quotas={floors["dakar"]: 25, floors["lyon"]: 60, floors["berlin"]: 15},
        actor=None,
        now=WINTER,
    )
    make_leads(campaign, 100)
    make_leads(campaign, 5, country="PT", language="pt")
    distribute_leads(campaign=campaign, now=WINTER)
    # Among FR's eligible floors (Dakar, Lyon) the quotas 25:60 apply; Berlin, with a quota but no
    # Portuguese, gets no PT lead: those fall back to capacity (Lisbon only).
    assert per_floor(campaign) == {"dakar": 29, "lyon": 71, "lisbon": 5}
    assert AuditEntry.objects.filter(action="campaigns.campaign.quotas_set").count() == 1


def test_quotas_must_add_up_to_100(floors):
    from campaigns.services.campaigns import CampaignError

    campaign = CampaignFactory()
    with pytest.raises(CampaignError, match="add up to 90%"):
        set_floor_quotas(campaign=campaign, quotas={floors["dakar"]: 90}, actor=None, now=WINTER)
    assert campaign.floor_quotas.count() == 0


def _lease(floor, campaign, *, expires_at):
    name = f"d-{floor.code}-{Lease.objects.count()}"
    integration, _ = issue_dialler_credential(name=name, floors=[floor], actor=None, now=WINTER)
    return Lease.objects.create(
        integration=integration,
        floor=floor,
        campaign=campaign,
        created_at=WINTER,
        expires_at=expires_at,
    )


def test_rebalance_after_closing_a_floor_moves_nothing_that_is_leased(floors):
    campaign = CampaignFactory()
    make_leads(campaign, 100)
    distribute_leads(campaign=campaign, now=WINTER)
    lyon_leads = list(Lead.objects.filter(floor=floors["lyon"]).order_by("id"))
    live = _lease(floors["lyon"], campaign, expires_at=WINTER + dt.timedelta(minutes=5))
    # 6 leads held by the dialler, 2 pending leads still pointing at a live lease, 3 done.
    Lead.objects.filter(pk__in=[lead.pk for lead in lyon_leads[:6]]).update(state="leased", lease=live)
    Lead.objects.filter(pk__in=[lead.pk for lead in lyon_leads[6:8]]).update(lease=live)
    Lead.objects.filter(pk__in=[lead.pk for lead in lyon_leads[8:11]]).update(state="done")
    # An expired, unreleased lease does not hold its leads.
    stale = _lease(floors["lyon"], campaign, expires_at=WINTER - dt.timedelta(minutes=1))
    Lead.objects.filter(pk=lyon_leads[11].pk).update(lease=stale)
    held = {lead.pk for lead in lyon_leads[:11]}

    floors["lyon"].active = False
    floors["lyon"].save()
    result = rebalance_campaign(campaign=campaign, now=WINTER)

    assert result.moved == 46 - 11
    assert set(Lead.objects.filter(floor=floors["lyon"]).values_list("id", flat=True)) == held
    assert Lead.objects.filter(floor=floors["dakar"]).count() == 54 + 35
    assert AuditEntry.objects.filter(action="campaigns.campaign.rebalanced").count() == 1


def test_rebalance_when_a_floor_is_added_or_resized(floors):
    campaign = CampaignFactory()
    make_leads(campaign, 100)
    distribute_leads(campaign=campaign, now=WINTER)
    dakar_first = list(Lead.objects.filter(floor=floors["dakar"]).order_by("id")[:10])
    Lead.objects.filter(pk__in=[lead.pk for lead in dakar_first]).update(state="leased")

    FloorFactory(
        code="tunis",
        time_zone="Africa/Tunis",  # UTC+1 all year: same hours as Paris in winter
        languages=["fr", "ar"],
        callee_countries=["FR"],
        seats=20,
        opening_hours=weekdays("09:00", "20:00"),
    )
    result = rebalance_campaign(campaign=campaign, now=WINTER)
    # 90 open leads over Dakar 1050, Lyon 900, Tunis 900 → 33.2 / 28.4 / 28.4: Dakar and Lyon give
    # up leads to Tunis; the 10 leased ones stay on Dakar on top of its share.
    counts = per_floor(campaign)
    open_counts = dict(
        Lead.objects.filter(state="pending").values_list("floor__code").annotate(n=Count("id"))
    )
    assert open_counts == {"dakar": 33, "lyon": 29, "tunis": 28}
    assert counts["dakar"] == 43
    assert result.moved == 28
    assert Lead.objects.filter(state="leased", floor=floors["dakar"]).count() == 10

    # Nothing changes on a second run.
    assert rebalance_campaign(campaign=campaign, now=WINTER).moved == 0


@pytest.mark.parametrize(
    ("total", "weights"),
    [(100, {1: 1050, 2: 900}), (7, {1: 1, 2: 1, 3: 1}), (1000, {1: 3.3, 2: 7.7, 3: 0.01}), (0, {1: 1})],
)
def test_apportion_is_within_one_of_the_exact_share_and_adds_up(total, weights):
    shares = apportion(total, weights)
    assert sum(shares.values()) == total
    wsum = sum(weights.values())
    for key, weight in weights.items():
        assert abs(shares[key] - total * weight / wsum) < 1


def test_distribution_summary_per_floor_and_country(floors):
    campaign = CampaignFactory(countries=["FR", "BE"])
    make_leads(campaign, 4, floor=floors["dakar"])
    make_leads(campaign, 2, country="BE", floor=floors["dakar"])
    done = make_leads(campaign, 1, floor=floors["lyon"])[0]
    done.state = "done"
    done.save()
    rows = distribution_summary(campaign=campaign)
    assert rows == [
        {
            "floor": "dakar",
            "floor_id": floors["dakar"].id,
            "assigned": 6,
            "remaining": 6,
            "done": 0,
            "suppressed": 0,
            "countries": {
                "BE": {"assigned": 2, "remaining": 2, "done": 0, "suppressed": 0},
                "FR": {"assigned": 4, "remaining": 4, "done": 0, "suppressed": 0},
            },
        },
        {
            "floor": "lyon",
            "floor_id": floors["lyon"].id,
            "assigned": 1,
            "remaining": 0,
            "done": 1,
            "suppressed": 0,
            "countries": {"FR": {"assigned": 1, "remaining": 0, "done": 1, "suppressed": 0}},
        },
    ]
    assert [
        r["floor"] for r in distribution_summary(campaign=campaign, floor_ids=frozenset({floors["lyon"].id}))
    ] == ["lyon"]
