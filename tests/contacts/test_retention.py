"""Issue 3 (GDPR): retention purge of prospects with no contact for PROSPECT_RETENTION_DAYS."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from contacts.models import AuditEntry, PhoneNumber, Prospect
from contacts.services.retention import purge_stale_prospects
from contacts.tasks.compliance import purge_stale_prospects_task
from tests.factories import PhoneNumberFactory, ProspectFactory

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")
NOW = dt.datetime(2026, 3, 29, 8, 0, tzinfo=PARIS)


@pytest.fixture(autouse=True)
def _three_years(settings):
    settings.PROSPECT_RETENTION_DAYS = 3 * 365


def prospect(*, last_contact_at=None, created_at):
    p = ProspectFactory(last_contact_at=last_contact_at)
    Prospect.objects.filter(pk=p.pk).update(created_at=created_at)
    PhoneNumberFactory(prospect=p)
    return p


def test_boundary_one_second_before_kept_after_erased():
    cutoff = NOW - dt.timedelta(days=3 * 365)
    old = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    kept_contacted = prospect(last_contact_at=cutoff + dt.timedelta(seconds=1), created_at=old)
    erased_contacted = prospect(last_contact_at=cutoff - dt.timedelta(seconds=1), created_at=old)
    at_cutoff = prospect(last_contact_at=cutoff, created_at=old)
    kept_new = prospect(created_at=cutoff + dt.timedelta(seconds=1))
    erased_never_contacted = prospect(created_at=cutoff - dt.timedelta(seconds=1))

    assert purge_stale_prospects(now=NOW) == 3

    erased = set(Prospect.objects.filter(erased_at=NOW).values_list("pk", flat=True))
    assert erased == {erased_contacted.pk, at_cutoff.pk, erased_never_contacted.pk}
    assert set(Prospect.objects.filter(erased_at__isnull=True).values_list("pk", flat=True)) == {
        kept_contacted.pk,
        kept_new.pk,
    }
    assert set(PhoneNumber.objects.values_list("prospect_id", flat=True)) == {kept_contacted.pk, kept_new.pk}
    assert purge_stale_prospects(now=NOW) == 0  # erased ones are not erased again


def test_purge_runs_in_keyset_batches_each_audited():
    old = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    people = [prospect(created_at=old) for _ in range(5)]
    assert purge_stale_prospects(now=NOW, batch_size=2) == 5
    entries = list(AuditEntry.objects.filter(action="contacts.prospect.erased").order_by("id"))
    assert [e.details["prospects"] for e in entries] == [2, 2, 1]
    assert [e.details.get("ids") for e in entries[:2]] == [
        [people[0].pk, people[1].pk],
        [people[2].pk, people[3].pk],
    ]
    assert all(e.details["reason"] == "retention" and e.actor_label == "system" for e in entries)


def test_purge_stops_after_max_batches():
    old = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    for _ in range(5):
        prospect(created_at=old)
    assert purge_stale_prospects(now=NOW, batch_size=2, max_batches=1) == 2
    assert Prospect.objects.filter(erased_at__isnull=True).count() == 3


def test_task_re_enqueues_itself_while_work_remains(monkeypatch):
    from contacts.tasks import compliance

    monkeypatch.setattr(compliance, "PURGE_BATCHES_PER_RUN", 1)
    for _ in range(5):
        prospect(created_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    # Eager in tests: the re-enqueued runs happen in-process, until a run finds less than a batch.
    assert purge_stale_prospects_task.delay(batch_size=2).get() == 2
    assert Prospect.objects.filter(erased_at__isnull=True).count() == 0


def test_command_dry_run_changes_nothing(capsys):
    prospect(created_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    call_command("purge_stale_prospects", "--dry-run")
    assert "1 prospects with no contact since" in capsys.readouterr().out
    assert Prospect.objects.filter(erased_at__isnull=True).count() == 1
    call_command("purge_stale_prospects")
    assert Prospect.objects.filter(erased_at__isnull=True).count() == 0
