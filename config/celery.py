"""The Celery app.

Beat uses the plain scheduler with the schedule below, in code, rather than django-celery-beat:
these jobs are legal duties (recording purges, retention, lease expiry), so they are reviewed and
tested like code and cannot be switched off from the admin by accident.
"""

import os

from celery import Celery
from celery.schedules import crontab  # noqa: F401  (used by the schedule entries)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("telemarketing")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Each entry names a task that calls one service; the tasks themselves are idempotent, so a
# missed or doubled beat tick is harmless.
app.conf.beat_schedule: dict[str, dict] = {
    # Filled in by each capability next to the task it schedules; see tests/test_celery.py, which
    # checks every entry names a registered task.
    # Issue 6: return the leads of leases whose dialler stopped answering (lease requests sweep too).
    "expire-leases": {"task": "campaigns.expire_leases", "schedule": 30.0},
    # Issue 7: destroy recordings past their retention (CNIL 6 months, CNPD 30 days), daily.
    "purge-recordings": {"task": "campaigns.purge_recordings", "schedule": crontab(hour=2, minute=30)},
    # Issue 3: erase prospects with no contact for PROSPECT_RETENTION_DAYS (CNIL: 3 years), daily.
    "purge-stale-prospects": {
        "task": "contacts.purge_stale_prospects",
        "schedule": crontab(hour=3, minute=15),
    },
    # Issue 4: fail register imports whose process died; delete entries no current snapshot uses
    # (register import lists and new imports sweep too, so the embedded mode needs no beat).
    "sweep-register-imports": {"task": "contacts.sweep_register_imports", "schedule": 300.0},
    # Issue 4: write the "removed" entries of lapsed suppressions into the dialler change feed.
    "record-suppression-expiries": {"task": "contacts.record_suppression_expiries", "schedule": 300.0},
}


@app.task(name="config.ping")
def ping() -> dict:
    """Answers from whichever process runs it, so a test can tell a worker from an in-process run."""
    import socket

    return {"pid": os.getpid(), "host": socket.gethostname()}
