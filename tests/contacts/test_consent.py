"""Issue 4: consent records (record, withdraw, last use, validity)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from contacts.models import AuditEntry, ConsentRecord
from contacts.services.consent import (
    ConsentError,
    mark_consent_used,
    record_consent,
    update_consent,
    withdraw_consent,
)
from tests.contacts.compliance_factories import ConsentRecordFactory
from tests.factories import AdvertiserFactory, ProspectFactory, UserFactory

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")
NOW = dt.datetime(2026, 3, 29, 8, 0, tzinfo=BERLIN)


def test_record_consent_with_evidence_is_audited():
    prospect, brand = ProspectFactory(country="DE"), AdvertiserFactory()
    manager = UserFactory(username="manon")
    consent = record_consent(
        prospect=prospect,
        advertiser=brand,
        given_at=NOW - dt.timedelta(days=3),
        actor=manager,
        now=NOW,
        channel="web form",
        evidence={"text_version": "v3", "ip": "192.0.2.1"},
    )
    assert (consent.purpose, consent.basis, consent.valid_until) == ("telemarketing", "consent", None)
    entry = AuditEntry.objects.get(action="contacts.consent.recorded")
    assert entry.actor_label == "manon" and entry.details["prospect"] == prospect.pk


def test_spanish_consent_is_valid_two_years():
    consent = record_consent(
        prospect=ProspectFactory(country="ES"),
        advertiser=AdvertiserFactory(),
        given_at=dt.datetime(2026, 1, 1, 10, 0, tzinfo=dt.UTC),
        actor=None,
        now=NOW,
    )
    assert consent.valid_until == dt.datetime(2028, 1, 1, 10, 0, tzinfo=dt.UTC)


def test_refusals_name_the_field():
    prospect, brand = ProspectFactory(), AdvertiserFactory()
    with pytest.raises(ConsentError, match="^contract_ref"):
        record_consent(
            prospect=prospect, advertiser=brand, given_at=NOW, actor=None, now=NOW, basis="contract"
        )
    with pytest.raises(ConsentError, match="^given_at"):
        record_consent(
            prospect=prospect, advertiser=brand, given_at=NOW + dt.timedelta(seconds=1), actor=None, now=NOW
        )
    with pytest.raises(ConsentError, match="^purpose"):
        record_consent(prospect=prospect, advertiser=brand, given_at=NOW, actor=None, now=NOW, purpose="sms")
    with pytest.raises(ConsentError, match="^valid_until"):
        record_consent(
            prospect=prospect, advertiser=brand, given_at=NOW, actor=None, now=NOW, valid_until=NOW
        )
    assert ConsentRecord.objects.count() == 0


def test_withdraw_is_idempotent_and_audited():
    consent = ConsentRecordFactory()
    withdraw_consent(consent=consent, actor=None, now=NOW)
    withdraw_consent(consent=consent, actor=None, now=NOW + dt.timedelta(days=1))
    consent.refresh_from_db()
    assert consent.withdrawn_at == NOW
    assert (
        AuditEntry.objects.filter(action="contacts.consent.withdrawn", target_id=str(consent.pk)).count() == 1
    )


def test_last_used_only_moves_forward():
    consent = ConsentRecordFactory()
    mark_consent_used(consent=consent, at=NOW)
    mark_consent_used(consent=consent, at=NOW - dt.timedelta(days=1))
    consent.refresh_from_db()
    assert consent.last_used_at == NOW
    mark_consent_used(consent=consent, at=NOW + dt.timedelta(hours=2))
    consent.refresh_from_db()
    assert consent.last_used_at == NOW + dt.timedelta(hours=2)


def test_update_cannot_rewrite_who_or_when():
    consent = ConsentRecordFactory()
    with pytest.raises(ConsentError, match="^given_at"):
        update_consent(consent=consent, actor=None, now=NOW, given_at=NOW)
    updated = update_consent(consent=consent, actor=None, now=NOW, channel="phone")
    assert updated.channel == "phone"
    assert AuditEntry.objects.get(action="contacts.consent.changed").details["fields"] == ["channel"]


def test_demo_loader_is_idempotent_and_skips_without_prospects():
    from contacts.demo.compliance import NO_CONSENT_EVERY, OPT_IN_COUNTRIES, load_compliance
    from contacts.models import RegisterImport, Suppression

    messages: list[str] = []
    load_compliance(now=NOW, log=messages.append)
    assert any("skipped" in m for m in messages)
    AdvertiserFactory()
    people = [ProspectFactory(country=c) for c in ("DE", "ES", "DE", "NL", "PT", "BE", "DE", "IT")]
    load_compliance(now=NOW, log=messages.append)
    load_compliance(now=NOW, log=messages.append)
    # BE is opt-out (DNCM register instead): the demo gives Belgians no consent.
    assert "BE" not in OPT_IN_COUNTRIES and "PT" in OPT_IN_COUNTRIES
    expected = [p.pk for p in people if p.country in OPT_IN_COUNTRIES and p.pk % NO_CONSENT_EVERY]
    assert sorted(ConsentRecord.objects.values_list("prospect_id", flat=True)) == sorted(expected)
    assert Suppression.objects.count() == 4
    assert sorted(RegisterImport.objects.filter(is_current=True).values_list("register", "file_date")) == [
        ("dncm", dt.date(2026, 3, 28)),
        ("robinson", dt.date(2026, 3, 28)),
        ("rpo", dt.date(2026, 3, 28)),
    ]
    assert RegisterImport.objects.count() == 3
