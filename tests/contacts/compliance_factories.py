"""Factories of the compliance area (consent records, attempts for erasure tests)."""

import datetime as dt

import factory

from campaigns.models import Attempt
from contacts.models import ConsentRecord
from tests.factories import AdvertiserFactory, CampaignFactory, OutcomeCodeFactory, ProspectFactory


class ConsentRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConsentRecord

    prospect = factory.SubFactory(ProspectFactory)
    advertiser = factory.SubFactory(AdvertiserFactory)
    given_at = dt.datetime(2026, 1, 10, 12, 0, tzinfo=dt.UTC)
    channel = "web form"
    evidence = factory.LazyFunction(lambda: {"text_version": "v3", "form": "test-drive-2026"})


class AttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Attempt

    campaign = factory.SubFactory(CampaignFactory)
    advertiser = factory.LazyAttribute(lambda o: o.campaign.advertiser)
    outcome = factory.SubFactory(OutcomeCodeFactory, campaign=factory.SelfAttribute("..campaign"))
    started_at = dt.datetime(2026, 2, 2, 10, 0, tzinfo=dt.UTC)
    note = "Wants a blue one, call after 6pm, wife is Anne"
