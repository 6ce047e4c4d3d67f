"""Consent records: the proof of a legal basis to call (or record) one person for one advertiser.

Withdrawal never deletes: the record of when consent was given and withdrawn is itself the proof
(GDPR art. 7(1) "able to demonstrate"). DE §7a UWG: keep the proof 5 years from the grant and again
from each use, hence `mark_consent_used`. ES: consent to commercial calls lapses after 2 years
unless renewed (`valid_until`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from contacts.models import Advertiser, ConsentRecord, Prospect
from contacts.services.audit import audit

# ES (SAC / LGTel art. 66 practice): a consent to commercial calls is renewed every 2 years.
ES_CONSENT_VALIDITY = dt.timedelta(days=730)


class ConsentError(ValueError):
    """Bad input to a consent service (a message naming the field)."""


def record_consent(
    *,
    prospect: Prospect,
    advertiser: Advertiser,
    given_at: dt.datetime,
    actor: Any,
    now: dt.datetime,
    purpose: str = ConsentRecord.Purpose.TELEMARKETING,
    basis: str = ConsentRecord.Basis.CONSENT,
    contract_ref: str = "",
    channel: str = "",
    evidence: dict | None = None,
    valid_until: dt.datetime | None = None,
) -> ConsentRecord:
    """Store a consent (or an ongoing-contract basis) with its evidence; audited."""
    if prospect.erased_at is not None:
        raise ConsentError("prospect: this prospect was erased.")
    if purpose not in ConsentRecord.Purpose.values:
        raise ConsentError(f"purpose: {purpose!r} is not one of {', '.join(ConsentRecord.Purpose.values)}.")
    if basis not in ConsentRecord.Basis.values:
        raise ConsentError(f"basis: {basis!r} is not one of {', '.join(ConsentRecord.Basis.values)}.")
    if basis == ConsentRecord.Basis.CONTRACT and not contract_ref.strip():
        raise ConsentError("contract_ref: an ongoing-contract basis needs the contract reference.")
    if given_at > now:
        raise ConsentError("given_at: a consent cannot be given in the future.")
    if valid_until is None and prospect.country == "ES" and basis == ConsentRecord.Basis.CONSENT:
        valid_until = given_at + ES_CONSENT_VALIDITY
    if valid_until is not None and valid_until <= given_at:
        raise ConsentError("valid_until: must be after given_at.")
    with transaction.atomic():
        consent = ConsentRecord.objects.create(
            prospect=prospect,
            advertiser=advertiser,
            purpose=purpose,
            basis=basis,
            contract_ref=contract_ref.strip(),
            given_at=given_at,
            channel=channel,
            evidence=evidence or {},
            valid_until=valid_until,
        )
        audit(
            actor,
            "contacts.consent.recorded",
            consent,
            {
                "prospect": prospect.pk,
                "advertiser": advertiser.pk,
                "purpose": purpose,
                "basis": basis,
                "given_at": given_at.isoformat(),
                "valid_until": valid_until.isoformat() if valid_until else None,
            },
            at=now,
        )
    return consent


def withdraw_consent(*, consent: ConsentRecord, actor: Any, now: dt.datetime) -> ConsentRecord:
    """The person withdrew consent (GDPR art. 7(3)): effective now; idempotent; audited."""
    with transaction.atomic():
        consent = ConsentRecord.objects.select_for_update().get(pk=consent.pk)
        if consent.withdrawn_at is not None:
            return consent
        consent.withdrawn_at = now
        consent.save(update_fields=["withdrawn_at"])
        audit(
            actor,
            "contacts.consent.withdrawn",
            consent,
            {
                "prospect": consent.prospect_id,
                "advertiser": consent.advertiser_id,
                "purpose": consent.purpose,
            },
            at=now,
        )
    return consent


def mark_consent_used(*, consent: ConsentRecord, at: dt.datetime) -> None:
    """A call relied on this consent at `at` (DE §7a UWG: proof kept 5 years from each use).

    A conditional update, so concurrent calls never move `last_used_at` backwards.
    """
    from django.db.models import Q

    ConsentRecord.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=at), pk=consent.pk).update(
        last_used_at=at
    )


def update_consent(*, consent: ConsentRecord, actor: Any, now: dt.datetime, **changes: Any) -> ConsentRecord:
    """Correct the evidence, channel, contract reference or validity of a consent; audited.

    Who consented, to whom, for what and when are the proof itself: a wrong one is withdrawn and a
    new record made, never edited.
    """
    allowed = {"channel", "evidence", "contract_ref", "valid_until"}
    unknown = set(changes) - allowed
    if unknown:
        raise ConsentError(f"{sorted(unknown)[0]}: cannot be changed; withdraw and record a new consent.")
    with transaction.atomic():
        consent = ConsentRecord.objects.select_for_update().get(pk=consent.pk)
        if "valid_until" in changes and changes["valid_until"] is not None:
            if changes["valid_until"] <= consent.given_at:
                raise ConsentError("valid_until: must be after given_at.")
        before = {k: getattr(consent, k) for k in changes}
        for key, value in changes.items():
            setattr(consent, key, value)
        if consent.basis == ConsentRecord.Basis.CONTRACT and not consent.contract_ref.strip():
            raise ConsentError("contract_ref: an ongoing-contract basis needs the contract reference.")
        consent.save(update_fields=list(changes) or None)
        audit(
            actor,
            "contacts.consent.changed",
            consent,
            {"fields": sorted(changes), "before": {k: str(v) for k, v in before.items() if k != "evidence"}},
            at=now,
        )
    return consent
