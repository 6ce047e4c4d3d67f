"""Split a campaign's leads across floors, and rebalance when floors are added, closed or resized.

A lead goes only to a floor that serves its country and speaks its language; among those, the open
leads of each (country, language) are split in proportion to capacity (seats × weekly hours where
the floor is open and the country may be called, see `campaigns.selectors.distribution`), or to the
manager's quotas. A rebalance never touches a lead that a dialler holds (state leased, or a live
lease): moving it would hand one lead to two floors at once (DOMAIN promise 1).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Count

from campaigns.models import Campaign, Floor, Lead
from campaigns.selectors.distribution import (
    OPEN_STATES,
    apportion,
    eligible_floors,
    movable_leads,
    quota_weights,
    split_weights,
)
from contacts.services.audit import audit


@dataclass
class DistributionResult:
    assigned: dict[str, int] = field(default_factory=dict)  # floor code → leads newly given to it
    moved: int = 0
    # "FR/fr" → leads of that country and language that no floor may call (no floor serves them).
    unassignable: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"assigned": self.assigned, "moved": self.moved, "unassignable": self.unassignable}


def _group_counts(campaign: Campaign, now: dt.datetime) -> dict[tuple[str, str], dict[int | None, int]]:
    rows = (
        movable_leads(campaign=campaign, now=now)
        .values("prospect__country", "prospect__language", "floor_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    groups: dict[tuple[str, str], dict[int | None, int]] = {}
    for row in rows:
        key = (row["prospect__country"], row["prospect__language"])
        groups.setdefault(key, {})[row["floor_id"]] = row["n"]
    return groups


def _assign(
    *, campaign: Campaign, group: tuple[str, str], src: int | None, dst: int, count: int, now: dt.datetime
) -> int:
    country, language = group
    candidates = movable_leads(campaign=campaign, now=now).filter(
        prospect__country=country, prospect__language=language
    )
    if src is None:
        # New leads have no floor yet and no dialler can see them: one UPDATE, no locking needed.
        candidates = candidates.filter(floor__isnull=True).order_by("id")
        ids = candidates.values("id")[:count]
        return Lead.objects.filter(id__in=ids, floor__isnull=True).update(floor_id=dst, updated_at=now)
    # Leads on a floor may be claimed by that floor's dialler at this very moment: lock the ones
    # moved and skip those a lease is locking (the lease wins; the next rebalance catches up).
    locked = list(
        candidates.filter(floor_id=src)
        .order_by("-id")
        .select_for_update(skip_locked=True, of=("self",))
        .values_list("id", flat=True)[:count]
    )
    return Lead.objects.filter(id__in=locked, floor_id=src, state__in=OPEN_STATES).update(
        floor_id=dst, updated_at=now
    )


def distribute_leads(
    *, campaign: Campaign, now: dt.datetime, move: bool = False, actor: Any = None
) -> DistributionResult:
    """Give floors to the campaign's open leads.

    `move=False` (after a build): only leads without a floor are placed, filling each floor up to
    its share; leads already on a floor stay. `move=True` (rebalance): leads on floors that may no
    longer call them, or above their floor's share, move to floors below theirs.
    """
    result = DistributionResult()
    floors = list(Floor.objects.filter(active=True))
    codes = {f.id: f.code for f in Floor.objects.all()}
    quotas = quota_weights(campaign=campaign)
    with transaction.atomic():
        for group, current in sorted(_group_counts(campaign, now).items()):
            country, language = group
            total = sum(current.values())
            capacities = eligible_floors(floors=floors, country=country, language=language or "", at=now)
            if not capacities:
                unplaced = current.get(None, 0) + (
                    sum(n for fid, n in current.items() if fid is not None) if move else 0
                )
                if unplaced:
                    result.unassignable[f"{country}/{language or '?'}"] = unplaced
                continue
            target = apportion(total, split_weights(capacities=capacities, quotas=quotas))
            deficits = {fid: max(0, target[fid] - current.get(fid, 0)) for fid in capacities}
            sources: list[tuple[int | None, int]] = []
            if current.get(None):
                sources.append((None, current[None]))
            if move:
                for fid, n in sorted(current.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)):
                    if fid is None:
                        continue
                    surplus = n if fid not in capacities else n - target[fid]
                    if surplus > 0:
                        sources.append((fid, surplus))
            pending = [[fid, d] for fid, d in sorted(deficits.items()) if d > 0]
            for src, available in sources:
                if src is None and not move:
                    # Spread the new leads over the deficits in proportion, so that a partial build
                    # does not fill the first floor before the others get any.
                    share = apportion(min(available, sum(d for _, d in pending)), dict(map(tuple, pending)))
                    plan = [(fid, share[fid]) for fid, _ in pending]
                else:
                    plan = []
                    for slot in pending:
                        if available <= 0:
                            break
                        take = min(available, slot[1])
                        if take > 0:
                            plan.append((slot[0], take))
                            available -= take
                for dst, take in plan:
                    if take <= 0:
                        continue
                    done = _assign(campaign=campaign, group=group, src=src, dst=dst, count=take, now=now)
                    for slot in pending:
                        if slot[0] == dst:
                            slot[1] -= done
                    result.assigned[codes[dst]] = result.assigned.get(codes[dst], 0) + done
                    if src is not None:
                        result.moved += done
        if move:
            audit(actor, "campaigns.campaign.rebalanced", campaign, result.as_dict(), at=now)
    return result


def rebalance_campaign(*, campaign: Campaign, now: dt.datetime, actor: Any = None) -> DistributionResult:
    """Re-split the campaign's unleased open leads over the floors as they are now."""
    return distribute_leads(campaign=campaign, now=now, move=True, actor=actor)
