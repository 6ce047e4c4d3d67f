"""The one way to write an audit entry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import models
from django.utils import timezone

from config.db import insert
from contacts.models import AuditEntry


def actor_label(actor: Any) -> str:
    """'alice', 'dialler:lyon-1' or 'system': readable even after the user is gone."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return "system" if actor is None else "anonymous"
    try:
        integration = actor.dialler_integration
    except Exception:  # RelatedObjectDoesNotExist: a person, not a machine
        integration = None
    if integration is not None:
        return f"dialler:{integration.name}"
    return actor.get_username()


def audit(
    actor: Any,
    action: str,
    target: models.Model | None = None,
    details: dict | None = None,
    *,
    at: datetime | None = None,
) -> AuditEntry:
    """Record that `actor` did `action` (namespaced, e.g. `contacts.prospect.erased`) to `target`.

    Call it inside the transaction of the change it records, so that both commit or neither does.
    """
    entry = audit_entry(actor, action, target, details, at=at)
    # Every lease and result batch writes one: the INSERT is written once (config.db.insert).
    insert(entry)
    return entry


def audit_entry(
    actor: Any,
    action: str,
    target: models.Model | None = None,
    details: dict | None = None,
    *,
    at: datetime | None = None,
) -> AuditEntry:
    """The entry `audit` writes, not written yet: for a caller that writes it in the same statement
    as the row it records (`config.db.insert(row, entry)`), inside the same transaction."""
    user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    return AuditEntry(
        at=at or timezone.now(),
        actor=user,
        actor_label=actor_label(actor),
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:200] if target is not None else "",
        details=details or {},
    )
