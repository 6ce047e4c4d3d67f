"""Issue 4: the internal do-not-call list (services, selector, dialler feed)."""

import datetime as dt
import hashlib
import hmac
from zoneinfo import ZoneInfo

import pytest

from contacts.models import AuditEntry, Suppression
from contacts.models.compliance import SuppressionChange
from contacts.selectors.suppression import is_suppressed, suppressed_hashes, suppression_changes
from contacts.services.suppression import (
    SuppressionError,
    lift_suppression,
    number_hash,
    record_suppression_expiries,
    suppress_number,
)
from tests.factories import AdvertiserFactory, UserFactory

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
NOW = dt.datetime(2026, 3, 29, 8, 0, tzinfo=PARIS)
NUMBER = "+33612345678"


def test_number_hash_is_hmac_sha256_with_the_pepper(settings):
    settings.SUPPRESSION_HASH_PEPPER = "pepper-one"
    expected = hmac.new(b"pepper-one", NUMBER.encode(), hashlib.sha256).hexdigest()
    assert number_hash(NUMBER) == expected
    assert number_hash(NUMBER) != hashlib.sha256(NUMBER.encode()).hexdigest()
    settings.SUPPRESSION_HASH_PEPPER = "pepper-two"
    assert number_hash(NUMBER) != expected
    assert len(number_hash(NUMBER)) == 64


def test_suppress_number_creates_audits_and_feeds():
    manager = UserFactory(username="manon")
    suppression = suppress_number(e164=NUMBER, reason="objection", actor=manager, now=NOW, source="api")
    assert suppression.scope == "global"
    assert suppression.e164 == NUMBER
    assert suppression.number_hash == number_hash(NUMBER)
    assert suppression.created_by == manager
    assert suppression.created_at == NOW
    entry = AuditEntry.objects.get(action="contacts.suppression.created")
    assert entry.actor_label == "manon"
    assert entry.target_id == str(suppression.pk)
    assert entry.details["reason"] == "objection"
    changes = suppression_changes(since_id=0, limit=10)
    assert [(c.kind, c.e164, c.suppression_id) for c in changes] == [("added", NUMBER, suppression.pk)]


def test_suppress_number_is_idempotent_per_scope():
    brand = AdvertiserFactory()
    first = suppress_number(e164=NUMBER, reason="objection", actor=None, now=NOW)
    again = suppress_number(e164=NUMBER, reason="do_not_call", actor=None, now=NOW + dt.timedelta(hours=1))
    assert again.pk == first.pk
    per_brand = suppress_number(e164=NUMBER, reason="do_not_call", actor=None, now=NOW, advertiser=brand)
    assert per_brand.pk != first.pk and per_brand.scope == "advertiser"
    assert Suppression.objects.count() == 2
    assert AuditEntry.objects.filter(action="contacts.suppression.created").count() == 2
    assert SuppressionChange.objects.count() == 2


def test_bad_input_is_refused():
    with pytest.raises(SuppressionError, match="e164"):
        suppress_number(e164="0612345678", reason="objection", actor=None, now=NOW)
    with pytest.raises(SuppressionError, match="reason"):
        suppress_number(e164=NUMBER, reason="because", actor=None, now=NOW)
    with pytest.raises(SuppressionError, match="expires_at"):
        suppress_number(e164=NUMBER, reason="manual", actor=None, now=NOW, expires_at=NOW)
    assert Suppression.objects.count() == 0


def test_an_expired_internal_suppression_no_longer_suppresses():
    expiry = NOW + dt.timedelta(days=30)
    suppression = suppress_number(e164=NUMBER, reason="manual", actor=None, now=NOW, expires_at=expiry)
    assert is_suppressed(e164=NUMBER, advertiser=None, at=NOW - dt.timedelta(seconds=1)) is None
    assert is_suppressed(e164=NUMBER, advertiser=None, at=NOW) == suppression
    assert is_suppressed(e164=NUMBER, advertiser=None, at=expiry - dt.timedelta(seconds=1)) == suppression
    assert is_suppressed(e164=NUMBER, advertiser=None, at=expiry) is None
    # Once lapsed, a new suppression of the same number is a new row, not the old one returned.
    renewed = suppress_number(e164=NUMBER, reason="objection", actor=None, now=expiry)
    assert renewed.pk != suppression.pk


def test_per_advertiser_scope():
    brand, other = AdvertiserFactory(), AdvertiserFactory()
    suppression = suppress_number(e164=NUMBER, reason="do_not_call", actor=None, now=NOW, advertiser=brand)
    assert is_suppressed(e164=NUMBER, advertiser=brand, at=NOW) == suppression
    assert is_suppressed(e164=NUMBER, advertiser=other, at=NOW) is None
    assert is_suppressed(e164=NUMBER, advertiser=None, at=NOW) is None
    global_one = suppress_number(e164=NUMBER, reason="objection", actor=None, now=NOW)
    assert is_suppressed(e164=NUMBER, advertiser=other, at=NOW) == global_one
    assert is_suppressed(e164=NUMBER, advertiser=brand, at=NOW) == global_one


def test_suppressed_hashes_answers_like_the_orm_query_at_every_edge():
    """The hand-over check's statement (SQL written once, hashes passed as one value) against the
    ORM query it replaces: scopes, a lapse exactly at the instant, a suppression made at the
    instant or after it, numbers kept only as a hash, numbers never suppressed."""
    from django.db.models import Q

    from contacts.services.suppression import active_q

    brand, other = AdvertiserFactory(), AdvertiserFactory()
    numbers = [f"+3361234{i:04d}" for i in range(12)]
    suppress_number(e164=numbers[0], reason="objection", actor=None, now=NOW)
    suppress_number(e164=numbers[1], reason="do_not_call", actor=None, now=NOW, advertiser=brand)
    suppress_number(e164=numbers[2], reason="do_not_call", actor=None, now=NOW, advertiser=other)
    suppress_number(
        e164=numbers[3], reason="manual", actor=None, now=NOW, expires_at=NOW + dt.timedelta(hours=1)
    )
    suppress_number(e164=numbers[4], reason="manual", actor=None, now=NOW + dt.timedelta(hours=1))
    suppress_number(e164=numbers[5], reason="erasure", actor=None, now=NOW, hash_only=True)
    suppress_number(e164=numbers[6], reason="do_not_call", actor=None, now=NOW, advertiser=brand)
    suppress_number(e164=numbers[6], reason="objection", actor=None, now=NOW)  # both scopes
    hashes = [number_hash(n) for n in numbers] + [""]
    instants = [
        NOW - dt.timedelta(seconds=1),
        NOW,
        NOW + dt.timedelta(minutes=59),
        NOW + dt.timedelta(hours=1),
    ]
    for at in instants:
        for advertiser in (brand, other, None):
            scope = Q(scope=Suppression.Scope.GLOBAL) | Q(
                scope=Suppression.Scope.ADVERTISER, advertiser_id=getattr(advertiser, "pk", None)
            )
            expected = set(
                Suppression.objects.filter(active_q(at=at), scope, number_hash__in=hashes).values_list(
                    "number_hash", flat=True
                )
            )
            got = suppressed_hashes(hashes=hashes, advertiser_id=getattr(advertiser, "pk", None), at=at)
            assert got == expected, (at, advertiser)
    at_now = {
        numbers.index(n)
        for n in numbers
        if number_hash(n) in suppressed_hashes(hashes=hashes, advertiser_id=brand.pk, at=NOW)
    }
    assert at_now == {0, 1, 3, 5, 6}
    at_expiry = suppressed_hashes(hashes=hashes, advertiser_id=None, at=NOW + dt.timedelta(hours=1))
    assert at_expiry == {number_hash(numbers[i]) for i in (0, 4, 5, 6)}
    assert suppressed_hashes(hashes=[], advertiser_id=brand.pk, at=NOW) == set()


def test_hash_only_suppression_still_matches():
    suppression = suppress_number(e164=NUMBER, reason="erasure", actor=None, now=NOW, hash_only=True)
    assert suppression.e164 == ""
    assert is_suppressed(e164=NUMBER, advertiser=None, at=NOW) == suppression
    assert is_suppressed(e164="+33612345679", advertiser=None, at=NOW) is None


def test_lift_ends_it_now_audited_and_fed():
    manager = UserFactory(username="manon")
    suppression = suppress_number(e164=NUMBER, reason="manual", actor=manager, now=NOW)
    later = NOW + dt.timedelta(days=2)
    lift_suppression(suppression=suppression, actor=manager, now=later)
    lift_suppression(suppression=suppression, actor=manager, now=later + dt.timedelta(hours=1))
    suppression.refresh_from_db()
    assert suppression.expires_at == later
    assert is_suppressed(e164=NUMBER, advertiser=None, at=later) is None
    assert is_suppressed(e164=NUMBER, advertiser=None, at=later - dt.timedelta(seconds=1)) == suppression
    assert AuditEntry.objects.filter(action="contacts.suppression.lifted").count() == 1
    assert [c.kind for c in suppression_changes(since_id=0, limit=10)] == ["added", "removed"]


def test_feed_cursor_and_expiry_sweep():
    a = suppress_number(
        e164=NUMBER, reason="manual", actor=None, now=NOW, expires_at=NOW + dt.timedelta(days=1)
    )
    b = suppress_number(e164="+33612345679", reason="objection", actor=None, now=NOW)
    first_page = suppression_changes(since_id=0, limit=1)
    assert [(c.kind, c.suppression_id) for c in first_page] == [("added", a.pk)]
    assert first_page[0].expires_at == NOW + dt.timedelta(days=1)
    second_page = suppression_changes(since_id=first_page[0].id, limit=10)
    assert [(c.kind, c.suppression_id) for c in second_page] == [("added", b.pk)]
    cursor = second_page[-1].id
    assert suppression_changes(since_id=cursor, limit=10) == []

    assert record_suppression_expiries(now=NOW + dt.timedelta(hours=23)) == 0
    assert record_suppression_expiries(now=NOW + dt.timedelta(days=2)) == 1
    assert record_suppression_expiries(now=NOW + dt.timedelta(days=3)) == 0  # idempotent
    removed = suppression_changes(since_id=cursor, limit=10)
    assert [(c.kind, c.suppression_id, c.at) for c in removed] == [
        ("removed", a.pk, NOW + dt.timedelta(days=1))
    ]
    # A lift after the sweep does not write a second removal.
    lift_suppression(suppression=a, actor=None, now=NOW + dt.timedelta(days=4))
    assert SuppressionChange.objects.filter(kind="removed").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_objections_to_one_number_write_one_suppression():
    import threading

    from django.db import connection, transaction

    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def object_once():
        try:
            barrier.wait(timeout=10)
            with transaction.atomic():
                suppress_number(e164=NUMBER, reason="objection", actor=None, now=NOW)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=object_once) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Suppression.objects.count() == 1
    assert SuppressionChange.objects.count() == 1
