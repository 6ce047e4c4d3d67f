"""Prospect file imports, in two phases (house style 9; pretix modelimport):

1. Validate: stream every row of the file, normalise its number (in worker processes on big files),
   reject what cannot be imported with a line number and a reason, and mark the second occurrence of
   a number in the file as a duplicate. Results go to a temporary spool file, not to memory. A file
   that cannot be read to its end (truncated, wrong encoding, no phone column…) stops here: nothing
   is written.
2. Write: stream the spool in batches, one short transaction each. A row whose number, or whose
   (source, external reference), is already known updates that prospect, filling only blanks; the
   others are created, with `COPY` on PostgreSQL and `bulk_create` elsewhere. Each row's outcome
   (created, updated, duplicate, rejected, with the prospect id) goes to the job's outcomes file and
   each rejected row, formula-neutralised, to its report.
"""

from __future__ import annotations

import collections
import csv
import io
import json
import logging
import multiprocessing
import os
import pickle
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.core.files import File
from django.db import connection, transaction
from django.db.models import F

from contacts.models import ImportJob, PhoneNumber, Prospect
from contacts.services import import_rows
from contacts.services.audit import audit
from contacts.services.import_files import FIELDS, ImportFileError, open_rows, parse_mapping
from contacts.services.import_rows import (
    CREATED,
    DUPLICATE,
    REJECTED,
    UPDATED,
    RejectedRow,
    ValidRow,
)

logger = logging.getLogger(__name__)

CHUNK_ROWS = 5_000  # rows per validation chunk (one pickle to a worker and back)
WRITE_BATCH_ROWS = 20_000  # rows per write transaction: short locks, bounded memory
IN_FLIGHT_CHUNKS = 4  # validation chunks queued to workers: back-pressure keeps memory flat
# Files above this size are worth the worker processes (fork + pickling costs ~50 ms).
PARALLEL_MIN_BYTES = 2 * 1024 * 1024
# Uploads up to this size are imported inside the request; larger ones go to Celery.
INLINE_MAX_BYTES = getattr(settings, "IMPORT_INLINE_MAX_BYTES", 512 * 1024)
# Updatable prospect fields: an import fills these when blank and never blanks them.
FILLABLE = ("first_name", "last_name", "language", "postcode", "city", "region", "email", "contract_ref")
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

ProgressCallback = Callable[[str, int, int], None]


class _Duplicate(tuple):
    """(line, e164, first line): the same number earlier in the file."""

    __slots__ = ()


def neutralise(cell: object) -> str:
    text = "" if cell is None else str(cell)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


# --------------------------------------------------------------------------------------------------
# Jobs


def create_import_job(
    *,
    actor: Any,
    now: datetime,
    uploaded_file: Any = None,
    source_path: str = "",
    original_name: str = "",
    source: str = "",
    default_country: str = "",
    mapping: dict | str | None = None,
) -> ImportJob:
    """Record an import request. Raises ImportFileError for a mapping that names unknown fields."""
    parsed_mapping = parse_mapping(mapping)
    default_country = (default_country or "").strip().upper()
    if default_country and (len(default_country) != 2 or not default_country.isalpha()):
        raise ImportFileError(f"default country {default_country!r} is not an ISO 3166-1 alpha-2 code")
    job = ImportJob(
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        created_at=now,
        source_path=str(source_path),
        original_name=original_name or (getattr(uploaded_file, "name", "") or Path(str(source_path)).name),
        source=source.strip(),
        default_country=default_country,
        mapping=parsed_mapping,
    )
    if uploaded_file is not None:
        job.file_size = uploaded_file.size or 0
        job.file.save(Path(job.original_name).name or "upload", uploaded_file, save=False)
    elif source_path:
        job.file_size = os.path.getsize(source_path)
    with transaction.atomic():
        job.save()
        audit(
            actor,
            "contacts.import.requested",
            job,
            {"file": job.original_name, "size": job.file_size, "source": job.source},
            at=now,
        )
    return job


def check_import_file(*, stream: BinaryIO, mapping: dict | str | None) -> dict[str, str]:
    """Read the header and the first row: an empty, header-only, binary or undecodable file, or one
    without a phone column, is refused before a job exists. Returns the column → field mapping."""
    opened, rows = open_rows(stream, mapping=parse_mapping(mapping))
    rows.close()
    stream.seek(0)
    return {opened.header[i] or f"column {i + 1}": f for i, f in opened.columns.items()}


def start_import(*, job: ImportJob, now: datetime) -> ImportJob:
    """Small files inline (the answer already holds the outcome), large ones in Celery after commit."""
    if job.file_size <= INLINE_MAX_BYTES:
        run_import(job_id=job.pk, now=now)
        job.refresh_from_db()
        return job
    from contacts.tasks.imports import run_prospect_import

    run_prospect_import.delay_on_commit(job.pk)
    return job


def run_import(
    *,
    job_id: int,
    now: datetime,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
) -> ImportJob:
    """Run a pending job to its end. Idempotent: a job already started is left alone."""
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.PENDING).update(
        status=ImportJob.Status.VALIDATING, started_at=now
    )
    job = ImportJob.objects.get(pk=job_id)
    if not claimed:
        return job
    try:
        with _open_source(job) as stream, tempfile.TemporaryFile() as spool:
            opened, rows = open_rows(stream, mapping=job.mapping)
            job.columns = {opened.header[i] or f"column {i + 1}": f for i, f in opened.columns.items()}
            ImportJob.objects.filter(pk=job.pk).update(columns=job.columns)
            total = _validate(job, stream, opened, rows, spool, workers=workers, progress=progress)
            ImportJob.objects.filter(pk=job.pk).update(
                status=ImportJob.Status.WRITING, rows_total=total, progress=50
            )
            _write(job, opened.header, spool, total=total, now=now, progress=progress)
    except ImportFileError as exc:
        return _fail(job, str(exc), now=now)
    job.refresh_from_db()
    with transaction.atomic():
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.SUCCEEDED, progress=100, finished_at=now
        )
        job.refresh_from_db()
        audit(
            job.created_by, "contacts.import.completed", job, {**job.counts, "rows": job.rows_total}, at=now
        )
    return job


def _fail(job: ImportJob, message: str, *, now: datetime) -> ImportJob:
    with transaction.atomic():
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.FAILED, error=message, finished_at=now
        )
        job.refresh_from_db()
        audit(job.created_by, "contacts.import.failed", job, {"error": message}, at=now)
    return job


class _open_source:
    def __init__(self, job: ImportJob):
        self.job = job
        self.stream: BinaryIO | None = None

    def __enter__(self) -> BinaryIO:
        try:
            if self.job.file:
                self.stream = self.job.file.open("rb")
            else:
                self.stream = open(self.job.source_path, "rb")  # noqa: SIM115
        except OSError as exc:
            raise ImportFileError(f"the file cannot be opened ({exc.strerror or exc})") from exc
        return self.stream

    def __exit__(self, *exc_info) -> None:
        if self.stream is not None:
            self.stream.close()


# --------------------------------------------------------------------------------------------------
# Phase 1: validate


def _chunks(rows: Iterator[tuple[int, list]]) -> Iterator[list[tuple[int, list]]]:
    chunk: list[tuple[int, list]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK_ROWS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _validated_chunks(job: ImportJob, opened, rows, workers: int | None) -> Iterator[list]:
    columns, default_country = opened.columns, job.default_country
    if workers is None:
        workers = min(2, os.cpu_count() or 1) if job.file_size >= PARALLEL_MIN_BYTES else 1
    # Celery's prefork children are daemonic and may not fork children of their own.
    if workers <= 1 or multiprocessing.current_process().daemon:
        import_rows.configure(columns, default_country)
        for chunk in _chunks(rows):
            yield import_rows.validate_chunk(chunk)
        return
    # fork: the children inherit the loaded phonenumbers metadata instead of re-importing it.
    context = multiprocessing.get_context("fork")
    with context.Pool(
        workers, initializer=import_rows.configure, initargs=(columns, default_country)
    ) as pool:
        pending: collections.deque = collections.deque()
        for chunk in _chunks(rows):
            pending.append(pool.apply_async(import_rows.validate_chunk, (chunk,)))
            if len(pending) >= IN_FLIGHT_CHUNKS:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


def _validate(job, stream, opened, rows, spool, *, workers, progress) -> int:
    seen: dict[int, int] = {}  # E.164 digits as an int (28 bytes, not 60) → first line
    total = 0
    last_percent = -1
    for results in _validated_chunks(job, opened, rows, workers):
        out: list = []
        for result in results:
            if type(result) is ValidRow:
                key = int(result.e164[1:])
                first = seen.get(key)
                if first is not None:
                    out.append(_Duplicate((result.line, result.e164, first)))
                    continue
                seen[key] = result.line
            out.append(result)
        total += len(out)
        pickle.dump(out, spool, protocol=pickle.HIGHEST_PROTOCOL)
        if job.file_size and opened.kind == "csv":
            try:
                percent = min(49, int(stream.tell() * 50 / job.file_size))
            except (OSError, ValueError):
                percent = last_percent
            if percent != last_percent:
                last_percent = percent
                ImportJob.objects.filter(pk=job.pk).update(progress=max(percent, 0))
        if progress:
            progress("validate", total, 0)
    return total


# --------------------------------------------------------------------------------------------------
# Phase 2: write


def _spooled(spool) -> Iterator[list]:
    spool.seek(0)
    while True:
        try:
            yield pickle.load(spool)  # noqa: S301  (our own temporary file, written above)
        except EOFError:
            return


def _batches(spool) -> Iterator[list]:
    batch: list = []
    for chunk in _spooled(spool):
        batch.extend(chunk)
        if len(batch) >= WRITE_BATCH_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


def _write(job: ImportJob, header: list[str], spool, *, total: int, now: datetime, progress) -> None:
    on_postgres = connection.vendor == "postgresql"
    reasons: collections.Counter = collections.Counter()
    done = 0
    with tempfile.TemporaryFile() as outcomes_bin, tempfile.TemporaryFile() as report_bin:
        outcomes_text = io.TextIOWrapper(outcomes_bin, encoding="utf-8", newline="")
        # With a BOM, so that Excel reads the accents of the rejected rows right.
        report_text = io.TextIOWrapper(report_bin, encoding="utf-8-sig", newline="")
        outcomes = csv.writer(outcomes_text)
        outcomes.writerow(["line", "outcome", "prospect_id", "e164", "reason", "message"])
        report = csv.writer(report_text)
        report.writerow(["line", "reason", "message", *[neutralise(h) for h in header]])
        for batch in _batches(spool):
            with transaction.atomic():
                if on_postgres:
                    # Batches need not wait for their own WAL flush: the final status update commits
                    # synchronously, and PostgreSQL flushes WAL in order, so a job that says
                    # "succeeded" never outlives a batch lost in a crash.
                    with connection.cursor() as cursor:
                        cursor.execute("SET LOCAL synchronous_commit TO OFF")
                counts = _write_batch(job, batch, now=now, on_postgres=on_postgres, outcomes=outcomes)
                for row in batch:
                    if type(row) is RejectedRow:
                        reasons[row.reason] += 1
                        report.writerow(
                            [row.line, row.reason, neutralise(row.message), *map(neutralise, row.cells)]
                        )
                done += len(batch)
                ImportJob.objects.filter(pk=job.pk).update(
                    rows_created=F("rows_created") + counts[CREATED],
                    rows_updated=F("rows_updated") + counts[UPDATED],
                    rows_duplicate=F("rows_duplicate") + counts[DUPLICATE],
                    rows_rejected=F("rows_rejected") + counts[REJECTED],
                    progress=min(99, 50 + done * 50 // max(total, 1)),
                )
            if progress:
                progress("write", done, total)
        outcomes_text.flush()
        outcomes_text.detach()
        report_text.flush()
        report_text.detach()
        job.refresh_from_db()
        job.rejection_reasons = dict(sorted(reasons.items()))
        outcomes_bin.seek(0)
        job.outcomes.save(f"import-{job.pk}-outcomes.csv", File(outcomes_bin), save=False)
        report_bin.seek(0)
        job.report.save(f"import-{job.pk}-rejected.csv", File(report_bin), save=False)
        job.save(update_fields=["rejection_reasons", "outcomes", "report"])


def _write_batch(job, batch: list, *, now, on_postgres: bool, outcomes) -> collections.Counter:
    counts: collections.Counter = collections.Counter()
    valid = [row for row in batch if type(row) is ValidRow]
    if on_postgres:
        # One writer at a time per database: two imports adding the same new number would
        # otherwise both see it missing and the second COPY would fail on the unique e164.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [0x1D_1A_0B])
    e164s = [row.e164 for row in valid] + [row[1] for row in batch if type(row) is _Duplicate]
    owner_of_number = _owners_of_numbers(e164s, on_postgres=on_postgres)
    refs = {row.fields["external_ref"] for row in valid if "external_ref" in row.fields}
    owner_of_ref: dict[str, Any] = _owners_of_refs(job.source, sorted(refs), on_postgres=on_postgres)
    new_prospects: list[dict] = []  # rows creating a prospect, in order
    new_numbers: list[tuple[Any, ValidRow]] = []  # (prospect id or index into new_prospects, row)
    updates: dict[int, list[dict]] = collections.defaultdict(list)
    target: dict[int, Any] = {}  # line → prospect id, or ("new", index)
    for row in valid:
        ref = row.fields.get("external_ref")
        if row.e164 in owner_of_number:
            pid = owner_of_number[row.e164]
            updates[pid].append(row.fields)
            target[row.line] = pid
        elif ref and ref in owner_of_ref:
            pid = owner_of_ref[ref]
            if isinstance(pid, tuple):  # created earlier in this batch
                new_prospects[pid[1]] = _merge_fields(new_prospects[pid[1]], row.fields)
            else:
                updates[pid].append(row.fields)
            new_numbers.append((pid, row))
            target[row.line] = pid
            owner_of_number[row.e164] = pid
        else:
            index = len(new_prospects)
            new_prospects.append(dict(row.fields))
            pid = ("new", index)
            if ref:
                owner_of_ref[ref] = pid
            new_numbers.append((pid, row))
            target[row.line] = pid
            owner_of_number[row.e164] = pid
    ids = _insert_prospects(job, new_prospects, now=now, on_postgres=on_postgres)
    created_ids = set(ids)

    def resolve(pid: Any) -> int:
        return ids[pid[1]] if isinstance(pid, tuple) else pid

    _insert_numbers([(resolve(pid), row) for pid, row in new_numbers], now=now, on_postgres=on_postgres)
    _apply_updates(updates, now=now)
    for row in batch:
        kind = type(row)
        if kind is ValidRow:
            pid = resolve(target[row.line])
            first_of_prospect = pid in created_ids
            if first_of_prospect:
                created_ids.discard(pid)  # later rows of the same new prospect are updates
            outcome = CREATED if first_of_prospect else UPDATED
            counts[outcome] += 1
            outcomes.writerow([row.line, outcome, pid, row.e164, "", ""])
        elif kind is _Duplicate:
            line, e164, first = row
            pid = owner_of_number.get(e164)
            pid = resolve(pid) if pid is not None else ""
            counts[DUPLICATE] += 1
            outcomes.writerow([line, DUPLICATE, pid, e164, "duplicate", f"same number as line {first}"])
        else:
            counts[REJECTED] += 1
            outcomes.writerow([row.line, REJECTED, "", "", row.reason, row.message])
    return counts


def _owners_of_numbers(e164s: list[str], *, on_postgres: bool) -> dict[str, int]:
    if not e164s:
        return {}
    if on_postgres:
        # One array parameter instead of 10,000 placeholders: the ORM's IN () took longer to build
        # than PostgreSQL took to answer (measured on 10k-row batches).
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT e164, prospect_id FROM {PhoneNumber._meta.db_table} WHERE e164 = ANY(%s)",  # noqa: S608
                [e164s],
            )
            return dict(cursor.fetchall())
    owners: dict[str, int] = {}
    for start in range(0, len(e164s), 900):  # SQLite's bound-parameter limit
        owners.update(
            PhoneNumber.objects.filter(e164__in=e164s[start : start + 900]).values_list("e164", "prospect_id")
        )
    return owners


def _owners_of_refs(source: str, refs: list[str], *, on_postgres: bool) -> dict[str, Any]:
    if not refs:
        return {}
    if on_postgres:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT external_ref, id FROM {Prospect._meta.db_table} "  # noqa: S608
                "WHERE source = %s AND external_ref = ANY(%s) AND external_ref <> '' AND erased_at IS NULL",
                [source, refs],
            )
            return dict(cursor.fetchall())
    owners: dict[str, Any] = {}
    for start in range(0, len(refs), 900):
        owners.update(
            Prospect.objects.filter(
                source=source, external_ref__in=refs[start : start + 900], erased_at__isnull=True
            )
            .exclude(external_ref="")
            .values_list("external_ref", "id")
        )
    return owners


def _merge_fields(current: dict, incoming: dict) -> dict:
    merged = dict(current)
    for field, value in incoming.items():
        if field == "tags":
            merged["tags"] = list(dict.fromkeys([*merged.get("tags", []), *value]))
        elif field == "is_customer":
            merged["is_customer"] = merged.get("is_customer", False) or value
        elif not merged.get(field):
            merged[field] = value
    return merged


def _apply_updates(updates: dict[int, list[dict]], *, now) -> None:
    """Fill what each matched prospect lacks; an empty cell never blanks a field (cells are only
    carried when non-empty), and what is already known is never overwritten."""
    if not updates:
        return
    changed: list[Prospect] = []
    touched: set[str] = set()
    prospects = Prospect.objects.filter(pk__in=list(updates), erased_at__isnull=True).only(
        "id", *FILLABLE, "is_customer", "tags"
    )
    for prospect in prospects:
        dirty = False
        for fields in updates[prospect.pk]:
            for field, value in fields.items():
                # external_ref is not filled: it belongs to the source that issued it.
                if field in FILLABLE:
                    if not getattr(prospect, field):
                        setattr(prospect, field, value)
                        touched.add(field)
                        dirty = True
                elif field == "is_customer" and value and not prospect.is_customer:
                    prospect.is_customer = True
                    touched.add(field)
                    dirty = True
                elif field == "tags":
                    merged = list(dict.fromkeys([*(prospect.tags or []), *value]))
                    if merged != prospect.tags:
                        prospect.tags = merged
                        touched.add(field)
                        dirty = True
        if dirty:
            prospect.updated_at = now
            changed.append(prospect)
    if changed:
        Prospect.objects.bulk_update(changed, [*sorted(touched), "updated_at"], batch_size=1000)


def _prospect_values(job, fields: dict, now) -> dict:
    values = {f: fields[f] for f in FIELDS if f in fields and f != "phone"}
    values.setdefault("tags", [])
    values["source"] = job.source
    values["created_at"] = values["updated_at"] = now
    return values


# Columns COPY writes from each row; every other column gets its model default (see _CopyPlan).
PROSPECT_COPY_FIELDS = (
    "id", "first_name", "last_name", "language", "country", "postcode", "city", "region", "email",
    "source", "external_ref", "is_customer", "contract_ref", "tags", "created_at", "updated_at",
)  # fmt: skip
NUMBER_COPY_FIELDS = (
    "prospect_id", "raw", "e164", "region", "number_type", "is_valid", "time_zone", "time_zone_candidates",
    "created_at",
)  # fmt: skip


class _CopyPlan:
    """COPY … FROM STDIN for a model: the given fields from each row, then every other concrete
    column (except an auto id) at its default, so a field another capability adds does not break
    the import. Rows are tuples in `fields` order: no per-row dicts on the million-row path."""

    def __init__(self, model, fields: tuple[str, ...]):
        rest = [
            f
            for f in model._meta.concrete_fields
            if f.attname not in fields and not (f.primary_key and f.attname == "id")
        ]
        self.tail = tuple(
            json.dumps(f.get_default()) if f.get_internal_type() == "JSONField" else f.get_default()
            for f in rest
        )
        by_attname = {f.attname: f for f in model._meta.concrete_fields}
        columns = [by_attname[name].column for name in fields] + [f.column for f in rest]
        quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
        self.sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({quoted}) FROM STDIN"

    def copy(self, cursor, rows) -> None:
        tail = self.tail
        with cursor.cursor.copy(self.sql) as copy:
            write = copy.write_row
            for row in rows:
                write(row + tail if tail else row)


@lru_cache(maxsize=256)
def _json_list(values: tuple) -> str:
    return json.dumps(list(values))


def _insert_prospects(job, rows: list[dict], *, now, on_postgres: bool) -> list[int]:
    if not rows:
        return []
    if not on_postgres:
        objs = Prospect.objects.bulk_create(
            [Prospect(**_prospect_values(job, fields, now)) for fields in rows], batch_size=500
        )
        return [obj.pk for obj in objs]
    table = Prospect._meta.db_table
    source = job.source
    with connection.cursor() as cursor:
        # Reserve the ids first so COPY (which returns nothing) can write them and we can report them.
        cursor.execute(
            f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, %s)",  # noqa: S608
            [len(rows)],
        )
        ids = [r[0] for r in cursor.fetchall()]
        get = dict.get
        _CopyPlan(Prospect, PROSPECT_COPY_FIELDS).copy(
            cursor,
            (
                (
                    pk,
                    get(f, "first_name", ""),
                    get(f, "last_name", ""),
                    get(f, "language", ""),
                    f["country"],
                    get(f, "postcode", ""),
                    get(f, "city", ""),
                    get(f, "region", ""),
                    get(f, "email", ""),
                    source,
                    get(f, "external_ref", ""),
                    get(f, "is_customer", False),
                    get(f, "contract_ref", ""),
                    _json_list(tuple(f["tags"])) if "tags" in f else "[]",
                    now,
                    now,
                )
                for pk, f in zip(ids, rows, strict=True)
            ),
        )
    return ids


def _insert_numbers(rows: list[tuple[int, ValidRow]], *, now, on_postgres: bool) -> None:
    if not rows:
        return
    if not on_postgres:
        PhoneNumber.objects.bulk_create(
            [
                PhoneNumber(
                    prospect_id=pid,
                    raw=row.raw,
                    e164=row.e164,
                    region=row.region,
                    number_type=row.number_type,
                    is_valid=True,
                    time_zone=row.time_zone,
                    time_zone_candidates=list(row.time_zone_candidates),
                    created_at=now,
                )
                for pid, row in rows
            ],
            batch_size=500,
        )
        return
    with connection.cursor() as cursor:
        _CopyPlan(PhoneNumber, NUMBER_COPY_FIELDS).copy(
            cursor,
            (
                (
                    pid,
                    row.raw,
                    row.e164,
                    row.region,
                    row.number_type,
                    True,
                    row.time_zone,
                    _json_list(row.time_zone_candidates),
                    now,
                )
                for pid, row in rows
            ),
        )
