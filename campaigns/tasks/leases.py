"""Tasks of the leasing capability."""

from celery import shared_task
from django.utils import timezone

from campaigns.services.leases import expire_leases


@shared_task(name="campaigns.expire_leases", time_limit=120, soft_time_limit=100)
def expire_leases_task() -> int:
    """Return the unreported leads of expired leases (beat, every 30 s; idempotent). Lease
    requests also sweep, so the embedded mode without beat loses nothing."""
    return expire_leases(now=timezone.now())
