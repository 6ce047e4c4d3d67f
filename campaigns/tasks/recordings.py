"""Tasks of the recordings capability: the daily retention purge (DOMAIN promise 5)."""

from celery import shared_task
from django.utils import timezone

# One run purges at most this many batches, then hands over to a fresh task: a backlog (first run
# after an outage) never holds one worker past its time limit, and progress is committed per batch.
BATCHES_PER_RUN = 20


@shared_task(name="campaigns.purge_recordings", time_limit=15 * 60, soft_time_limit=14 * 60)
def purge_recordings_task(batch_size: int = 500) -> dict:
    """Purge every recording past its date; re-enqueue while due recordings remain (idempotent:
    purged rows no longer match, so a doubled beat tick or a retried task purges nothing twice)."""
    from campaigns.models import Recording
    from campaigns.services.recordings import due_for_purge_q, purge_recordings

    now = timezone.now()
    purged = purge_recordings(now=now, batch_size=batch_size, max_batches=BATCHES_PER_RUN)
    remaining = purged > 0 and Recording.objects.filter(due_for_purge_q(now)).exists()
    if remaining:
        purge_recordings_task.delay(batch_size=batch_size)
    return {"purged": purged, "requeued": remaining}
