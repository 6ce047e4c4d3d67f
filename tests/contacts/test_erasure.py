"""Issue 3 (GDPR): erasure of a prospect."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from campaigns.models import Attempt, Lead
from contacts.models import AuditEntry, ConsentRecord, PhoneNumber, Prospect, Suppression
from contacts.selectors.suppression import is_suppressed
from contacts.services.audit import audit
from contacts.services.erasure import erase_prospect
from contacts.services.suppression import number_hash, suppress_number
from tests.contacts.compliance_factories import AttemptFactory, ConsentRecordFactory
from tests.factories import LeadFactory, PhoneNumberFactory, ProspectFactory, UserFactory

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
NOW = dt.datetime(2026, 3, 29, 8, 0, tzinfo=PARIS)


def make_person(country="FR"):
    prospect = ProspectFactory(
        first_name="Camille",
        last_name="Martin",
        email="camille@example.org",
        postcode="75011",
        city="Paris",
        region="75",
        external_ref="CRM-1",
        contract_ref="C-9",
        tags=["vip"],
        country=country,
    )
    first = PhoneNumberFactory(prospect=prospect, e164="+33612345678")
    second = PhoneNumberFactory(prospect=prospect, e164="+33140000000", number_type="fixed_line")
    lead = LeadFactory(prospect=prospect, phone_number=first)
    attempt = AttemptFactory(campaign=lead.campaign, lead=lead, prospect=prospect, phone_number=first)
    return prospect, first, second, lead, attempt


def test_erasure_wipes_personal_fields_and_anonymises_attempts():
    manager = UserFactory(username="manon")
    prospect, first, second, lead, attempt = make_person()
    ConsentRecordFactory(prospect=prospect)
    audit(manager, "contacts.prospect.viewed", prospect, at=NOW - dt.timedelta(days=1))
    other = PhoneNumberFactory()

    erase_prospect(prospect=prospect, actor=manager, now=NOW, objected=False)

    prospect.refresh_from_db()
    assert prospect.erased_at == NOW
    assert (prospect.first_name, prospect.last_name, prospect.email) == ("", "", "")
    assert (prospect.postcode, prospect.city, prospect.region) == ("", "", "")
    assert (prospect.external_ref, prospect.contract_ref, prospect.tags) == ("", "", [])
    assert prospect.country == "FR"  # kept: statistics by country, not a person
    assert list(PhoneNumber.objects.values_list("pk", flat=True)) == [other.pk]
    assert Lead.objects.filter(pk=lead.pk).exists() is False
    attempt.refresh_from_db()
    assert (attempt.prospect_id, attempt.phone_number_id, attempt.note, attempt.lead_id) == (
        None,
        None,
        "",
        None,
    )
    assert attempt.outcome_id is not None and attempt.campaign_id == lead.campaign_id
    assert ConsentRecord.objects.count() == 0
    assert Suppression.objects.count() == 0  # no objection: no number kept at all
    entry = AuditEntry.objects.get(action="contacts.prospect.erased")
    assert entry.actor_label == "manon"
    assert entry.target_id == str(prospect.pk)
    assert entry.details["objected"] is False
    assert entry.details["numbers_deleted"] == 2
    assert entry.details["attempts_anonymised"] == 1
    earlier = AuditEntry.objects.get(action="contacts.prospect.viewed")
    assert earlier.target_repr == f"erased prospect #{prospect.pk}"
    assert "Camille" not in str(list(AuditEntry.objects.values_list("target_repr", "details")))


def test_objection_keeps_only_the_hash_on_the_suppression_list():
    prospect, first, second, *_ = make_person()
    erase_prospect(prospect=prospect, actor=None, now=NOW, objected=True)
    rows = list(
        Suppression.objects.order_by("number_hash").values_list("e164", "number_hash", "reason", "scope")
    )
    assert rows == sorted(
        [
            ("", number_hash("+33612345678"), "erasure", "global"),
            ("", number_hash("+33140000000"), "erasure", "global"),
        ],
        key=lambda r: r[1],
    )
    assert is_suppressed(e164="+33612345678", advertiser=None, at=NOW) is not None
    assert not Suppression.objects.exclude(e164="").exists()


def test_an_earlier_objection_survives_erasure_as_a_hash():
    prospect, first, *_ = make_person()
    earlier = suppress_number(e164=first.e164, reason="objection", actor=None, now=NOW - dt.timedelta(days=5))
    erase_prospect(prospect=prospect, actor=None, now=NOW, objected=False)
    earlier.refresh_from_db()
    assert (earlier.e164, earlier.number_hash) == ("", number_hash("+33612345678"))
    assert is_suppressed(e164="+33612345678", advertiser=None, at=NOW) == earlier


def test_german_consent_proof_is_kept_within_five_years_of_last_use():
    prospect, *_ = make_person(country="DE")
    kept = ConsentRecordFactory(
        prospect=prospect,
        given_at=dt.datetime(2019, 1, 1, tzinfo=dt.UTC),
        last_used_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
    )
    ConsentRecordFactory(prospect=prospect, given_at=dt.datetime(2019, 1, 1, tzinfo=dt.UTC))
    erase_prospect(prospect=prospect, actor=None, now=NOW, objected=False)
    assert list(ConsentRecord.objects.values_list("pk", flat=True)) == [kept.pk]


def test_erasure_is_idempotent():
    prospect, *_ = make_person()
    erase_prospect(prospect=prospect, actor=None, now=NOW, objected=True)
    erase_prospect(prospect=prospect, actor=None, now=NOW + dt.timedelta(days=1), objected=True)
    prospect.refresh_from_db()
    assert prospect.erased_at == NOW
    assert AuditEntry.objects.filter(action="contacts.prospect.erased").count() == 1
    assert Prospect.objects.count() == 1 and Attempt.objects.count() == 1
