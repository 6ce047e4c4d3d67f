"""THE decision: may this number be called for this campaign at this instant, and if not, why and
when next? Every hand-over, callback and retry asks this; list building uses its set-based twin.

Contract (implemented by the country-rules capability, issue 4; used by list building and leasing):

- `callability(*, number, campaign, at) -> Decision` — one number, every blocking reason.
- `callability_many(*, numbers, campaign, at) -> dict[int, Decision]` — the same for a batch of
  PhoneNumber objects with a constant number of queries (leasing checks 100–500 at once).
- `annotate_callability(queryset, *, campaign, at, static_only=False) -> QuerySet[PhoneNumber]` —
  the set-based (SQL) form: annotates one boolean `block_<reason>` per reason code, so callers can
  filter (`callable=True`) or count per reason with one aggregate. `static_only=True` keeps only
  the rules that do not depend on the time of day (suppression, register, consent, validity,
  number type, country, erasure): the list-building set.

Reason codes are stable strings (see REASONS); `next_callable_at` is None when the number can never
become callable on its own (suppressed, no consent, invalid…).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

REASONS = (
    "suppressed",
    "register",  # reported as "register:<name>"
    "register_stale",
    "no_consent",
    "consent_expired",
    "outside_hours",
    "holiday",
    "day_closed",
    "frequency_cap",
    "refusal_quiet_period",
    "invalid_number",
    "number_type",
    "country_not_in_campaign",
    "erased",
)
# Reasons that do not depend on the time of day: the list-building (static) set.
STATIC_REASONS = (
    "suppressed",
    "register",
    "register_stale",
    "no_consent",
    "consent_expired",
    "invalid_number",
    "number_type",
    "country_not_in_campaign",
    "erased",
)


@dataclass(frozen=True)
class Decision:
    callable: bool
    reasons: tuple[str, ...] = ()
    next_callable_at: datetime | None = None
    details: dict = field(default_factory=dict)


def callability(*, number, campaign, at: datetime) -> Decision:
    raise NotImplementedError("issue 4: country rules")


def callability_many(*, numbers, campaign, at: datetime) -> dict[int, Decision]:
    raise NotImplementedError("issue 4: country rules")


def annotate_callability(queryset, *, campaign, at: datetime, static_only: bool = False):
    raise NotImplementedError("issue 4: country rules")
