"""Issue 7 on PostgreSQL: two purges at once (a doubled beat tick, a manual run during the nightly
one) destroy each recording exactly once, and two uploads for one attempt keep one recording."""

import datetime as dt
import threading

import pytest
from django.db import connection

from campaigns.models import Recording
from campaigns.services.recordings import RecordingRefused, attach_recording, purge_recordings
from contacts.models import AuditEntry
from tests.campaigns.test_recording_factories import AttemptFactory, wav_file

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
CALL = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
LATER = CALL + dt.timedelta(days=200)


def run_in_threads(target, count: int) -> list:
    results: list = []
    barrier = threading.Barrier(count)

    def worker():
        try:
            barrier.wait()
            results.append(target())
        except Exception as exc:  # collected and asserted by the test
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_concurrent_purges_destroy_each_recording_once():
    for i in range(12):
        attach_recording(
            attempt=AttemptFactory(started_at=CALL), uri=f"https://pbx.example/{i}.wav", actor=None, now=CALL
        )
    results = run_in_threads(lambda: purge_recordings(now=LATER, batch_size=2), 2)
    assert all(isinstance(r, int) for r in results), results
    assert sum(results) == 12
    ids = [
        i
        for entry in AuditEntry.objects.filter(action="campaigns.recording.purged")
        for i in entry.details["ids"]
    ]
    assert sorted(ids) == sorted(Recording.objects.values_list("pk", flat=True))
    assert Recording.objects.filter(purged_at__isnull=True).count() == 0


def test_concurrent_uploads_for_one_attempt_keep_one_recording():
    attempt = AttemptFactory(started_at=CALL)
    seconds = iter([0.2, 0.3])
    files = [wav_file("a.wav", next(seconds)), wav_file("b.wav", next(seconds))]
    lock = threading.Lock()

    def upload():
        with lock:
            file = files.pop()
        return attach_recording(attempt=attempt, file=file, actor=None, now=CALL)

    results = run_in_threads(upload, 2)
    kept = [r for r in results if isinstance(r, Recording)]
    refused = [r for r in results if isinstance(r, RecordingRefused)]
    assert (len(kept), [r.reason for r in refused]) == (1, ["already_recorded"])
    assert Recording.objects.filter(attempt=attempt).count() == 1
