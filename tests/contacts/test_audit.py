"""`audit()` writes its entry with SQL written once: the same row the ORM would write."""

import datetime as dt

import pytest
from django.db import connection, transaction
from django.forms.models import model_to_dict

from contacts.models import AuditEntry
from contacts.services.audit import audit
from tests.factories import FloorFactory, UserFactory

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=dt.UTC)


def test_the_row_is_the_one_the_orm_writes():
    user = UserFactory(username="zoë")
    floor = FloorFactory(code="lyon-1")
    details = {"lead_ids": list(range(100)), "floor": "lyon-1", "note": "Zoë – \u2028", "none": None}
    ours = audit(user, "campaigns.leads.leased", floor, details, at=AT)
    orm = AuditEntry(
        at=AT,
        actor=user,
        actor_label="zoë",
        action="campaigns.leads.leased",
        target_type="campaigns.floor",
        target_id=str(floor.pk),
        target_repr=str(floor),
        details=details,
    )
    orm.save(force_insert=True)
    assert ours.pk is not None and ours.pk != orm.pk
    assert not ours._state.adding and ours._state.db == connection.alias
    stored = AuditEntry.objects.get(pk=ours.pk)
    assert model_to_dict(stored, exclude=["id"]) == model_to_dict(
        AuditEntry.objects.get(pk=orm.pk), exclude=["id"]
    )
    assert stored.at == AT and stored.details == details and stored.actor_id == user.pk
    with connection.cursor() as cursor:  # the stored text too, not only what it decodes to
        table = connection.ops.quote_name(AuditEntry._meta.db_table)
        cursor.execute(f"SELECT details, at FROM {table} WHERE id IN (%s, %s) ORDER BY id", [ours.pk, orm.pk])  # noqa: S608
        first, second = cursor.fetchall()
    assert first == second


def test_it_commits_and_rolls_back_with_the_change_it_records():
    with transaction.atomic():
        kept = audit(None, "contacts.prospects.purged", details={"count": 3}, at=AT)
    with pytest.raises(RuntimeError), transaction.atomic():
        audit(None, "contacts.prospects.purged", details={"count": 4}, at=AT)
        raise RuntimeError("the change failed")
    assert list(AuditEntry.objects.values_list("pk", "actor_label", "details")) == [
        (kept.pk, "system", {"count": 3})
    ]
