"""Database plumbing for the hot paths (today: the lease claim, campaigns/services/leases.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections


@contextmanager
def prepared_cursor(using: str = "default") -> Iterator:
    """A Django cursor whose statements PostgreSQL parses and plans once per connection.

    Django's own cursors bind parameters on the client, so PostgreSQL plans every statement anew:
    1.9 ms for the lease claim alone, at every request (EXPLAIN ANALYZE on the bench). This cursor
    binds on the server instead, and psycopg prepares a statement once the connection has run it
    `prepare_threshold` times (OPTIONS, set from DB_PREPARED_STATEMENTS). Use it for hand-written
    SQL only: an ORM query with a parameter in both SELECT and GROUP BY fails under server-side
    binding. Elsewhere, or with prepared statements off, it is `connection.cursor()`.
    """
    connection = connections[using]
    if (
        connection.vendor != "postgresql"
        or connection.settings_dict["OPTIONS"].get("prepare_threshold") is None
    ):
        with connection.cursor() as cursor:
            yield cursor
        return
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.ensure_connection()
    # `_prepare_cursor` is what `connection.cursor()` does with the raw cursor it creates: the
    # thread-sharing check and the (debug) wrapper, so query logging and error wrapping still apply.
    cursor = connection._prepare_cursor(ServerBindingCursor(connection.connection))
    try:
        yield cursor
    finally:
        cursor.close()
