"""Reads of the internal do-not-call list."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q

from contacts.models import Advertiser, Suppression
from contacts.models.compliance import SuppressionChange
from contacts.services.suppression import active_q, number_hash


def is_suppressed(*, e164: str, advertiser: Advertiser | None, at: datetime) -> Suppression | None:
    """The suppression that forbids calling `e164` for `advertiser` at `at`, or None.

    Matched by hash, so objections of erased people (kept only as a hash) still count. A global
    suppression wins over every advertiser; an advertiser's one only over its own campaigns.
    """
    scope = Q(scope=Suppression.Scope.GLOBAL)
    if advertiser is not None:
        scope |= Q(scope=Suppression.Scope.ADVERTISER, advertiser=advertiser)
    return (
        Suppression.objects.filter(active_q(at=at), scope, number_hash=number_hash(e164))
        .order_by("-scope", "created_at", "id")  # "global" sorts after "advertiser": report it first
        .first()
    )


def suppressed_hashes(*, hashes, advertiser: Advertiser | None, at: datetime) -> set[str]:
    """Of the given number hashes, those suppressed for `advertiser` at `at` (one query)."""
    scope = Q(scope=Suppression.Scope.GLOBAL)
    if advertiser is not None:
        scope |= Q(scope=Suppression.Scope.ADVERTISER, advertiser=advertiser)
    return set(
        Suppression.objects.filter(active_q(at=at), scope, number_hash__in=list(hashes)).values_list(
            "number_hash", flat=True
        )
    )


def suppression_changes(*, since_id: int, limit: int = 1000) -> list[SuppressionChange]:
    """The dialler feed: changes with id > `since_id`, oldest first, at most `limit`.

    Each row says `kind` ("added" or "removed"), the number (`e164`, blank for an erased person:
    then only `number_hash` identifies it), the advertiser (None = every advertiser) and, for an
    addition, `expires_at`. A dialler stores the last id it applied and asks again from there.
    Lifts write a removal at once; lapsed expiries are written by the expiry sweep (a beat task).
    """
    limit = max(1, min(int(limit), 10_000))
    return list(SuppressionChange.objects.filter(id__gt=since_id).order_by("id")[:limit])
