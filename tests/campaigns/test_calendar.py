"""Issue 4: calling days and hours of the seeded policies (pure functions over loaded rows)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from campaigns.models import CountryPolicy
from campaigns.selectors.calendar import PolicyBook, day_status, is_holiday, legal_date, next_open_instant
from campaigns.services.policies import seed_country_policies

pytestmark = pytest.mark.django_db
H = 3600


@pytest.fixture
def book():
    seed_country_policies()
    return PolicyBook(CountryPolicy.objects.all())


def test_fr_day_has_two_intervals_and_weekends_are_closed(book):
    fr = book.on("FR", dt.date(2026, 3, 31))
    assert day_status(fr, "", dt.date(2026, 3, 31)) == (None, [(10 * H, 13 * H), (14 * H, 20 * H)])
    assert day_status(fr, "", dt.date(2026, 4, 4)) == ("day_closed", [])  # Saturday
    assert day_status(fr, "", dt.date(2026, 5, 1)) == ("holiday", [])  # Labour Day


def test_alsace_moselle_aliases_and_unknown_regions(book):
    fr = book.on("FR", dt.date(2026, 4, 3))
    good_friday = dt.date(2026, 4, 3)
    assert [is_holiday(fr, region, good_friday) for region in ("57", "67", "68", "6AE", "75", "")] == [
        True,
        True,
        True,
        True,
        False,
        False,
    ]
    # An unknown subdivision keeps the national holidays.
    assert is_holiday(fr, "not-a-region", dt.date(2026, 7, 14)) is True
    assert is_holiday(fr, "974", dt.date(2026, 12, 20)) is True  # Réunion: abolition of slavery


def test_nl_special_days_cut_the_day_at_18_30(book):
    nl = book.on("NL", dt.date(2025, 12, 5))
    assert day_status(nl, "", dt.date(2025, 12, 5)) == (None, [(9 * H, 18 * H + 30 * 60)])
    assert day_status(nl, "", dt.date(2026, 5, 4)) == (None, [(9 * H, 18 * H + 30 * 60)])
    assert day_status(nl, "", dt.date(2025, 12, 6)) == (None, [(10 * H, 16 * H)])  # Saturday
    assert day_status(nl, "", dt.date(2025, 12, 7)) == ("day_closed", [])  # Sunday


def test_it_eve_of_holiday_and_saturday(book):
    it = book.on("IT", dt.date(2026, 6, 1))
    assert day_status(it, "", dt.date(2026, 6, 1)) == (None, [(10 * H, 19 * H)])  # eve of 2 June
    assert day_status(it, "", dt.date(2026, 6, 6)) == (None, [(10 * H, 19 * H)])  # Saturday
    assert day_status(it, "", dt.date(2026, 6, 8)) == (None, [(9 * H, 20 * H)])
    # Milan's patron saint (7 Dec) makes 6 Dec an eve there, not in Rome; both Sundays are closed.
    assert is_holiday(it, "MI", dt.date(2026, 12, 7)) is True
    assert is_holiday(it, "RM", dt.date(2026, 12, 7)) is False


def test_de_catholic_category_gives_assumption_in_bavaria_only(book):
    de = book.on("DE", dt.date(2026, 8, 15))
    assert is_holiday(de, "BY", dt.date(2026, 8, 15)) is True
    assert is_holiday(de, "BE", dt.date(2026, 8, 15)) is False
    assert is_holiday(de, "BE", dt.date(2026, 3, 8)) is True  # Berlin: Women's Day


def test_policy_periods_switch_on_the_legal_date(book):
    assert book.on("FR", dt.date(2026, 8, 10)).legal_basis == "opt_out"
    assert book.on("FR", dt.date(2026, 8, 11)).legal_basis == "consent"
    assert book.on("FR", dt.date(2023, 2, 28)) is None
    # 23:30 in Réunion on 10 August is still 10 August in Paris: the law's calendar.
    late = dt.datetime(2026, 8, 10, 23, 30, tzinfo=ZoneInfo("Indian/Reunion"))
    assert legal_date("FR", late) == dt.date(2026, 8, 10)
    assert book.at("FR", late).legal_basis == "opt_out"
    assert book.on("LU", dt.date(2026, 8, 10)) is None


def test_extra_blocked_dates(book):
    be = CountryPolicy.objects.get(country="BE")
    be.extra_blocked_dates = ["2026-11-04"]
    assert day_status(be, "", dt.date(2026, 11, 4)) == ("holiday", [])
    assert day_status(be, "", dt.date(2026, 11, 5)) == (None, [(9 * H, 20 * H)])


def test_next_open_instant_over_a_long_weekend_and_every_zone(book):
    paris = ZoneInfo("Europe/Paris")
    # Thursday 14 May 2026 is Ascension: from Wednesday evening the next opening is Friday 10:00.
    found = next_open_instant(
        book=book,
        country="FR",
        region="",
        zones=["Europe/Paris"],
        start=dt.datetime(2026, 5, 13, 20, 0, tzinfo=paris).astimezone(dt.UTC),
        until=dt.datetime(2026, 5, 27, tzinfo=dt.UTC),
        campaign=None,
    )
    assert found == dt.datetime(2026, 5, 15, 10, 0, tzinfo=paris)
    # Portugal and the Azores (UTC-1 in winter): both open only from 09:00 Azores = 10:00 Lisbon.
    lisbon = ZoneInfo("Europe/Lisbon")
    found = next_open_instant(
        book=book,
        country="PT",
        region="",
        zones=["Europe/Lisbon", "Atlantic/Azores"],
        start=dt.datetime(2026, 11, 3, 8, 0, tzinfo=lisbon).astimezone(dt.UTC),
        until=dt.datetime(2026, 11, 17, tzinfo=dt.UTC),
        campaign=None,
    )
    assert found == dt.datetime(2026, 11, 3, 10, 0, tzinfo=lisbon)


def test_unknown_zone_names_fall_back_to_the_country_zone():
    from types import SimpleNamespace

    from campaigns.selectors.callability import number_zones

    number = SimpleNamespace(time_zone="Mars/Olympus", time_zone_candidates=["", "Europe/Nowhere", 3])
    assert number_zones(number, "FR") == ["Europe/Paris"]
    number = SimpleNamespace(
        time_zone="Europe/Madrid", time_zone_candidates=["Atlantic/Canary", "Europe/Madrid"]
    )
    assert number_zones(number, "ES") == ["Europe/Madrid", "Atlantic/Canary"]
