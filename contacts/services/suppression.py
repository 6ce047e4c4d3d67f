"""Writes to the internal do-not-call list (DOMAIN.md §5, GDPR art. 21 objections).

A suppression is written the moment a person objects or an agent records a do-not-call outcome,
inside the caller's transaction, so the call result and the suppression commit together.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q

from contacts.models import Advertiser, Suppression
from contacts.models.compliance import SuppressionChange
from contacts.services.audit import audit


class SuppressionError(ValueError):
    """Bad input to a suppression service (a message for the user, naming the field)."""


def number_hash(e164: str) -> str:
    """Peppered SHA-256 hex of an E.164 number.

    Unpeppered, a hash of a phone number is reversible by enumerating the numbering plan (a few
    hundred million candidates per country): the pepper lives in settings, not in the database.
    HMAC rather than hash(pepper + number) so the construction has no length-extension quirks.
    """
    return hmac.new(
        settings.SUPPRESSION_HASH_PEPPER.encode(), e164.strip().encode(), hashlib.sha256
    ).hexdigest()


def active_q(*, at: datetime) -> Q:
    """Suppressions in force at `at`: created by then and not yet lapsed or lifted."""
    return Q(created_at__lte=at) & (Q(expires_at__isnull=True) | Q(expires_at__gt=at))


def suppress_number(
    *,
    e164: str = "",
    reason: str,
    actor: Any,
    now: datetime,
    advertiser: Advertiser | None = None,
    source: str = "",
    note: str = "",
    expires_at: datetime | None = None,
    hash_only: bool = False,
    hashed: str = "",
) -> Suppression:
    """Put a number on the internal do-not-call list; idempotent.

    An active suppression of the same number and scope (global, or this advertiser) is returned
    unchanged rather than duplicated, so a retried call result never writes twice. With
    `hash_only=True` the E.164 is not stored, only its hash (erasure: CNIL keeps objections of
    erased people only as a hash). `hashed` may be given instead of `e164` (a hash already kept).
    Safe inside the caller's transaction (a savepoint guards the insert).
    """
    e164 = (e164 or "").strip()
    if not e164 and not hashed:
        raise SuppressionError("e164: a number is required.")
    if e164 and not (e164.startswith("+") and e164[1:].isdigit() and 8 <= len(e164) <= 16):
        raise SuppressionError(f"e164: {e164!r} is not an E.164 number (e.g. +33612345678).")
    if reason not in Suppression.Reason.values:
        raise SuppressionError(f"reason: {reason!r} is not one of {', '.join(Suppression.Reason.values)}.")
    if expires_at is not None and expires_at <= now:
        raise SuppressionError("expires_at: must be in the future.")
    key = number_hash(e164) if e164 else hashed
    scope = Suppression.Scope.ADVERTISER if advertiser is not None else Suppression.Scope.GLOBAL
    with transaction.atomic():
        existing = (
            Suppression.objects.select_for_update()
            .filter(active_q(at=now), number_hash=key, scope=scope, advertiser=advertiser)
            .order_by("id")
            .first()
        )
        if existing is not None:
            if e164 and existing.e164 and hash_only:
                # An erasure reaching an existing suppression: keep the objection, drop the number.
                existing.e164 = ""
                existing.save(update_fields=["e164"])
            return existing
        suppression = Suppression.objects.create(
            scope=scope,
            advertiser=advertiser,
            e164="" if hash_only else e164,
            number_hash=key,
            reason=reason,
            source=source[:100],
            note=note[:500],
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            created_at=now,
            expires_at=expires_at,
        )
        SuppressionChange.objects.create(
            suppression=suppression,
            kind=SuppressionChange.Kind.ADDED,
            e164=suppression.e164,
            number_hash=key,
            advertiser=advertiser,
            expires_at=expires_at,
            at=now,
        )
        audit(
            actor,
            "contacts.suppression.created",
            suppression,
            {
                "reason": reason,
                "scope": scope,
                "advertiser": advertiser.pk if advertiser else None,
                "source": source,
                "expires_at": expires_at.isoformat() if expires_at else None,
                "hash_only": hash_only or not e164,
            },
            at=now,
        )
    return suppression


def _record_removal(*, suppression: Suppression, at: datetime) -> bool:
    try:
        with transaction.atomic():
            SuppressionChange.objects.create(
                suppression=suppression,
                kind=SuppressionChange.Kind.REMOVED,
                e164=suppression.e164,
                number_hash=suppression.number_hash,
                advertiser_id=suppression.advertiser_id,
                at=at,
            )
    except IntegrityError:  # already recorded (a lift raced the expiry sweep)
        return False
    return True


def lift_suppression(*, suppression: Suppression, actor: Any, now: datetime) -> Suppression:
    """End a suppression now. Rows are never deleted: the list is evidence (who, when, why)."""
    with transaction.atomic():
        suppression = Suppression.objects.select_for_update().get(pk=suppression.pk)
        if suppression.expires_at is not None and suppression.expires_at <= now:
            return suppression  # already ended: idempotent
        previous = suppression.expires_at
        suppression.expires_at = now
        suppression.save(update_fields=["expires_at"])
        _record_removal(suppression=suppression, at=now)
        audit(
            actor,
            "contacts.suppression.lifted",
            suppression,
            {"previous_expires_at": previous.isoformat() if previous else None},
            at=now,
        )
    return suppression


def record_suppression_expiries(*, now: datetime, batch_size: int = 1000) -> int:
    """Write the `removed` feed entry of suppressions that lapsed on their own; returns how many.

    Only the dialler feed needs it: `is_suppressed` already ignores lapsed rows by date.
    """
    done = 0
    while True:
        lapsed = list(
            Suppression.objects.filter(expires_at__isnull=False, expires_at__lte=now)
            .exclude(changes__kind=SuppressionChange.Kind.REMOVED)
            .order_by("id")[:batch_size]
        )
        if not lapsed:
            return done
        for suppression in lapsed:
            if _record_removal(suppression=suppression, at=suppression.expires_at):
                done += 1
        if len(lapsed) < batch_size:
            return done
