"""GDPR erasure (art. 17) and objection (art. 21) of a prospect, one at a time or in batches.

What is kept and why:
- the number, only as a peppered hash on the suppression list, and only when the person objected
  or had objected before: honouring an objection needs the number (CNIL keeps objections ≥ 3 years);
- attempts, anonymised (no prospect, no number, no note, no appointment): statistics and the
  frequency caps of other people need the counts, not the person;
- DE consent proof still inside its 5-year window (§7a UWG, GDPR art. 17(3)(b): a legal duty).
Everything else personal is wiped or deleted: names, e-mail, address, references, tags, numbers,
leads, other consents, recordings of the person's calls, and the names in earlier audit entries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.db.models import Q

from campaigns.models import Attempt, Lead
from contacts.models import AuditEntry, ConsentRecord, PhoneNumber, Prospect, Suppression
from contacts.models.compliance import SuppressionChange
from contacts.services.audit import audit
from contacts.services.suppression import number_hash, suppress_number

# DE §7a UWG: proof of consent kept 5 years after it was given and after each use.
DE_CONSENT_PROOF_YEARS = 5

WIPED_FIELDS = {
    "first_name": "",
    "last_name": "",
    "email": "",
    "postcode": "",
    "city": "",
    "region": "",
    "external_ref": "",
    "contract_ref": "",
    "tags": [],
}


def _kept_consents_q(*, now: dt.datetime) -> Q:
    horizon = now - dt.timedelta(days=365 * DE_CONSENT_PROOF_YEARS)
    return Q(prospect__country="DE") & (Q(last_used_at__gte=horizon) | Q(given_at__gte=horizon))


def erase_prospects(
    *, prospect_ids: Sequence[int], actor: Any, now: dt.datetime, objected: bool, reason: str = "request"
) -> dict:
    """Erase these prospects in one transaction (already-erased ones are skipped). Returns counts.

    One set-based pass, so the retention purge erases a batch of 1,000 in a few dozen queries.
    """
    from campaigns.models import Recording
    from campaigns.services.recordings import purge_recording_now

    with transaction.atomic():
        ids = list(
            Prospect.objects.select_for_update()
            .filter(pk__in=list(prospect_ids), erased_at__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not ids:
            return {"prospects": 0}
        numbers = list(PhoneNumber.objects.filter(prospect_id__in=ids).values_list("pk", "e164"))
        number_ids = [pk for pk, _ in numbers]
        e164s = [e164 for _, e164 in numbers]
        hashes = [number_hash(e164) for e164 in e164s]

        # Earlier objections stay in force, but only as hashes: the number itself is erased.
        Suppression.objects.filter(e164__in=e164s).update(e164="")
        SuppressionChange.objects.filter(e164__in=e164s).update(e164="")
        if objected:
            for e164 in e164s:
                suppress_number(
                    e164=e164,
                    reason=Suppression.Reason.ERASURE,
                    actor=actor,
                    now=now,
                    source="erasure",
                    note="objected when erased (GDPR art. 21)",
                    hash_only=True,
                )

        attempts = Attempt.objects.filter(Q(prospect_id__in=ids) | Q(phone_number_id__in=number_ids))
        recordings = list(Recording.objects.filter(attempt__in=attempts, purged_at__isnull=True))
        for recording in recordings:
            purge_recording_now(
                recording=recording, reason=Recording.PurgeReason.MANUAL, actor=actor, now=now
            )
        anonymised = attempts.update(prospect=None, phone_number=None, note="", appointment=None)

        leads_deleted = Lead.objects.filter(
            Q(prospect_id__in=ids) | Q(phone_number_id__in=number_ids)
        ).delete()[0]
        consents = ConsentRecord.objects.filter(prospect_id__in=ids)
        kept_consents = consents.filter(_kept_consents_q(now=now)).count()
        consents_deleted = consents.exclude(_kept_consents_q(now=now)).delete()[0]
        numbers_deleted = PhoneNumber.objects.filter(pk__in=number_ids).delete()[0]

        Prospect.objects.filter(pk__in=ids).update(erased_at=now, updated_at=now, **WIPED_FIELDS)
        # Earlier audit entries named the person in target_repr: keep the entry, drop the name.
        for pk in ids:
            AuditEntry.objects.filter(target_type="contacts.prospect", target_id=str(pk)).update(
                target_repr=f"erased prospect #{pk}"
            )
        result = {
            "prospects": len(ids),
            "objected": objected,
            "reason": reason,
            "numbers_deleted": numbers_deleted,
            "numbers_suppressed_as_hash": len(hashes) if objected else 0,
            "attempts_anonymised": anonymised,
            "recordings_purged": len(recordings),
            "leads_deleted": leads_deleted,
            "consents_deleted": consents_deleted,
            "consents_kept": kept_consents,
        }
        if len(ids) == 1:
            audit(actor, "contacts.prospect.erased", Prospect.objects.get(pk=ids[0]), result, at=now)
        else:
            audit(actor, "contacts.prospect.erased", None, {**result, "ids": ids}, at=now)
    return result


def erase_prospect(*, prospect: Prospect, actor: Any, now: dt.datetime, objected: bool) -> Prospect:
    """Erase one prospect at their request (art. 17); `objected` when they also objected to calls
    (art. 21), so their numbers stay suppressed as hashes. Idempotent; audited."""
    erase_prospects(prospect_ids=[prospect.pk], actor=actor, now=now, objected=objected)
    prospect.refresh_from_db()
    return prospect
