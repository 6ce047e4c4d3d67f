"""The database triggers behind `ConfigVersion` (see `campaigns.selectors.lease_config`).

Installed by migration 0013 and again after every `migrate` (post_migrate, idempotent): SQLite
drops a table's triggers whenever a migration rebuilds that table (its way to alter a column), and
a cache whose version stopped changing would serve a paused campaign forever. The selector also
checks, once per process, that every trigger is there, and reads the tables directly if one is not.

The version is random, not a counter. Only equality is ever compared, and a counter can repeat,
for example after a restore to an earlier point or a fail-over to a replica that missed the last
commits. On PostgreSQL the value takes 64 bits of `gen_random_uuid()` (built in since 13); on SQLite
it is `random()` (64 bits). The chance that two changes get the same value is about 2⁻⁶⁰.
"""

from __future__ import annotations

FUNCTION = "campaigns_bump_config_version"
VERSION_TABLE = "campaigns_configversion"
# The tables kept in memory (`LeaseConfig`). Not the dialler integrations themselves: their row is
# written at every dialler request (last use), and their revocation is read fresh with the token.
VERSIONED_TABLES = (
    "campaigns_campaign",
    "campaigns_countrypolicy",
    "campaigns_recordingnotice",
    "campaigns_floor",
    "campaigns_diallerintegration_floors",
)
_PG_VALUE = "('x' || translate(gen_random_uuid()::text, '-', ''))::bit(64)::bigint"


def trigger_names(vendor: str) -> list[str]:
    if vendor == "postgresql":
        return [
            name for t in VERSIONED_TABLES for name in (f"{t}_config_version", f"{t}_config_version_truncate")
        ]
    if vendor == "sqlite":
        return [
            f"{t}_config_version_{event}"
            for t in VERSIONED_TABLES
            for event in ("insert", "update", "delete")
        ]
    return []


def install(connection) -> None:
    """Create the version row and every trigger that is missing; leave the rest as they are."""
    quote = connection.ops.quote_name
    version = quote(VERSION_TABLE)
    statements: list[str] = []
    if connection.vendor == "postgresql":
        # Deferred to commit: the version row is locked only while committing, so two transactions
        # writing these tables in opposite orders cannot deadlock on it. TRUNCATE (test flushes)
        # cannot be deferred: a statement trigger.
        statements += [
            f"INSERT INTO {version} (id, version) VALUES (1, {_PG_VALUE}) ON CONFLICT (id) DO NOTHING",  # noqa: S608 (constants)
            f"CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ "  # noqa: S608 (constants)
            f"BEGIN INSERT INTO {version} (id, version) VALUES (1, {_PG_VALUE}) "
            "ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version; RETURN NULL; END $$",
        ]
        for table in VERSIONED_TABLES:
            for name, definition in (
                (
                    f"{table}_config_version",
                    "CONSTRAINT TRIGGER {name} AFTER INSERT OR UPDATE OR DELETE ON {table} "
                    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW",
                ),
                (
                    f"{table}_config_version_truncate",
                    "TRIGGER {name} AFTER TRUNCATE ON {table} FOR EACH STATEMENT",
                ),
            ):
                # A constraint trigger has no CREATE OR REPLACE: dropped and made again.
                statements += [
                    f"DROP TRIGGER IF EXISTS {quote(name)} ON {quote(table)}",
                    "CREATE "
                    + definition.format(name=quote(name), table=quote(table))
                    + f" EXECUTE FUNCTION {FUNCTION}()",
                ]
    elif connection.vendor == "sqlite":
        # No INSERT OR REPLACE in the body: a trigger's conflict clause gives way to its
        # statement's, and the M2M `add` is an INSERT OR IGNORE, which would skip the change.
        bump = (
            f"UPDATE {version} SET version = random() WHERE id = 1; "  # noqa: S608 (constants)
            f"INSERT INTO {version} (id, version) SELECT 1, random() "
            f"WHERE NOT EXISTS (SELECT 1 FROM {version} WHERE id = 1)"
        )
        statements.append(f"INSERT OR IGNORE INTO {version} (id, version) VALUES (1, random())")  # noqa: S608 (constants)
        for table in VERSIONED_TABLES:
            for event in ("INSERT", "UPDATE", "DELETE"):
                name = quote(f"{table}_config_version_{event.lower()}")
                statements.append(
                    f"CREATE TRIGGER IF NOT EXISTS {name} AFTER {event} ON {quote(table)} BEGIN {bump}; END"
                )
    # Another backend gets neither: the selector then reads the tables at every request.
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def remove(connection) -> None:
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in VERSIONED_TABLES:
                for name in (f"{table}_config_version", f"{table}_config_version_truncate"):
                    cursor.execute(f"DROP TRIGGER IF EXISTS {quote(name)} ON {quote(table)}")
            cursor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
        elif connection.vendor == "sqlite":
            for name in trigger_names("sqlite"):
                cursor.execute(f"DROP TRIGGER IF EXISTS {quote(name)}")


def missing(connection) -> list[str]:
    """The triggers that should exist and do not (all of them on an unsupported backend)."""
    expected = trigger_names(connection.vendor)
    if not expected:
        return ["(no triggers on this database)"]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgname = ANY(%s)", [expected])
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        present = {row[0] for row in cursor.fetchall()}
    return [name for name in expected if name not in present]


def reinstall_after_migrate(sender, using="default", **kwargs) -> None:
    """post_migrate: put back what a table rebuild dropped (idempotent)."""
    from django.db import connections

    if getattr(sender, "name", None) != "campaigns":
        return
    connection = connections[using]
    # Only when something is missing: on PostgreSQL, dropping and creating a trigger locks its table.
    if VERSION_TABLE in connection.introspection.table_names() and missing(connection):
        install(connection)
