"""Issue 6: the lease-path form of the decision (`callability_loaded`, prospects already read with
the candidate leads) gives exactly the decisions of `callability_many`, refusals included.

Populations come from the issue-4 property test's builder (8 countries, registers fresh, stale or
missing, consents of every basis, suppressions global / per advertiser / hash-only, attempts and
refusals, erased prospects, invalid and non-personal numbers); fixed seeds, so the run is
reproducible. The prospects are read exactly as leasing reads them (`CANDIDATE_FIELDS`).
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import pytest
from django.db import transaction

from campaigns.models import Lead
from campaigns.selectors.callability import callability_loaded, callability_many
from campaigns.services.leases import CANDIDATE_FIELDS
from campaigns.services.policies import seed_country_policies
from tests.campaigns.test_callability_property import EDGES, _random_instant, build_population
from tests.factories import FloorFactory

pytestmark = pytest.mark.django_db
SEEDS = range(12)  # 12 populations × 3 instants ≈ 700 decisions compared


def _as_leasing_reads_them(campaign, numbers):
    """The numbers and prospects of `numbers`, loaded through leads the way `_candidates` does."""
    floor = FloorFactory()
    Lead.objects.bulk_create(
        [
            Lead(campaign=campaign, prospect_id=n.prospect_id, phone_number=n, floor=floor)
            for n in {n.prospect_id: n for n in numbers}.values()
        ]
    )
    leads = list(
        Lead.objects.filter(campaign=campaign)
        .select_related("phone_number", "prospect")
        .only(*CANDIDATE_FIELDS)
        .order_by("id")
    )
    return [lead.phone_number for lead in leads], {lead.prospect_id: lead.prospect for lead in leads}


def test_loaded_form_gives_the_same_decisions_as_callability_many():
    reasons: Counter = Counter()
    compared = 0
    for seed in SEEDS:
        rng = random.Random(seed)
        instants = [rng.choice(EDGES), _random_instant(rng), _random_instant(rng)]
        with transaction.atomic():
            seed_country_policies()
            campaign, population = build_population(rng, instants)
            numbers, prospects = _as_leasing_reads_them(campaign, population)
            for at in instants:
                expected = callability_many(numbers=numbers, campaign=campaign, at=at)
                loaded = callability_loaded(numbers=numbers, prospects=prospects, campaign=campaign, at=at)
                assert loaded.decisions == expected, (seed, at)
                compared += len(expected)
                for decision in expected.values():
                    reasons.update(r.split(":", 1)[0] for r in decision.reasons)
                    reasons["callable" if decision.callable else "refused"] += 1
            transaction.set_rollback(True)
    assert compared >= 500
    # The comparison covered refusals of every family, and callable numbers too.
    for reason in (
        "callable",
        "refused",
        "suppressed",
        "register",
        "no_consent",
        "outside_hours",
        "outside_campaign_dates",
        "erased",
        "invalid_number",
        "number_type",
        "country_not_in_campaign",
        "no_policy",
    ):
        assert reasons[reason] > 0, (reason, dict(reasons))


def test_loaded_form_on_caps_and_quiet_periods():
    """The time-based refusals the random populations rarely reach: a French callee called 4 times
    in 30 days (cap), one who refused 10 days ago (60-day quiet period), one callable."""
    from campaigns.models import OutcomeCode
    from tests.campaigns.leasing import GIVEN, NOW
    from tests.campaigns.rules_factories import ConsentFactory, attempt, number_in
    from tests.factories import CampaignFactory

    seed_country_policies()
    campaign = CampaignFactory(countries=["FR"], starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31))
    capped, quiet, free = (number_in("FR", zone="Europe/Paris") for _ in range(3))
    for number in (capped, quiet, free):
        ConsentFactory(prospect=number.prospect, advertiser=campaign.advertiser, given_at=GIVEN)
    for days in (1, 5, 9, 20):
        attempt(campaign=campaign, number=capped, started_at=NOW - dt.timedelta(days=days))
    attempt(
        campaign=campaign,
        number=quiet,
        started_at=NOW - dt.timedelta(days=10),
        category=OutcomeCode.Category.REFUSAL,
    )
    numbers = [capped, quiet, free]
    loaded = callability_loaded(
        numbers=numbers, prospects={n.prospect_id: n.prospect for n in numbers}, campaign=campaign, at=NOW
    )
    assert loaded.decisions == callability_many(numbers=numbers, campaign=campaign, at=NOW)
    assert [loaded.decisions[n.pk].reasons for n in numbers] == [
        ("frequency_cap",),
        ("refusal_quiet_period",),
        (),
    ]
    assert loaded.decisions[capped.pk].next_callable_at is not None
    assert loaded.decisions[free.pk].callable is True


def test_loaded_form_reads_neither_prospects_nor_unneeded_consents(django_assert_num_queries):
    """An opt-out country without a register: the policies and the suppressions, 2 queries (no
    prospects, no consents); the policy book used is handed back."""
    from campaigns.models import CountryPolicy
    from tests.campaigns.rules_factories import number_in
    from tests.factories import CampaignFactory

    at = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.UTC)
    CountryPolicy.objects.create(
        country="ZZ",
        effective_from=dt.date(2000, 1, 1),
        label="test: open 24/7, opt-out, no register",
        windows={str(d): [["00:00", "24:00"]] for d in range(7)},
        blocked_on_holidays=False,
        legal_basis=CountryPolicy.LegalBasis.OPT_OUT,
    )
    campaign = CampaignFactory(countries=["ZZ"], starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31))
    numbers = [number_in("ZZ", zone="UTC") for _ in range(3)]
    prospects = {n.prospect_id: n.prospect for n in numbers}
    with django_assert_num_queries(2):
        loaded = callability_loaded(numbers=numbers, prospects=prospects, campaign=campaign, at=at)
    assert loaded.decisions == callability_many(numbers=numbers, campaign=campaign, at=at)
    assert [d.callable for d in loaded.decisions.values()] == [True, True, True]
    assert loaded.book.at("ZZ", at).label == "test: open 24/7, opt-out, no register"
