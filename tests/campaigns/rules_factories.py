"""Factories for the country-rules tests (issue 4): numbers of each country, consents, register
snapshots, suppressions and attempts."""

from __future__ import annotations

import datetime as dt

import factory

from campaigns.models import Attempt, OutcomeCode
from contacts.models import ConsentRecord, RegisterEntry, RegisterImport, Suppression
from contacts.services.suppression import number_hash
from tests.factories import AdvertiserFactory, OutcomeCodeFactory, PhoneNumberFactory, ProspectFactory

UTC = dt.UTC


def number_in(country: str, *, region: str = "", zone: str, candidates=None, e164=None, **prospect_kwargs):
    """A valid mobile of a callee living in `country` (region = holidays subdivision)."""
    prospect = ProspectFactory(country=country, region=region, **prospect_kwargs)
    kwargs = {}
    if e164 is not None:
        kwargs["e164"] = e164
    return PhoneNumberFactory(
        prospect=prospect,
        region=country,
        time_zone=zone,
        time_zone_candidates=candidates if candidates is not None else [zone],
        **kwargs,
    )


class ConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConsentRecord

    prospect = factory.SubFactory(ProspectFactory)
    advertiser = factory.SubFactory(AdvertiserFactory)
    purpose = ConsentRecord.Purpose.TELEMARKETING
    basis = ConsentRecord.Basis.CONSENT
    given_at = dt.datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    channel = "web form"
    evidence = factory.LazyFunction(lambda: {"text_version": "v1"})


class RegisterImportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RegisterImport

    register = RegisterImport.Register.DNCM
    file_date = dt.date(2026, 11, 1)
    status = RegisterImport.Status.DONE
    is_current = True
    created_at = dt.datetime(2026, 11, 1, 23, 0, tzinfo=UTC)


def register_entry(register_import: RegisterImport, key: str, registered_at: dt.date | None = None):
    return RegisterEntry.objects.create(
        register_import=register_import,
        register=register_import.register,
        number_key=key,
        registered_at=registered_at,
    )


def suppress(e164: str, *, created_at: dt.datetime, advertiser=None, expires_at=None, hash_only=False):
    return Suppression.objects.create(
        scope="advertiser" if advertiser else "global",
        advertiser=advertiser,
        e164="" if hash_only else e164,
        number_hash=number_hash(e164),
        reason=Suppression.Reason.OBJECTION,
        created_at=created_at,
        expires_at=expires_at,
    )


def attempt(*, campaign, number, started_at, category=OutcomeCode.Category.NO_CONTACT, floor=None):
    """One dial of `number` by `campaign` (outcome of the given category), as leasing records it."""
    outcome = OutcomeCode.objects.filter(campaign=campaign, category=category).first() or OutcomeCodeFactory(
        campaign=campaign,
        category=category,
        action=OutcomeCode.Action.FINAL
        if category == OutcomeCode.Category.REFUSAL
        else OutcomeCode.Action.RETRY,
    )
    return Attempt.objects.create(
        campaign=campaign,
        advertiser=campaign.advertiser,
        prospect=number.prospect,
        phone_number=number,
        floor=floor,
        outcome=outcome,
        started_at=started_at,
    )
