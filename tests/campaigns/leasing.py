"""Shared set-up of the leasing, results and callback tests (issue 6): a French campaign running
at a fixed instant inside the French window, callable leads (opt-in consent on file, as FR has
required since 2026-08-11), a dialler credential per floor, an agent per floor."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from campaigns.models import Campaign, OutcomeCode
from campaigns.services.diallers import issue_dialler_credential
from campaigns.services.policies import seed_country_policies
from contacts.models import ConsentRecord
from tests.factories import (
    AgentFactory,
    CampaignFactory,
    FloorFactory,
    LeadFactory,
    OutcomeCodeFactory,
    PhoneNumberFactory,
    ProspectFactory,
)

PARIS = ZoneInfo("Europe/Paris")
# Monday 23 November 2026, 10:30 in Paris: inside the French morning window (10:00–13:00).
NOW = dt.datetime(2026, 11, 23, 10, 30, tzinfo=PARIS)
GIVEN = dt.datetime(2026, 9, 1, 12, 0, tzinfo=dt.UTC)


def policies() -> None:
    """The seeded country policies (a transactional test elsewhere may have flushed them)."""
    seed_country_policies()


def running_campaign(**kwargs) -> Campaign:
    campaign = CampaignFactory(**{"status": Campaign.Status.RUNNING, **kwargs})
    OutcomeCodeFactory(
        campaign=campaign,
        code="no-answer",
        category=OutcomeCode.Category.NO_CONTACT,
        action=OutcomeCode.Action.RETRY,
        retry_after_minutes=120,
        max_retries=3,
    )
    OutcomeCodeFactory(
        campaign=campaign,
        code="callback",
        category=OutcomeCode.Category.CALLBACK,
        action=OutcomeCode.Action.CALLBACK,
    )
    OutcomeCodeFactory(
        campaign=campaign,
        code="booked",
        category=OutcomeCode.Category.SUCCESS,
        action=OutcomeCode.Action.FINAL,
    )
    OutcomeCodeFactory(
        campaign=campaign,
        code="not-interested",
        category=OutcomeCode.Category.REFUSAL,
        action=OutcomeCode.Action.FINAL,
    )
    OutcomeCodeFactory(
        campaign=campaign,
        code="do-not-call",
        category=OutcomeCode.Category.DO_NOT_CALL,
        action=OutcomeCode.Action.SUPPRESS,
    )
    return campaign


def callable_lead(*, campaign, floor, consent: bool = True, **kwargs):
    """A lead of a French mobile whose prospect consented to this advertiser's calls."""
    prospect = ProspectFactory(country="FR")
    number = PhoneNumberFactory(prospect=prospect)
    if consent:
        ConsentRecord.objects.create(
            prospect=prospect,
            advertiser=campaign.advertiser,
            given_at=GIVEN,
            channel="web form",
            evidence={"text_version": "v1"},
        )
    return LeadFactory(campaign=campaign, floor=floor, phone_number=number, prospect=prospect, **kwargs)


def dialler(*floors, name: str | None = None):
    integration, token = issue_dialler_credential(
        name=name or f"dialler-{floors[0].code}", floors=list(floors), actor=None, now=NOW
    )
    return integration, token


def token_client(token: str):
    """An API client that sends `token` (a dialler's or a person's) with every request."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def leasing_scene(*, leads: int) -> SimpleNamespace:
    """A running French campaign with `leads` callable leads on floor dakar-1, the floor's dialler
    credential and an API client that holds its token."""
    policies()
    floor = FloorFactory(code="dakar-1", time_zone="Africa/Dakar")
    campaign = running_campaign(name="Model E test drives")
    created = [callable_lead(campaign=campaign, floor=floor) for _ in range(leads)]
    integration, token = dialler(floor)
    return SimpleNamespace(
        floor=floor, campaign=campaign, leads=created, integration=integration, client=token_client(token)
    )


__all__ = ["AgentFactory", "FloorFactory"]
