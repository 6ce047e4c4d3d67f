"""Factories for the core models, shared by every test area. Area-specific factories live next to
their tests (tests/<area>/factories.py)."""

import datetime as dt

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from campaigns.models import Agent, Campaign, Floor, Lead, OutcomeCode
from contacts.models import Advertiser, PhoneNumber, Prospect

WEEKDAYS_9_TO_18 = {str(d): [["09:00", "18:00"]] for d in range(5)} | {"5": [], "6": []}


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-for-tests-1")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for name in extracted or []:
            self.groups.add(Group.objects.get_or_create(name=name)[0])


class AdvertiserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Advertiser
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"brand-{n}")
    name = factory.Sequence(lambda n: f"Brand {n}")


class FloorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Floor

    code = factory.Sequence(lambda n: f"floor-{n}")
    name = factory.Sequence(lambda n: f"Floor {n}")
    site_city = "Lyon"
    country = "FR"
    time_zone = "Europe/Paris"
    languages = factory.LazyFunction(lambda: ["fr"])
    callee_countries = factory.LazyFunction(lambda: ["FR"])
    seats = 20
    opening_hours = factory.LazyFunction(lambda: dict(WEEKDAYS_9_TO_18))


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent

    user = factory.SubFactory(UserFactory, roles=["agent"])
    floor = factory.SubFactory(FloorFactory)
    languages = factory.LazyFunction(lambda: ["fr"])
    code = factory.Sequence(lambda n: f"AG-{n:05d}")


class ProspectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Prospect

    first_name = "Camille"
    last_name = factory.Sequence(lambda n: f"Martin{n}")
    language = "fr"
    country = "FR"
    city = "Paris"
    postcode = "75011"
    source = "tests"


class PhoneNumberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PhoneNumber

    prospect = factory.SubFactory(ProspectFactory)
    # Valid French mobiles (+33 6 12 xx xx xx), unique per sequence number.
    e164 = factory.Sequence(lambda n: f"+336120{n:05d}")
    raw = factory.LazyAttribute(lambda o: o.e164)
    region = "FR"
    number_type = PhoneNumber.Type.MOBILE
    time_zone = "Europe/Paris"
    time_zone_candidates = factory.LazyFunction(lambda: ["Europe/Paris"])


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Test drive {n}")
    kind = Campaign.Kind.TEST_DRIVE
    advertiser = factory.SubFactory(AdvertiserFactory)
    product = "Model E"
    countries = factory.LazyFunction(lambda: ["FR"])
    languages = factory.LazyFunction(lambda: ["fr"])
    starts_on = dt.date(2026, 1, 1)
    ends_on = dt.date(2027, 12, 31)


class OutcomeCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OutcomeCode

    campaign = factory.SubFactory(CampaignFactory)
    code = factory.Sequence(lambda n: f"outcome-{n}")
    label = "Outcome"
    category = OutcomeCode.Category.NO_CONTACT
    action = OutcomeCode.Action.RETRY
    retry_after_minutes = 60


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    campaign = factory.SubFactory(CampaignFactory)
    phone_number = factory.SubFactory(PhoneNumberFactory)
    prospect = factory.LazyAttribute(lambda o: o.phone_number.prospect)
    floor = factory.SubFactory(FloorFactory)
