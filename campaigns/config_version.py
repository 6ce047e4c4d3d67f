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


def _triggers(vendor: str, quote) -> list[tuple[str, str, str]]:
    """(name, table, definition) of every version trigger on this backend; the definition is what
    follows CREATE."""
    version = quote(VERSION_TABLE)
    # SQLite: no INSERT OR REPLACE in the body, because a trigger's conflict clause gives way to its
    # statement's, and the M2M `add` is an INSERT OR IGNORE, which would skip the change.
    bump = (
        f"UPDATE {version} SET version = random() WHERE id = 1; "  # noqa: S608 (constants)
        f"INSERT INTO {version} (id, version) SELECT 1, random() "
        f"WHERE NOT EXISTS (SELECT 1 FROM {version} WHERE id = 1)"
    )
    triggers = []
    for table in VERSIONED_TABLES:
        if vendor == "postgresql":
            # Deferred to commit: the version row is locked only while committing, so two
            # transactions writing these tables in opposite orders cannot deadlock on it. TRUNCATE
            # (test flushes) cannot be deferred: a statement trigger.
            triggers += [
                (
                    f"{table}_config_version",
                    table,
                    "CONSTRAINT TRIGGER {name} AFTER INSERT OR UPDATE OR DELETE ON {table} "
                    f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()",
                ),
                (
                    f"{table}_config_version_truncate",
                    table,
                    f"TRIGGER {{name}} AFTER TRUNCATE ON {{table}} FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()",
                ),
            ]
        elif vendor == "sqlite":
            triggers += [
                (
                    f"{table}_config_version_{event.lower()}",
                    table,
                    f"TRIGGER IF NOT EXISTS {{name}} AFTER {event} ON {{table}} BEGIN {bump}; END",
                )
                for event in ("INSERT", "UPDATE", "DELETE")
            ]
    return triggers


def trigger_names(vendor: str) -> list[str]:
    return [name for name, _, _ in _triggers(vendor, lambda name: f'"{name}"')]


def install(connection) -> None:
    """Create the version row, and the triggers: the missing ones on SQLite, all of them again on
    PostgreSQL (a constraint trigger has no CREATE OR REPLACE; post_migrate calls this only when
    one is missing)."""
    quote = connection.ops.quote_name
    version = quote(VERSION_TABLE)
    statements: list[str] = []
    if connection.vendor == "postgresql":
        statements += [
            f"INSERT INTO {version} (id, version) VALUES (1, {_PG_VALUE}) ON CONFLICT (id) DO NOTHING",  # noqa: S608 (constants)
            f"CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ "  # noqa: S608 (constants)
            f"BEGIN INSERT INTO {version} (id, version) VALUES (1, {_PG_VALUE}) "
            "ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version; RETURN NULL; END $$",
        ]
    elif connection.vendor == "sqlite":
        statements.append(f"INSERT OR IGNORE INTO {version} (id, version) VALUES (1, random())")  # noqa: S608 (constants)
    # Another backend gets neither: the selector then reads the tables at every request.
    for name, table, definition in _triggers(connection.vendor, quote):
        if connection.vendor == "postgresql":
            statements.append(f"DROP TRIGGER IF EXISTS {quote(name)} ON {quote(table)}")
        statements.append("CREATE " + definition.format(name=quote(name), table=quote(table)))
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def remove(connection) -> None:
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for name, table, _ in _triggers(connection.vendor, quote):
            on = f" ON {quote(table)}" if connection.vendor == "postgresql" else ""
            cursor.execute(f"DROP TRIGGER IF EXISTS {quote(name)}{on}")
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")


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
