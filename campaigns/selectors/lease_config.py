"""The configuration every lease request reads, kept in memory per process and read again only
when it has changed.

A lease request needs the running campaigns, the country policies, the recording notices and
which floors the dialler serves. They change a few times a day, and reading them at every request
cost ~4 ms of Python and four statements per lease of 100 (BENCHMARKS.md, issue 6). Instead each
request reads one row, `ConfigVersion`, that database triggers change with every write to those
tables (migration 0013): a change committed anywhere, by any path (ORM, admin, raw SQL), is used by
the next request of every worker, exactly as if the tables had been read again. No time-to-live:
a paused campaign is never dialled "a little longer".

Three cases read the tables directly instead of the cached copy:
- a PostgreSQL transaction that has already written: its own changes are not in the version yet
  (the trigger runs at commit, see `campaigns.config_version`);
- a database without the version row (a test flush emptied it; the next write restores it);
- a database where a trigger is missing (checked once per process; `migrate` puts them back).

The objects handed out are shared by every request of the process: callers must not change them.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from django.db import connections

from campaigns import config_version as triggers
from campaigns.models import (
    Campaign,
    ConfigVersion,
    CountryPolicy,
    DiallerIntegration,
    Floor,
    RecordingNotice,
)
from campaigns.selectors.calendar import PolicyBook
from config.db import prepared_cursor


@dataclass(frozen=True)
class LeaseConfig:
    version: int | None
    running: dict[int, Campaign]  # id → campaign, running ones only
    book: PolicyBook  # every country's policies, every period
    # Active versions, in `notices_in_force`'s order (country, language, highest version first).
    notices: tuple[RecordingNotice, ...]
    floors: dict[int, Floor]
    floor_ids_of: dict[int, frozenset[int]] = field(default_factory=dict)  # integration id → floor ids

    def floors_of(self, integration: DiallerIntegration) -> list[Floor]:
        """The floors a dialler credential serves, by code."""
        ids = self.floor_ids_of.get(integration.pk, frozenset())
        return sorted((self.floors[i] for i in ids), key=lambda floor: floor.code)


logger = logging.getLogger(__name__)
_cached: dict[str, LeaseConfig] = {}
_triggers_seen: set[str] = set()  # database aliases whose triggers were all found
_lock = threading.Lock()


def _version_sql(connection) -> str:
    table = connection.ops.quote_name(ConfigVersion._meta.db_table)
    if connection.vendor == "postgresql":
        # NULL, not the version, inside a transaction that has written (see the module docstring).
        return f"SELECT CASE WHEN pg_current_xact_id_if_assigned() IS NULL THEN version END FROM {table} WHERE id = 1"  # noqa: S608 (model name)
    return f"SELECT version FROM {table} WHERE id = 1"  # noqa: S608 (model name)


def config_version(using: str = "default") -> int | None:
    connection = connections[using]
    with prepared_cursor(using) as cursor:  # planned once per connection: every request asks
        cursor.execute(_version_sql(connection))
        row = cursor.fetchone()
    return None if row is None else row[0]


def lease_config(using: str = "default") -> LeaseConfig:
    version = config_version(using)
    cached = _cached.get(using)
    if version is not None and cached is not None and cached.version == version:
        return cached
    # Read after the version: a change committed in between is loaded here and merely makes the
    # next request load again, never the other way round.
    config = _load(version, using)
    if version is not None and _triggers_complete(using):
        with _lock:
            _cached[using] = config
    return config


def _triggers_complete(using: str) -> bool:
    """Every version trigger is in place (asked once per process; again while one is missing)."""
    if using in _triggers_seen:
        return True
    missing = triggers.missing(connections[using])
    if missing:
        logger.warning(
            "Lease configuration read at every request: version triggers missing (%s); run migrate.",
            ", ".join(missing),
        )
        return False
    _triggers_seen.add(using)
    return True


def _load(version: int | None, using: str) -> LeaseConfig:
    through = DiallerIntegration.floors.through
    floor_ids_of: dict[int, set[int]] = {}
    for integration_id, floor_id in through.objects.using(using).values_list(
        "diallerintegration_id", "floor_id"
    ):
        floor_ids_of.setdefault(integration_id, set()).add(floor_id)
    return LeaseConfig(
        version=version,
        running={c.pk: c for c in Campaign.objects.using(using).filter(status=Campaign.Status.RUNNING)},
        book=PolicyBook(CountryPolicy.objects.using(using).all()),
        notices=tuple(
            RecordingNotice.objects.using(using)
            .filter(active=True)
            .order_by("country", "language", "-version")
        ),
        floors={f.pk: f for f in Floor.objects.using(using).all()},
        floor_ids_of={k: frozenset(v) for k, v in floor_ids_of.items()},
    )


def forget() -> None:
    """Drop the cached copies (tests that rebuild the database under a running process)."""
    with _lock:
        _cached.clear()
        _triggers_seen.clear()
