"""Tasks of the compliance capability: register imports, suppression feed expiries, retention."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from contacts.models import RegisterImport
from contacts.services.registers import (
    delete_discarded_entries,
    fail_stalled_register_imports,
    has_discarded_entries,
    run_register_import,
)
from contacts.services.retention import purge_stale_prospects
from contacts.services.suppression import record_suppression_expiries

# One sweep deletes at most this many windows of discarded register entries (50,000 rows each)
# and re-enqueues itself while some are left: 2.5 M rows of an abandoned import take a few runs.
REGISTER_SWEEP_BATCHES = 40

# One run of the retention task erases at most this many batches, then re-enqueues itself: a
# backlog of millions never holds one worker for hours past its time limit.
PURGE_BATCHES_PER_RUN = 20


logger = logging.getLogger(__name__)


def _fail_pending(register_import_id: int, error: str) -> dict:
    logger.warning("register import %s failed: %s", register_import_id, error)
    RegisterImport.objects.filter(pk=register_import_id, status=RegisterImport.Status.PENDING).update(
        status=RegisterImport.Status.FAILED, error=error, finished_at=timezone.now()
    )
    return {"status": RegisterImport.Status.FAILED, "error": error}


@shared_task(name="contacts.run_register_import", soft_time_limit=55 * 60, time_limit=60 * 60)
def run_register_import_task(register_import_id: int) -> dict:
    """Import an uploaded register file (idempotent: only a pending job is claimed)."""
    register_import = RegisterImport.objects.filter(pk=register_import_id).first()
    if register_import is None or register_import.status != RegisterImport.Status.PENDING:
        return {"skipped": True}
    if not register_import.file:
        return _fail_pending(register_import_id, "the uploaded file is missing")
    try:
        stream = register_import.file.open("rb")
    except FileNotFoundError:
        # Uploaded, then lost from storage before the worker ran: the job says so instead of
        # staying pending with the task failed.
        return _fail_pending(register_import_id, "the uploaded file is missing from storage")
    with stream:
        result = run_register_import(
            register_import=register_import,
            stream=stream,
            now=timezone.now(),
            actor=register_import.created_by,
        )
    return {"status": result.status, "entries": result.entries_count, "rejected": result.rejected_count}


@shared_task(name="contacts.sweep_register_imports", soft_time_limit=10 * 60, time_limit=12 * 60)
def sweep_register_imports_task() -> dict:
    """Fail register imports whose process died; delete entries no snapshot in force uses."""
    failed = fail_stalled_register_imports(now=timezone.now())
    deleted = delete_discarded_entries(max_batches=REGISTER_SWEEP_BATCHES)
    if has_discarded_entries():
        sweep_register_imports_task.delay()
    return {"failed": failed, "deleted": deleted}


@shared_task(name="contacts.record_suppression_expiries")
def record_suppression_expiries_task() -> int:
    return record_suppression_expiries(now=timezone.now())


@shared_task(name="contacts.purge_stale_prospects")
def purge_stale_prospects_task(batch_size: int = 1000) -> int:
    """Erase prospects past retention; re-enqueues itself while a full run's worth remains."""
    now = timezone.now()
    erased = purge_stale_prospects(now=now, batch_size=batch_size, max_batches=PURGE_BATCHES_PER_RUN)
    if erased >= batch_size * PURGE_BATCHES_PER_RUN:
        purge_stale_prospects_task.delay(batch_size=batch_size)
    return erased
