"""Outcome codes: each campaign gets its own editable copy of a default set at creation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from campaigns.models import Campaign, OutcomeCode
from contacts.services.audit import audit

C = OutcomeCode.Category
A = OutcomeCode.Action

# (code, label, category, action, retry_after_minutes, max_retries)
# Retry delays are spread over the day on purpose: an unanswered number is more likely to answer at
# another time of day. They never shorten a legal wait: the hand-over re-checks the country rules
# (FR: 4 attempts per 30 days, 60 quiet days after a refusal) whatever the delay says.
DEFAULT_OUTCOME_CODES: tuple[tuple[str, str, str, str, int | None, int | None], ...] = (
    ("no_answer", "No answer", C.NO_CONTACT, A.RETRY, 180, 5),
    ("busy", "Line busy", C.NO_CONTACT, A.RETRY, 30, 5),
    ("voicemail", "Voicemail / answering machine", C.NO_CONTACT, A.RETRY, 240, 4),
    ("third_party", "Someone else answered", C.CONTACT, A.RETRY, 1440, 2),
    ("info_sent", "Interested, documentation sent", C.CONTACT, A.FINAL, None, None),
    ("test_drive_booked", "Test drive booked", C.SUCCESS, A.FINAL, None, None),
    ("offer_accepted", "Offer accepted", C.SUCCESS, A.FINAL, None, None),
    ("not_interested", "Not interested", C.REFUSAL, A.FINAL, None, None),
    ("do_not_call", "Asked not to be called again", C.DO_NOT_CALL, A.SUPPRESS, None, None),
    ("wrong_number", "Wrong or disconnected number", C.WRONG_NUMBER, A.SUPPRESS, None, None),
    ("callback_requested", "Call back at an agreed time", C.CALLBACK, A.CALLBACK, None, None),
)


def seed_default_outcome_codes(*, campaign: Campaign) -> int:
    """Give `campaign` the default codes it does not have yet (by code); returns how many were added.

    Idempotent: codes the manager edited or added are left alone.
    """
    existing = set(campaign.outcome_codes.values_list("code", flat=True))
    rows = [
        OutcomeCode(
            campaign=campaign,
            code=code,
            label=label,
            category=category,
            action=action,
            retry_after_minutes=delay,
            max_retries=max_retries,
        )
        for code, label, category, action, delay, max_retries in DEFAULT_OUTCOME_CODES
        if code not in existing
    ]
    OutcomeCode.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


class OutcomeCodeError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


# A retry delay beyond a year means "do not retry" (use a final outcome); far larger ones overflowed
# the next call time (attempt time + delay, past year 9999) at every result with this outcome.
MAX_RETRY_MINUTES = 366 * 24 * 60


def check_outcome_code(data: dict[str, Any]) -> None:
    """Raise OutcomeCodeError (naming the field) for an outcome code the rules forbid; the API and
    the admin both save through it."""
    action = data.get("action")
    if action == A.RETRY and not data.get("retry_after_minutes"):
        raise OutcomeCodeError("retry_after_minutes", "A retry outcome needs a delay in minutes.")
    if (data.get("retry_after_minutes") or 0) > MAX_RETRY_MINUTES:
        raise OutcomeCodeError(
            "retry_after_minutes",
            f"At most {MAX_RETRY_MINUTES} minutes (366 days); use a final outcome instead.",
        )
    if data.get("category") == C.DO_NOT_CALL and action != A.SUPPRESS:
        # GDPR art. 21: an objection must reach the suppression list during the call.
        raise OutcomeCodeError("action", "A do_not_call outcome must suppress the number.")


@transaction.atomic
def save_outcome_code(
    *,
    campaign: Campaign,
    data: dict[str, Any],
    actor: Any,
    now: datetime,
    instance: OutcomeCode | None = None,
) -> OutcomeCode:
    """Create or change one outcome code of a campaign, audited."""
    merged = {}
    if instance is not None:
        merged = {
            f: getattr(instance, f)
            for f in ("code", "label", "category", "action", "retry_after_minutes", "max_retries")
        }
    merged.update(data)
    check_outcome_code(merged)
    code = instance or OutcomeCode(campaign=campaign)
    for key, value in merged.items():
        setattr(code, key, value)
    if OutcomeCode.objects.filter(campaign=campaign, code=code.code).exclude(pk=code.pk).exists():
        raise OutcomeCodeError("code", f"This campaign already has an outcome code {code.code!r}.")
    code.save()
    audit(
        actor,
        "campaigns.outcome_code.changed" if instance else "campaigns.outcome_code.created",
        code,
        {"campaign": campaign.pk, **{k: merged[k] for k in ("code", "category", "action")}},
        at=now,
    )
    return code
