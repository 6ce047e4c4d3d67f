"""Issue 4: the one callability decision, at fixed instants in the callee's zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from campaigns.models import OutcomeCode
from campaigns.selectors import callability as rules
from campaigns.services.policies import seed_country_policies
from contacts.models import PhoneNumber, RegisterImport
from contacts.services.register_formats import robinson_hash
from tests.campaigns.rules_factories import (
    ConsentFactory,
    RegisterImportFactory,
    attempt,
    number_in,
    register_entry,
    suppress,
)
from tests.factories import AdvertiserFactory, CampaignFactory, FloorFactory

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
REUNION = ZoneInfo("Indian/Reunion")
BERLIN = ZoneInfo("Europe/Berlin")
ROME = ZoneInfo("Europe/Rome")
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
MADRID = ZoneInfo("Europe/Madrid")
BRUSSELS = ZoneInfo("Europe/Brussels")
UTC = dt.UTC


def sql_reasons(numbers, campaign, at) -> dict[int, set[str]]:
    rows = rules.annotate_callability(
        PhoneNumber.objects.filter(pk__in=[n.pk for n in numbers]), campaign=campaign, at=at
    )
    return {row.pk: {r for r in rules.REASONS if getattr(row, f"block_{r}")} for row in rows}


def callability_many(*, numbers, campaign, at):
    """The per-number decision, checked against the set-based form on every fixed instant below."""
    decisions = rules.callability_many(numbers=numbers, campaign=campaign, at=at)
    sql = sql_reasons(numbers, campaign, at)
    for number in numbers:
        assert sql[number.pk] == {r.split(":")[0] for r in decisions[number.pk].reasons}, number
    return decisions


def callability(*, number, campaign, at):
    return callability_many(numbers=[number], campaign=campaign, at=at)[number.pk]


@pytest.fixture(autouse=True)
def policies():
    # Seeded by migration 0008; re-seeded because a transactional test elsewhere may flush it.
    seed_country_policies()


def fresh(register: str, day: dt.date):
    """A new current snapshot of `register` produced on `day`, replacing the previous one."""
    RegisterImport.objects.filter(register=register, is_current=True).update(is_current=False)
    return RegisterImportFactory(register=register, file_date=day)


def consent(number, campaign, **kwargs):
    return ConsentFactory(prospect=number.prospect, advertiser=campaign.advertiser, **kwargs)


def at(zone, *args):
    return dt.datetime(*args, tzinfo=zone)


# --- France: hours in the callee's zone ----------------------------------------------------------

FR_TIMES = [
    ((9, 59), ("outside_hours",)),
    ((10, 0), ()),
    ((12, 59), ()),
    ((13, 0), ("outside_hours",)),
    ((13, 59), ("outside_hours",)),
    ((14, 0), ()),
    ((19, 59), ()),
    ((20, 0), ("outside_hours",)),
]


@pytest.mark.parametrize(("hm", "reasons"), FR_TIMES)
def test_fr_windows_in_paris(hm, reasons):
    fresh("bloctel", dt.date(2026, 3, 30))
    campaign = CampaignFactory(countries=["FR"])
    number = number_in("FR", region="75", zone="Europe/Paris")
    decision = callability(number=number, campaign=campaign, at=at(PARIS, 2026, 3, 31, *hm))
    assert decision.reasons == reasons
    assert decision.callable is (reasons == ())


# The same instants seen from a Paris number (Réunion is UTC+4, Paris UTC+2 on 31 March): 2 h earlier.
PARIS_AT_REUNION_TIMES = [("outside_hours",), ("outside_hours",), (), (), (), (), (), ()]


@pytest.mark.parametrize(
    ("hm", "reasons", "paris_reasons"),
    [(*t, p) for t, p in zip(FR_TIMES, PARIS_AT_REUNION_TIMES, strict=True)],
)
def test_fr_windows_in_reunion_local_time(hm, reasons, paris_reasons):
    fresh("bloctel", dt.date(2026, 3, 30))
    campaign = CampaignFactory(countries=["FR"])
    number = number_in("FR", region="974", zone="Indian/Reunion", e164="+262692123456")
    decision = callability(number=number, campaign=campaign, at=at(REUNION, 2026, 3, 31, *hm))
    assert decision.reasons == reasons
    # The same instant in Paris is two hours earlier: Paris rules would give another answer.
    paris = callability(
        number=number_in("FR", region="75", zone="Europe/Paris"),
        campaign=campaign,
        at=at(REUNION, 2026, 3, 31, *hm),
    )
    assert paris.reasons == paris_reasons


def test_fr_next_callable_at_after_lunch_break_and_evening():
    fresh("bloctel", dt.date(2026, 3, 30))
    campaign = CampaignFactory(countries=["FR"])
    number = number_in("FR", zone="Europe/Paris")
    lunch = callability(number=number, campaign=campaign, at=at(PARIS, 2026, 3, 31, 13, 30))
    assert lunch.next_callable_at == at(PARIS, 2026, 3, 31, 14, 0)
    evening = callability(number=number, campaign=campaign, at=at(PARIS, 2026, 3, 31, 20, 0))
    assert evening.next_callable_at == at(PARIS, 2026, 4, 1, 10, 0)
    reunion = number_in("FR", region="974", zone="Indian/Reunion", e164="+262692000001")
    early = callability(number=reunion, campaign=campaign, at=at(PARIS, 2026, 3, 31, 6, 0))  # 08:00 there
    assert early.reasons == ("outside_hours",)
    assert early.next_callable_at == at(REUNION, 2026, 3, 31, 10, 0)


# --- daylight saving ---------------------------------------------------------------------------


def test_march_dst_sunday_is_closed_and_monday_opens_at_10_local():
    fresh("bloctel", dt.date(2026, 3, 28))
    campaign = CampaignFactory(countries=["FR"])
    number = number_in("FR", zone="Europe/Paris")
    sunday = callability(number=number, campaign=campaign, at=at(PARIS, 2026, 3, 29, 11, 0))
    assert sunday.reasons == ("day_closed",)
    # Monday 10:00 CEST is 08:00 UTC (it was 09:00 UTC the Friday before).
    assert sunday.next_callable_at == dt.datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
    friday = callability(number=number, campaign=campaign, at=at(PARIS, 2026, 3, 27, 9, 30))
    assert friday.next_callable_at == dt.datetime(2026, 3, 27, 9, 0, tzinfo=UTC)
    assert callability(
        number=number, campaign=campaign, at=dt.datetime(2026, 3, 30, 7, 59, tzinfo=UTC)
    ).reasons == ("outside_hours",)
    assert callability(
        number=number, campaign=campaign, at=dt.datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
    ).callable


def test_october_dst_sunday_is_closed_and_monday_opens_at_10_local():
    campaign = CampaignFactory(countries=["FR"])
    number = number_in("FR", zone="Europe/Paris")
    consent(number, campaign)  # opt-in regime since 2026-08-11
    sunday = callability(number=number, campaign=campaign, at=at(PARIS, 2026, 10, 25, 11, 0))
    assert sunday.reasons == ("day_closed",)
    # Monday 10:00 CET is 09:00 UTC.
    assert sunday.next_callable_at == dt.datetime(2026, 10, 26, 9, 0, tzinfo=UTC)
    assert callability(
        number=number, campaign=campaign, at=dt.datetime(2026, 10, 26, 8, 59, tzinfo=UTC)
    ).reasons == ("outside_hours",)
    assert callability(
        number=number, campaign=campaign, at=dt.datetime(2026, 10, 26, 9, 0, tzinfo=UTC)
    ).callable


# --- holidays by subdivision ---------------------------------------------------------------------


def test_good_friday_closed_in_alsace_open_in_paris():
    fresh("bloctel", dt.date(2026, 4, 1))
    campaign = CampaignFactory(countries=["FR"])
    good_friday = at(PARIS, 2026, 4, 3, 11, 0)
    alsace = number_in("FR", region="67", zone="Europe/Paris")
    moselle = number_in("FR", region="57", zone="Europe/Paris")
    paris = number_in("FR", region="75", zone="Europe/Paris")
    decisions = callability_many(numbers=[alsace, moselle, paris], campaign=campaign, at=good_friday)
    assert decisions[alsace.pk].reasons == ("holiday",)
    assert decisions[moselle.pk].reasons == ("holiday",)
    assert decisions[paris.pk].reasons == ()
    # Easter Monday is closed everywhere; Alsace reopens on Tuesday.
    assert decisions[alsace.pk].next_callable_at == at(PARIS, 2026, 4, 7, 10, 0)


def test_bavarian_holidays_vs_berlin():
    campaign = CampaignFactory(countries=["DE"])
    bavaria = number_in("DE", region="BY", zone="Europe/Berlin", e164="+4915112345670")
    berlin = number_in("DE", region="BE", zone="Europe/Berlin", e164="+4915112345671")
    for number in (bavaria, berlin):
        consent(number, campaign)
    # Assumption (Saturday 15 Aug 2026): only with the "catholic" category in Bavaria.
    assumption = callability_many(
        numbers=[bavaria, berlin], campaign=campaign, at=at(BERLIN, 2026, 8, 15, 11, 0)
    )
    assert assumption[bavaria.pk].reasons == ("holiday",)
    assert assumption[berlin.pk].reasons == ()
    # Corpus Christi (Thursday 4 Jun 2026): public in Bavaria, not in Berlin.
    corpus = callability_many(numbers=[bavaria, berlin], campaign=campaign, at=at(BERLIN, 2026, 6, 4, 11, 0))
    assert corpus[bavaria.pk].reasons == ("holiday",)
    assert corpus[berlin.pk].callable


def test_nl_5_december_until_18_30():
    campaign = CampaignFactory(countries=["NL"], starts_on=dt.date(2025, 1, 1))
    number = number_in("NL", zone="Europe/Amsterdam", e164="+31612345678")
    consent(number, campaign, given_at=dt.datetime(2025, 1, 1, tzinfo=UTC))
    assert callability(number=number, campaign=campaign, at=at(AMSTERDAM, 2025, 12, 5, 18, 29)).callable
    late = callability(number=number, campaign=campaign, at=at(AMSTERDAM, 2025, 12, 5, 18, 31))
    assert late.reasons == ("outside_hours",)
    # Saturday 6 Dec: 10:00–16:00.
    assert late.next_callable_at == at(AMSTERDAM, 2025, 12, 6, 10, 0)
    # An ordinary Friday stays open until 21:00.
    assert callability(number=number, campaign=campaign, at=at(AMSTERDAM, 2025, 11, 28, 18, 31)).callable


def test_it_day_before_a_holiday_is_10_to_19():
    fresh("rpo", dt.date(2026, 5, 25))
    campaign = CampaignFactory(countries=["IT"])
    number = number_in("IT", region="MI", zone="Europe/Rome", e164="+393471234567")
    consent(number, campaign)
    # Monday 1 Jun 2026 is the eve of Republic Day (2 Jun).
    early = callability(number=number, campaign=campaign, at=at(ROME, 2026, 6, 1, 9, 30))
    assert early.reasons == ("outside_hours",)
    assert early.next_callable_at == at(ROME, 2026, 6, 1, 10, 0)
    assert callability(number=number, campaign=campaign, at=at(ROME, 2026, 6, 1, 18, 59)).callable
    assert callability(number=number, campaign=campaign, at=at(ROME, 2026, 6, 1, 19, 0)).reasons == (
        "outside_hours",
    )
    assert callability(number=number, campaign=campaign, at=at(ROME, 2026, 6, 2, 11, 0)).reasons == (
        "holiday",
    )
    # An ordinary Monday opens at 09:00 and closes at 20:00.
    assert callability(number=number, campaign=campaign, at=at(ROME, 2026, 5, 25, 9, 30)).callable
    assert callability(number=number, campaign=campaign, at=at(ROME, 2026, 5, 25, 19, 30)).callable


def test_ambiguous_spanish_mobile_needs_madrid_and_canaries_open():
    fresh("robinson", dt.date(2026, 3, 25))
    campaign = CampaignFactory(countries=["ES"])
    number = number_in(
        "ES", zone="Europe/Madrid", candidates=["Europe/Madrid", "Atlantic/Canary"], e164="+34612345678"
    )
    consent(number, campaign)
    # 09:30 in Madrid is 08:30 on the Canaries.
    morning = callability(number=number, campaign=campaign, at=at(MADRID, 2026, 3, 31, 9, 30))
    assert morning.reasons == ("outside_hours",)
    assert morning.next_callable_at == at(MADRID, 2026, 3, 31, 10, 0)
    assert callability(number=number, campaign=campaign, at=at(MADRID, 2026, 3, 31, 20, 30)).callable
    # 21:00 in Madrid: closed there though the Canaries (20:00) are open.
    assert callability(number=number, campaign=campaign, at=at(MADRID, 2026, 3, 31, 21, 0)).reasons == (
        "outside_hours",
    )


# --- frequency and refusals ----------------------------------------------------------------------


def test_fr_cap_4_in_30_days_across_two_campaigns_and_two_floors_released_on_day_31():
    advertiser = AdvertiserFactory()
    first = CampaignFactory(advertiser=advertiser, countries=["FR"])
    second = CampaignFactory(advertiser=advertiser, countries=["FR"])
    lyon, dakar = FloorFactory(), FloorFactory(site_city="Dakar", time_zone="Africa/Dakar")
    number = number_in("FR", zone="Europe/Paris")
    attempt(campaign=first, number=number, started_at=at(PARIS, 2026, 3, 2, 10, 30), floor=lyon)
    attempt(campaign=first, number=number, started_at=at(PARIS, 2026, 3, 5, 11, 0), floor=lyon)
    attempt(campaign=second, number=number, started_at=at(PARIS, 2026, 3, 10, 15, 0), floor=dakar)
    fresh("bloctel", dt.date(2026, 3, 20))
    three = callability(number=number, campaign=second, at=at(PARIS, 2026, 3, 20, 11, 0))
    assert three.callable
    attempt(campaign=second, number=number, started_at=at(PARIS, 2026, 3, 12, 16, 0), floor=dakar)
    for campaign in (first, second):
        capped = callability(number=number, campaign=campaign, at=at(PARIS, 2026, 3, 20, 11, 0))
        assert capped.reasons == ("frequency_cap",)
        # The 2 March attempt leaves the rolling window 30 × 24 h later: day 31, 11:30 summer time.
        assert capped.next_callable_at == at(PARIS, 2026, 4, 1, 11, 30)
    fresh("bloctel", dt.date(2026, 4, 1))
    assert callability(number=number, campaign=first, at=at(PARIS, 2026, 4, 1, 11, 29)).reasons == (
        "frequency_cap",
    )
    assert callability(number=number, campaign=first, at=at(PARIS, 2026, 4, 1, 11, 30)).callable
    # Another advertiser's attempts do not count.
    other = CampaignFactory(countries=["FR"])
    assert callability(number=number, campaign=other, at=at(PARIS, 2026, 3, 20, 11, 0)).callable


def test_cap_counts_attempts_on_the_number_whoever_the_prospect():
    fresh("bloctel", dt.date(2026, 3, 20))
    campaign = CampaignFactory(countries=["FR"])
    number = number_in("FR", zone="Europe/Paris")
    for day in (2, 3, 4, 5):
        a = attempt(campaign=campaign, number=number, started_at=at(PARIS, 2026, 3, day, 11, 0))
        a.prospect = None  # erased since: the attempt stays, anonymised
        a.save()
    assert callability(number=number, campaign=campaign, at=at(PARIS, 2026, 3, 20, 11, 0)).reasons == (
        "frequency_cap",
    )


def test_fr_60_day_quiet_period_after_a_refusal():
    campaign = CampaignFactory(countries=["FR"])
    number = number_in("FR", zone="Europe/Paris")
    attempt(
        campaign=campaign,
        number=number,
        started_at=at(PARIS, 2026, 3, 2, 11, 0),
        category=OutcomeCode.Category.REFUSAL,
    )
    fresh("bloctel", dt.date(2026, 4, 29))
    day_59 = callability(number=number, campaign=campaign, at=at(PARIS, 2026, 4, 30, 11, 0))
    assert day_59.reasons == ("refusal_quiet_period",)
    # 60 days end on Friday 1 May 2026 11:00, Labour Day; next is Monday 4 May 10:00.
    assert day_59.next_callable_at == at(PARIS, 2026, 5, 4, 10, 0)
    fresh("bloctel", dt.date(2026, 5, 4))
    assert callability(number=number, campaign=campaign, at=at(PARIS, 2026, 5, 4, 10, 0)).callable


# --- legal basis ---------------------------------------------------------------------------------


def test_fr_opt_out_until_10_august_opt_in_from_11_august_2026():
    fresh("bloctel", dt.date(2026, 8, 3))
    campaign = CampaignFactory(countries=["FR"])
    number = number_in("FR", zone="Europe/Paris")
    before = callability(number=number, campaign=campaign, at=at(PARIS, 2026, 8, 10, 11, 0))
    assert before.callable
    after = callability(number=number, campaign=campaign, at=at(PARIS, 2026, 8, 11, 11, 0))
    assert after.reasons == ("no_consent",)
    assert after.next_callable_at is None
    consent(number, campaign, given_at=dt.datetime(2026, 8, 1, tzinfo=UTC))
    assert callability(number=number, campaign=campaign, at=at(PARIS, 2026, 8, 11, 11, 0)).callable


def test_fr_bloctel_blocks_before_opt_in_unless_ongoing_contract():
    imp = fresh("bloctel", dt.date(2026, 7, 1))
    campaign = CampaignFactory(countries=["FR"])
    number = number_in("FR", zone="Europe/Paris", is_customer=True)
    register_entry(imp, number.e164, dt.date(2024, 1, 1))
    listed = callability(number=number, campaign=campaign, at=at(PARIS, 2026, 7, 2, 11, 0))
    assert listed.reasons == ("register:bloctel",)
    assert listed.next_callable_at is None
    consent(number, campaign, basis="contract", contract_ref="LEASE-1")
    assert callability(number=number, campaign=campaign, at=at(PARIS, 2026, 7, 2, 11, 0)).callable


def test_de_needs_consent_even_for_customers():
    campaign = CampaignFactory(countries=["DE"])
    number = number_in("DE", region="BE", zone="Europe/Berlin", e164="+4915112345679", is_customer=True)
    monday = at(BERLIN, 2026, 11, 2, 11, 0)
    assert callability(number=number, campaign=campaign, at=monday).reasons == ("no_consent",)
    consent(number, campaign, basis="contract", contract_ref="C-1")
    assert callability(number=number, campaign=campaign, at=monday).reasons == ("no_consent",)
    withdrawn = consent(number, campaign, withdrawn_at=dt.datetime(2026, 10, 1, tzinfo=UTC))
    assert callability(number=number, campaign=campaign, at=monday).reasons == ("no_consent",)
    withdrawn.withdrawn_at = None
    withdrawn.save()
    assert callability(number=number, campaign=campaign, at=monday).callable
    # A consent of another advertiser does not count.
    assert callability(number=number, campaign=CampaignFactory(countries=["DE"]), at=monday).reasons == (
        "no_consent",
    )


def test_nl_customers_need_consent_from_1_july_2026():
    campaign = CampaignFactory(countries=["NL"])
    number = number_in("NL", zone="Europe/Amsterdam", e164="+31612345670", is_customer=True)
    consent(number, campaign, basis="contract", contract_ref="SUB-9")
    assert callability(number=number, campaign=campaign, at=at(AMSTERDAM, 2026, 6, 30, 11, 0)).callable
    assert callability(number=number, campaign=campaign, at=at(AMSTERDAM, 2026, 7, 1, 11, 0)).reasons == (
        "no_consent",
    )


def test_es_consent_older_than_two_years_is_expired():
    fresh("robinson", dt.date(2026, 11, 1))
    campaign = CampaignFactory(countries=["ES"])
    number = number_in("ES", region="MD", zone="Europe/Madrid", e164="+34612345679")
    consent(number, campaign, given_at=dt.datetime(2024, 11, 1, tzinfo=UTC))
    # Madrid moves All Saints (Sunday 1 Nov 2026) to Monday 2 Nov: ask on Tuesday.
    decision = callability(number=number, campaign=campaign, at=at(MADRID, 2026, 11, 3, 11, 0))
    assert decision.reasons == ("consent_expired",)
    consent(number, campaign, given_at=dt.datetime(2025, 11, 1, tzinfo=UTC))
    assert callability(number=number, campaign=campaign, at=at(MADRID, 2026, 11, 3, 11, 0)).callable


def test_es_robinson_is_matched_by_hash_and_a_consent_overrides_it():
    imp = fresh("robinson", dt.date(2026, 11, 1))
    campaign = CampaignFactory(countries=["ES"])
    number = number_in("ES", region="MD", zone="Europe/Madrid", e164="+34612345677", is_customer=True)
    register_entry(imp, robinson_hash(number.e164))
    consent(number, campaign, basis="contract", contract_ref="X")
    assert callability(number=number, campaign=campaign, at=at(MADRID, 2026, 11, 3, 11, 0)).callable
    other = number_in("ES", region="MD", zone="Europe/Madrid", e164="+34612345676", is_customer=True)
    register_entry(imp, robinson_hash(other.e164))
    assert callability(number=other, campaign=campaign, at=at(MADRID, 2026, 11, 3, 11, 0)).reasons == (
        "register:robinson",
        "no_consent",
    )


# --- registers -----------------------------------------------------------------------------------


def test_be_consent_counts_against_dncm_only_if_given_after_registration():
    imp = fresh("dncm", dt.date(2026, 11, 1))
    campaign = CampaignFactory(countries=["BE"])
    number = number_in("BE", zone="Europe/Brussels", e164="+32470123456")
    register_entry(imp, number.e164, dt.date(2026, 5, 1))
    monday = at(BRUSSELS, 2026, 11, 2, 11, 0)
    consent(number, campaign, given_at=dt.datetime(2026, 4, 1, tzinfo=UTC))
    older = callability(number=number, campaign=campaign, at=monday)
    assert older.reasons == ("register:dncm",)
    assert older.details["registered_at"] == "2026-05-01"
    consent(number, campaign, given_at=dt.datetime(2026, 6, 1, tzinfo=UTC))
    assert callability(number=number, campaign=campaign, at=monday).callable


def test_it_rpo_registration_revokes_earlier_consents():
    imp = fresh("rpo", dt.date(2026, 10, 30))
    campaign = CampaignFactory(countries=["IT"])
    number = number_in("IT", region="RM", zone="Europe/Rome", e164="+393471234568")
    register_entry(imp, number.e164, dt.date(2026, 5, 1))
    monday = at(ROME, 2026, 11, 2, 11, 0)
    consent(number, campaign, given_at=dt.datetime(2026, 4, 1, tzinfo=UTC))
    assert callability(number=number, campaign=campaign, at=monday).reasons == ("register:rpo", "no_consent")
    consent(number, campaign, given_at=dt.datetime(2026, 6, 1, tzinfo=UTC))
    assert callability(number=number, campaign=campaign, at=monday).callable


def test_stale_or_missing_register_blocks_the_country():
    campaign = CampaignFactory(countries=["BE"])
    number = number_in("BE", zone="Europe/Brussels", e164="+32470123457")
    monday = at(BRUSSELS, 2026, 11, 2, 11, 0)
    missing = callability(number=number, campaign=campaign, at=monday)
    assert missing.reasons == ("register_stale",)
    assert missing.next_callable_at is None
    RegisterImportFactory(register="dncm", file_date=dt.date(2026, 10, 27))  # 6 days old
    stale = callability(number=number, campaign=campaign, at=monday)
    assert stale.reasons == ("register_stale",)
    assert stale.details["register_file_date"] == "2026-10-27"
    assert callability(number=number, campaign=campaign, at=at(BRUSSELS, 2026, 10, 31, 11, 0)).callable


# --- suppression and static checks ---------------------------------------------------------------


def test_expired_internal_suppression_no_longer_blocks():
    fresh("dncm", dt.date(2026, 11, 1))
    campaign = CampaignFactory(countries=["BE"])
    number = number_in("BE", zone="Europe/Brussels", e164="+32470123458")
    monday = at(BRUSSELS, 2026, 11, 2, 11, 0)
    suppress(
        number.e164,
        created_at=dt.datetime(2026, 9, 1, tzinfo=UTC),
        expires_at=dt.datetime(2026, 10, 1, tzinfo=UTC),
    )
    assert callability(number=number, campaign=campaign, at=monday).callable
    suppress(number.e164, created_at=dt.datetime(2026, 10, 2, tzinfo=UTC), advertiser=campaign.advertiser)
    decision = callability(number=number, campaign=campaign, at=monday)
    assert decision.reasons == ("suppressed",)
    assert decision.next_callable_at is None
    # Another advertiser's suppression does not apply to this one's campaigns.
    assert callability(number=number, campaign=CampaignFactory(countries=["BE"]), at=monday).callable


def test_hash_only_suppression_of_an_erased_person_still_blocks_the_number():
    fresh("dncm", dt.date(2026, 11, 1))
    campaign = CampaignFactory(countries=["BE"])
    number = number_in("BE", zone="Europe/Brussels", e164="+32470123459")
    suppress(number.e164, created_at=dt.datetime(2026, 10, 2, tzinfo=UTC), hash_only=True)
    assert callability(number=number, campaign=campaign, at=at(BRUSSELS, 2026, 11, 2, 11, 0)).reasons == (
        "suppressed",
    )


def test_static_reasons_are_all_reported():
    campaign = CampaignFactory(countries=["BE"], starts_on=dt.date(2026, 1, 1))
    number = number_in("DE", region="BY", zone="Europe/Berlin", e164="+4915112340000")
    number.is_valid = False
    number.number_type = PhoneNumber.Type.TOLL_FREE
    number.save()
    number.prospect.erased_at = dt.datetime(2026, 10, 1, tzinfo=UTC)
    number.prospect.save()
    suppress(number.e164, created_at=dt.datetime(2026, 10, 1, tzinfo=UTC))
    decision = callability(number=number, campaign=campaign, at=at(BERLIN, 2026, 11, 8, 11, 0))  # Sunday
    # Germany is not a country of this campaign: its rules (consent, Sunday) are not asked.
    assert decision.reasons == (
        "suppressed",
        "invalid_number",
        "number_type",
        "country_not_in_campaign",
        "erased",
    )
    assert decision.next_callable_at is None


def test_campaign_dates_and_country_without_policy():
    fresh("dncm", dt.date(2026, 11, 1))
    campaign = CampaignFactory(
        countries=["BE", "LU"], starts_on=dt.date(2026, 11, 3), ends_on=dt.date(2026, 11, 30)
    )
    number = number_in("BE", zone="Europe/Brussels", e164="+32470123450")
    early = callability(number=number, campaign=campaign, at=at(BRUSSELS, 2026, 11, 2, 11, 0))
    assert early.reasons == ("outside_campaign_dates",)
    assert early.next_callable_at == at(BRUSSELS, 2026, 11, 3, 9, 0)
    lux = number_in("LU", zone="Europe/Luxembourg", e164="+352621123456")
    assert callability(number=lux, campaign=campaign, at=at(BRUSSELS, 2026, 11, 3, 11, 0)).reasons == (
        "no_policy",
    )


def test_callability_many_uses_a_constant_number_of_queries(django_assert_max_num_queries):
    fresh("bloctel", dt.date(2026, 3, 30))
    campaign = CampaignFactory(countries=["FR"])
    numbers = [number_in("FR", zone="Europe/Paris") for _ in range(30)]
    for number in numbers[:10]:
        attempt(campaign=campaign, number=number, started_at=at(PARIS, 2026, 3, 30, 11, 0))
        consent(number, campaign)
    with django_assert_max_num_queries(7):
        decisions = rules.callability_many(
            numbers=numbers, campaign=campaign, at=at(PARIS, 2026, 3, 31, 11, 0)
        )
    assert len(decisions) == 30
    assert all(d.callable for d in decisions.values())
