"""Dialler credentials: issue (the token is shown once), revoke, mark as used."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from knox.models import AuthToken

from campaigns.models import DiallerIntegration, Floor
from campaigns.roles import DIALLER
from contacts.services.audit import audit

# A prefix makes a leaked dialler key recognisable in logs and by secret scanners.
DIALLER_TOKEN_PREFIX = "dlr_"  # noqa: S105  (a public prefix, not a secret)
# Writing last_used_at on every request would turn each lease pull into two writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class DiallerCredentialError(ValueError):
    pass


@transaction.atomic
def issue_dialler_credential(
    *, name: str, floors: list[Floor], actor: Any, now: datetime, description: str = ""
) -> tuple[DiallerIntegration, str]:
    """Create a named integration with its service user and return (integration, plaintext token).

    Only the SHA-512 digest of the token is stored; the plaintext is returned once, here.
    """
    User = get_user_model()
    if DiallerIntegration.objects.filter(name=name).exists():
        raise DiallerCredentialError(f"An integration named {name!r} already exists.")
    username = f"dialler:{name}"
    if User.objects.filter(username=username).exists():
        raise DiallerCredentialError(f"User {username!r} already exists.")
    user = User.objects.create_user(username=username, password=None)
    user.set_unusable_password()  # a machine never logs in to the admin
    user.save(update_fields=["password"])
    user.groups.add(Group.objects.get_or_create(name=DIALLER)[0])
    integration = DiallerIntegration.objects.create(
        name=name,
        description=description,
        user=user,
        created_at=now,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    integration.floors.set(floors)
    _, token = AuthToken.objects.create(user=user, expiry=None, prefix=DIALLER_TOKEN_PREFIX)
    audit(actor, "campaigns.dialler.issued", integration, {"floors": sorted(f.code for f in floors)}, at=now)
    return integration, token


@transaction.atomic
def rotate_dialler_credential(*, integration: DiallerIntegration, actor: Any, now: datetime) -> str:
    """Replace every token of the integration with a new one (returned once)."""
    if integration.revoked_at is not None:
        raise DiallerCredentialError(f"Integration {integration.name!r} is revoked.")
    AuthToken.objects.filter(user=integration.user).delete()
    _, token = AuthToken.objects.create(user=integration.user, expiry=None, prefix=DIALLER_TOKEN_PREFIX)
    audit(actor, "campaigns.dialler.rotated", integration, at=now)
    return token


@transaction.atomic
def revoke_dialler_credential(*, integration: DiallerIntegration, actor: Any, now: datetime) -> None:
    """Delete the tokens and deactivate the service user: the next request gets 401."""
    AuthToken.objects.filter(user=integration.user).delete()
    type(integration.user).objects.filter(pk=integration.user_id).update(is_active=False)
    DiallerIntegration.objects.filter(pk=integration.pk, revoked_at__isnull=True).update(revoked_at=now)
    audit(actor, "campaigns.dialler.revoked", integration, at=now)


def mark_dialler_used(*, integration: DiallerIntegration, now: datetime) -> None:
    """Record use at most once per LAST_USED_RESOLUTION, with a conditional update (no read-then-write).

    `integration.last_used_at` as loaded with the credential saves the round trip when it is
    already recent: the column only moves forward, so the update would match nothing.
    """
    from django.db.models import Q

    threshold = now - LAST_USED_RESOLUTION
    last = integration.last_used_at
    if last is not None and threshold <= last <= now:
        return
    updated = (
        DiallerIntegration.objects.filter(pk=integration.pk)
        .filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=threshold))
        .update(last_used_at=now)
    )
    if updated:
        integration.last_used_at = now


def random_agent_code() -> str:
    """A pseudonymous agent code: stable once given, says nothing about the person."""
    return "AG-" + secrets.token_hex(4).upper()
