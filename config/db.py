"""Database plumbing for the hot paths: the statements every dialler lease request runs
(campaigns/services/leases.py and what it calls)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections, router
from django.db.models import Model, signals
from django.db.models.query import get_related_populators

# The largest value of a bigint column (every id here): a larger one matches no row, and SQLite
# cannot even bind it (OverflowError), so input is checked against it before any query.
MAX_ID = 2**63 - 1


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


class CompiledQuery:
    """An ORM query turned into SQL once per process and database, then run with fresh parameters,
    its rows built into the model instances `ModelIterable` builds (select_related objects cached,
    same converters). Compiling a query with two select_related levels took ~0.7 ms of Python at
    every request (the dialler token lookup, py-spy on the lease bench); running it, ~0.1 ms.

    `build(*args)` returns the queryset for those arguments. The arguments must reach the SQL as its
    parameters, unchanged and in order (equality filters on strings and integers): the first
    compilation checks it and refuses the query otherwise. Uses Django's compiler and related
    populators as `ModelIterable` does; tests/test_db.py compares the results with the ORM's.
    """

    def __init__(self, build):
        self.build = build
        self._compiled: dict[str, tuple] = {}

    def __call__(self, *args, using: str = "default") -> list:
        compiled = self._compiled.get(using)
        if compiled is None:
            compiler = self.build(*args).query.get_compiler(using=using)
            sql, params = compiler.as_sql()
            if list(params) != list(args):
                raise ValueError(f"CompiledQuery: parameters {params!r} are not the arguments {args!r}")
            klass_info, select = compiler.klass_info, compiler.select
            start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
            compiled = (
                sql,
                compiler,
                # What `results_iter` works out at every call.
                compiler.get_converters([s[0] for s in select[: compiler.col_count]]),
                klass_info["model"],
                [f[0].target.attname for f in select[start:end]],
                slice(start, end),
                get_related_populators(klass_info, select, using),
            )
            self._compiled[using] = compiled
        sql, compiler, converters, model, attnames, own, populators = compiled
        with prepared_cursor(using) as cursor:
            cursor.execute(sql, list(args))
            rows = cursor.fetchall()
        if converters:
            rows = compiler.apply_converters(rows, converters)
        objects = []
        for row in rows:
            obj = model.from_db(using, attnames, row[own])
            for populator in populators:
                populator.populate(row, obj)
            objects.append(obj)
        return objects


def insert(*instances, using: str | None = None) -> None:
    """`instance.save(force_insert=True)` for each instance, as INSERTs written once per model and
    database; on PostgreSQL several instances go in one statement (each INSERT a data-modifying
    `WITH`, all run to completion in that statement), so one round trip writes them all. They share
    one snapshot: a row must not need another of the same call to exist before it (foreign keys
    checked at commit, as Django declares them, are fine).

    For rows written at every dialler request (the lease and its audit entry): the ORM compiled the
    INSERT each time, ~0.5 ms of Python per row, and each statement costs a round trip of ~0.2 ms of
    CPU between this process and the database (py-spy and /proc on the lease bench). Same columns,
    same values (each field's `pre_save` and `get_db_prep_save`), the primary key set back when the
    database makes it. Models with save() overridden, save signals listened to, inheritance, or
    database-made columns (db_default, generated) go through `save()`. tests/test_db.py and
    tests/contacts/test_audit.py compare the rows with the ORM's.
    """
    plain = []
    for instance in instances:
        model = type(instance)
        alias = using or router.db_for_write(model, instance=instance)
        # Listeners can be connected at any time: asked at each call, the model's own shape once.
        if (
            _needs_save(model)
            or signals.pre_save.has_listeners(model)
            or signals.post_save.has_listeners(model)
            or not connections[alias].features.can_return_columns_from_insert
        ):
            instance.save(force_insert=True, using=alias)
        else:
            plain.append((instance, alias))
    if not plain:
        return
    connection = connections[plain[0][1]]
    if len(plain) > 1 and (connection.vendor != "postgresql" or any(a != connection.alias for _, a in plain)):
        for instance, alias in plain:  # SQLite has no INSERT inside WITH
            insert(instance, using=alias)
        return
    plain = [instance for instance, _ in plain]
    parts = [_insert_part(instance, connection) for instance in plain]
    key = (connection.alias, *((type(i), part[2]) for i, part in zip(plain, parts, strict=True)))
    sql = _INSERTS.get(key)
    if sql is None:
        quote = connection.ops.quote_name
        pks = [quote(i._meta.pk.column) for i in plain]
        if len(parts) == 1:
            sql = parts[0][0] + (f" RETURNING {pks[0]}" if parts[0][2] else "")
        else:
            # Model names only: no value is ever written into the SQL.
            ctes = ", ".join(f"i{n} AS ({part[0]} RETURNING {pks[n]})" for n, part in enumerate(parts))
            keys = ", ".join(f"(SELECT {pk} FROM i{n})" for n, pk in enumerate(pks))  # noqa: S608
            sql = f"WITH {ctes} SELECT {keys}"  # noqa: S608
        _INSERTS[key] = sql
    returns = len(parts) > 1 or parts[0][2]
    with prepared_cursor(connection.alias) as cursor:
        cursor.execute(sql, [value for _, values, _ in parts for value in values])
        row = cursor.fetchone() if returns else None
    for n, (instance, (_, _, returns_pk)) in enumerate(zip(plain, parts, strict=True)):
        if returns_pk:
            pk = instance._meta.pk
            value = row[n]
            for converter in pk.get_db_converters(connection):
                value = converter(value, pk, connection)
            setattr(instance, pk.attname, value)
        instance._state.adding, instance._state.db = False, connection.alias


def _insert_part(instance, connection) -> tuple[str, list, bool]:
    """(INSERT without RETURNING, its values, whether the database makes the primary key)."""
    meta = instance._meta
    pk = meta.pk
    returns_pk = pk.db_returning and getattr(instance, pk.attname) is None
    fields = [f for f in meta.concrete_fields if not (returns_pk and f is pk)]
    key = (type(instance), connection.alias, returns_pk, "part")
    sql = _INSERTS.get(key)
    if sql is None:
        quote = connection.ops.quote_name
        sql = (
            f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608 (model names only)
            f"VALUES ({', '.join(['%s'] * len(fields))})"
        )
        _INSERTS[key] = sql
    return sql, [f.get_db_prep_save(f.pre_save(instance, add=True), connection) for f in fields], returns_pk


_INSERTS: dict[tuple, str] = {}


@functools.cache
def _needs_save(model) -> bool:
    """The model overrides save(), inherits from a concrete model, or has columns the database
    fills (db_default, generated): `insert` leaves those to save()."""
    meta = model._meta
    return (
        model.save is not Model.save
        or bool(meta.parents)
        or any(f.generated or f.has_db_default() for f in meta.concrete_fields)
    )
