"""Issue 7: the daily purge task (re-enqueues while work remains) and `manage.py purge_recordings`."""

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from campaigns.models import Recording
from campaigns.services.recordings import attach_recording
from campaigns.tasks import recordings as recording_tasks
from config.celery import app as celery_app
from contacts.models import AuditEntry
from tests.campaigns.test_recording_factories import AttemptFactory, wav_file

pytestmark = pytest.mark.django_db
CALL = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
LATER = CALL + dt.timedelta(days=200)


def make_recordings(count: int) -> list[Recording]:
    return [
        attach_recording(
            attempt=AttemptFactory(started_at=CALL),
            file=wav_file(f"{i}.wav", seconds=0.05 * (i + 1)),
            actor=None,
            now=CALL,
        )
        for i in range(count)
    ]


def test_beat_runs_the_purge_daily():
    entry = celery_app.conf.beat_schedule["purge-recordings"]
    assert entry["task"] == "campaigns.purge_recordings"
    assert entry["task"] in celery_app.tasks


def test_task_re_enqueues_until_nothing_is_due(monkeypatch):
    make_recordings(5)
    monkeypatch.setattr(recording_tasks, "BATCHES_PER_RUN", 1)
    with time_machine.travel(LATER, tick=False):
        result = recording_tasks.purge_recordings_task.delay(batch_size=2).get()
    # The first run purged one batch and handed over; eager mode ran the follow-ups in place.
    assert result == {"purged": 2, "requeued": True}
    assert Recording.objects.filter(purged_at__isnull=True).count() == 0
    assert AuditEntry.objects.filter(action="campaigns.recording.purged").count() == 3
    with time_machine.travel(LATER, tick=False):
        assert recording_tasks.purge_recordings_task.delay().get() == {"purged": 0, "requeued": False}


def test_command_dry_run_changes_nothing():
    make_recordings(2)
    out = StringIO()
    with time_machine.travel(LATER, tick=False):
        call_command("purge_recordings", "--dry-run", stdout=out)
    assert (
        out.getvalue()
        == "2 recording(s) due for purge at 2026-09-18T09:00:00+00:00 (dry run: nothing changed)\n"
    )
    assert Recording.objects.filter(purged_at__isnull=True).count() == 2
    assert not AuditEntry.objects.filter(action="campaigns.recording.purged").exists()


def test_command_purges_and_reports():
    make_recordings(3)
    out = StringIO()
    with time_machine.travel(LATER, tick=False):
        call_command("purge_recordings", "--batch-size", "2", stdout=out, stderr=StringIO())
        call_command("purge_recordings", stdout=StringIO(), stderr=StringIO())
    assert out.getvalue() == "3 recording(s) purged at 2026-09-18T09:00:00+00:00\n"
    assert Recording.objects.filter(purged_at__isnull=True).count() == 0
    assert AuditEntry.objects.filter(action="campaigns.recording.purged").count() == 2


def test_command_rejects_a_bad_batch_size():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--batch-size must be a positive integer"):
        call_command("purge_recordings", "--batch-size", "0")
