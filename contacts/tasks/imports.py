"""Tasks of this capability (see the package docstring)."""

from celery import shared_task
from django.utils import timezone

from contacts.services.imports import run_import


@shared_task(name="contacts.run_prospect_import", soft_time_limit=2 * 3600, time_limit=2 * 3600 + 300)
def run_prospect_import(job_id: int) -> dict:
    """Run one import job; a job already started or finished is left as it is (idempotent)."""
    job = run_import(job_id=job_id, now=timezone.now())
    return {"job": job.pk, "status": job.status, **job.counts}
