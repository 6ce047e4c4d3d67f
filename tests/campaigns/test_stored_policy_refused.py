"""A country policy row stored with a value the decision cannot compute with (saved before a check
existed, edited in the database, or a `holidays` upgrade that dropped a category): it used to
raise at every decision of its country, so every lease of a floor calling that country was a 500.
Now the row is left out where policies are loaded: its country has no policy in force for that
period, its numbers are held as `no_policy` (never called blind), the decision says which row was
refused and why, and the error log names it."""

from __future__ import annotations

import logging

import pytest
import time_machine

from campaigns.models import CountryPolicy, Lead
from campaigns.selectors.callability import callability
from tests.campaigns.leasing import NOW, leasing_scene

pytestmark = pytest.mark.django_db

BAD_VALUES = {
    "a holiday category the calendar does not have": {"holiday_categories": ["public", "bogus"]},
    "a day count past the date arithmetic": {"consent_max_age_days": 2**31 - 1},
    "an interval that is not HH:MM": {"windows": {"0": [["9h", "12h"]]}},
    "subdivision aliases that are not a mapping": {"holiday_subdivision_aliases": "6AE"},
}


def _spoil(**values) -> CountryPolicy:
    policy = CountryPolicy.objects.filter(country="FR").latest("effective_from")
    CountryPolicy.objects.filter(pk=policy.pk).update(**values)  # past the service, as a raw edit would
    return policy


@pytest.mark.parametrize("values", BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_a_lease_holds_the_country_s_leads_and_says_why(values, caplog):
    scene = leasing_scene(leads=3)
    policy = _spoil(**values)
    field = next(iter(values))
    with time_machine.travel(NOW, tick=False), caplog.at_level(logging.ERROR):
        response = scene.client.post("/api/v1/dialler/leases/", {"size": 10}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["items"], body["empty"]["reason"]) == ([], "held_at_handover")
    assert body["empty"]["counts"]["checked:no_policy"] == 3
    assert set(Lead.objects.values_list("state", flat=True)) == {Lead.State.PENDING}
    refused = [r for r in caplog.records if r.name == "campaigns.selectors.calendar"]
    assert refused and all(f"#{policy.pk}" in r.getMessage() and field in r.getMessage() for r in refused)


def test_the_decision_names_the_refused_row():
    scene = leasing_scene(leads=1)
    policy = _spoil(holiday_categories=["public", "bogus"])
    decision = callability(number=scene.leads[0].phone_number, campaign=scene.campaign, at=NOW)
    assert (decision.callable, decision.reasons) == (False, ("no_policy",))
    assert decision.details["refused_policies"] == [
        f"#{policy.pk} {policy}: holiday_categories: 'bogus': not a holiday category of FR; use one of public, school"
    ]


def test_the_other_periods_of_the_country_still_apply():
    scene = leasing_scene(leads=1)
    _spoil(holiday_categories=["bogus"])  # the period from 2026-08-11
    before = NOW.replace(year=2026, month=3)  # in the period 2023-03-01 – 2026-08-10, a Monday 10:30
    decision = callability(number=scene.leads[0].phone_number, campaign=scene.campaign, at=before)
    assert "no_policy" not in decision.reasons
