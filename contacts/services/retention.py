"""Retention purge of prospect data (CNIL référentiel "gestion des activités commerciales":
prospect data is kept at most 3 years after the last contact; settings.PROSPECT_RETENTION_DAYS)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import QuerySet
from django.db.models.functions import Coalesce

from contacts.models import Prospect
from contacts.services.erasure import erase_prospects


def retention_cutoff(*, now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(days=settings.PROSPECT_RETENTION_DAYS)


def stale_prospects(*, now: dt.datetime) -> QuerySet[Prospect]:
    """Prospects not contacted (or, never contacted, created) for the whole retention period."""
    return (
        Prospect.objects.filter(erased_at__isnull=True)
        .annotate(last_touch=Coalesce("last_contact_at", "created_at"))
        .filter(last_touch__lte=retention_cutoff(now=now))
    )


def purge_stale_prospects(
    *, now: dt.datetime, batch_size: int = 1000, max_batches: int | None = None, after_id: int = 0
) -> int:
    """Erase stale prospects in keyset batches by primary key, each batch its own transaction and
    audit entry; returns how many were erased. `max_batches` bounds one run (the task re-enqueues
    itself while work remains)."""
    erased = 0
    batches = 0
    last_id = after_id
    while max_batches is None or batches < max_batches:
        ids = list(
            stale_prospects(now=now)
            .filter(pk__gt=last_id)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            break
        result = erase_prospects(prospect_ids=ids, actor=None, now=now, objected=False, reason="retention")
        erased += result["prospects"]
        last_id = ids[-1]
        batches += 1
    return erased
