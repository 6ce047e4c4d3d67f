"""National do-not-call register imports: one file in, one snapshot that atomically replaces the last.

A register file is millions of lines (DNCM ~1.5 M, TPS ~20 M), so the import streams it line by
line, writes entries in bulk (COPY on PostgreSQL, bulk_create batches elsewhere) in short
transactions under a snapshot nobody reads yet (`is_current=False`), then flips `is_current` in one
transaction: callability sees the old snapshot whole or the new one whole, never a mix, and the old
one stays in force if the new file fails. The old snapshot's entries are deleted afterwards in
batches, so no single transaction holds millions of row locks.
"""

from __future__ import annotations

import codecs
import datetime as dt
import io
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from typing import IO, Any

from django.conf import settings
from django.core.files.base import File
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from contacts.models import RegisterEntry, RegisterImport
from contacts.services.audit import audit
from contacts.services.register_formats import Entry, Rejection, parser_for

logger = logging.getLogger(__name__)

# Rows per write: big enough that COPY/bulk_create overheads vanish, small enough to keep each
# transaction and the buffer (a few MB) short.
COPY_BATCH = 500_000
# Rows per write into an open COPY: the server inserts one chunk while the next is parsed.
COPY_CHUNK = 5_000
BULK_CREATE_BATCH = 5_000
DELETE_BATCH = 50_000
# Every rejection is counted; the first ones are kept with their line numbers for the report.
MAX_REPORTED_REJECTIONS = 1_000
# Characters of a rejected line kept in the report.
EXCERPT_CHARS = 200
NULL = "\\N"  # COPY text format
# A running job writes its progress at every batch (seconds apart, BENCHMARKS.md issue 4) and at
# least every PROGRESS_LINES lines. One silent for STALLED_AFTER has lost its process (a request
# killed by gunicorn's timeout, a task past its hard time limit, a restart): it will never finish.
PROGRESS_LINES = 100_000
STALLED_AFTER = dt.timedelta(minutes=10)
# Bytes of a file looked at before parsing, to refuse what is not a text register file.
SNIFF_BYTES = 64 * 1024
READ_CHUNK = 1 << 20


class RegisterImportError(ValueError):
    """The file cannot become a snapshot (a message for the user)."""


class RegisterImportAbandoned(RegisterImportError):
    """The sweep failed this job while its worker still ran (no progress for STALLED_AFTER)."""


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """`text` with control characters spelled as Python escapes (NUL → `\\x00`).

    PostgreSQL refuses NUL in text and in jsonb (`\\u0000`): a rejected line of a binary or
    UTF-16 file stored as read made the failure handler itself fail, and left the job running."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


def create_register_import(
    *,
    register: str,
    file_date: dt.date,
    actor: Any,
    now: dt.datetime,
    file_name: str = "",
    upload: File | None = None,
) -> RegisterImport:
    """A pending import job; with `upload`, the file is stored for the worker to read."""
    if register not in RegisterImport.Register.values:
        raise RegisterImportError(
            f"register: {register!r} is not one of {', '.join(RegisterImport.Register.values)}."
        )
    if file_date > now.date():
        raise RegisterImportError("file_date: the register file cannot be dated in the future.")
    limit = settings.REGISTER_IMPORT_IN_REQUEST_MAX_BYTES
    if upload is not None and settings.CELERY_TASK_ALWAYS_EAGER and limit and (upload.size or 0) > limit:
        # Without a worker the import runs inside the upload's request, which the web server kills
        # after its timeout (gunicorn: 30 s), however far the import got.
        raise RegisterImportError(
            f"file: larger than {limit / 2**20:g} MB, too large to import during the upload without "
            "a worker (no CELERY_BROKER_URL): import it with `manage.py import_register`, or run "
            "a Celery worker."
        )
    # A job of this register whose process died must not stay `running` beside the new one.
    fail_stalled_register_imports(now=now, register=register)
    with transaction.atomic():
        register_import = RegisterImport.objects.create(
            register=register,
            file_date=file_date,
            file_name=(file_name or getattr(upload, "name", "") or "")[:255],
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            created_at=now,
        )
        if upload is not None:
            register_import.file.save(f"{register}-{register_import.pk}.txt", upload, save=True)
        audit(
            actor,
            "contacts.register_import.created",
            register_import,
            {
                "register": register,
                "file_date": file_date.isoformat(),
                "file_name": register_import.file_name,
            },
            at=now,
        )
    return register_import


def _not_text(head: bytes) -> str | None:
    """Why the first bytes of a file show it is not a text register file, or None."""
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        encoding = "UTF-32"
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "UTF-16"
    elif len(head) >= 4 and max(head[0::2].count(0), head[1::2].count(0)) >= 0.9 * (len(head) // 2):
        encoding = "UTF-16"  # digits in UTF-16 without a byte-order mark: every other byte NUL
    else:
        encoding = ""
    if encoding:
        return (
            f"the file is {encoding} text, not ASCII or UTF-8 text as register files are: "
            "save it as UTF-8 and import that."
        )
    if head.startswith(b"PK\x03\x04"):
        return (
            "the file is a ZIP archive, not a text register file: extract the register file and import that."
        )
    if head.startswith(b"\x1f\x8b"):
        return "the file is gzip-compressed, not a text register file: decompress it and import that."
    if b"\x00" in head:
        try:
            codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        except UnicodeDecodeError:
            return "the file is not a text file (binary data in its first bytes): a register file is text."
    return None


def _text_stream(stream: IO[bytes]) -> Iterator[bytes]:
    """The lines of `stream`, once its first bytes have shown it is text (RegisterImportError if not).

    A NUL in one line of a text file is that line's problem (rejected with its number); a file that
    is not text at all is refused as a whole, saying what it is not, rather than as N bad lines.
    Lines end at LF, CRLF or a lone CR (a spreadsheet's "CSV (Macintosh)"), as Django's File splits
    them; the stream is read in chunks, never iterated (a Django File rewinds when iterated)."""
    pending = stream.read(SNIFF_BYTES)
    why = _not_text(pending)
    if why is not None:
        raise RegisterImportError(why)
    while True:
        chunk = stream.read(READ_CHUNK)
        data = pending + chunk
        lines = data.splitlines(keepends=True)
        # The last line may go on in the next chunk (a CR may be the first half of a CRLF).
        pending = lines.pop() if chunk and lines and not lines[-1].endswith(b"\n") else b""
        yield from lines
        if not chunk:
            return


def _decoded_lines(stream: IO[bytes], progress: Callable[[int], None] | None) -> Iterator[str]:
    # Numbers are ASCII; a stray Latin-1 byte in a header must not abort a 5-million-line file.
    read = 0
    for raw in _text_stream(stream):
        read += len(raw)
        if progress is not None and read >= 1 << 20:
            progress(read)
            read = 0
        yield raw.decode("utf-8", errors="replace")
    if progress is not None and read:
        progress(read)


class _Writer:
    """Writes entries of one snapshot in bulk, one short transaction per batch.

    On PostgreSQL a COPY stays open for a whole batch and receives rows in small chunks as they are
    parsed, so the server inserts while this process parses the next lines (both cores busy).
    """

    def __init__(self, register_import: RegisterImport) -> None:
        self.register_import = register_import
        self.postgres = connection.vendor == "postgresql"
        self.limit = COPY_BATCH if self.postgres else BULK_CREATE_BATCH
        self.buffer: list[Entry] = []
        self.pending = 0  # rows in the open batch, not yet committed
        self.written = 0  # rows committed
        self._stack: ExitStack | None = None
        self._copy = None
        self._prefix = f"{register_import.pk}\t{register_import.register}\t"

    @property
    def copy_open(self) -> bool:
        """A COPY holds the connection: no other statement may run on it until the batch ends."""
        return self._stack is not None

    def add(self, entry: Entry) -> None:
        self.buffer.append(entry)
        self.pending += 1
        if self.postgres and len(self.buffer) >= COPY_CHUNK:
            self._send()
        if self.pending >= self.limit:
            self.flush()

    def _send(self) -> None:
        if self._stack is None:
            self._stack = ExitStack()
            self._stack.enter_context(transaction.atomic())
            cursor = self._stack.enter_context(connection.cursor())
            table = RegisterEntry._meta.db_table
            self._copy = self._stack.enter_context(
                cursor.copy(
                    f"COPY {table} (register_import_id, register, number_key, registered_at) FROM STDIN"
                )  # noqa: S608
            )
        prefix = self._prefix
        # Keys are digits, '+' or hex and dates ISO: nothing needs COPY text escaping.
        self._copy.write(
            "".join(
                f"{prefix}{e.number_key}\t{e.registered_at.isoformat() if e.registered_at else NULL}\n"
                for e in self.buffer
            )
        )
        self.buffer = []

    def flush(self) -> None:
        """Commit the open batch."""
        if self.postgres:
            if self.buffer:
                self._send()
            if self._stack is not None:
                stack, self._stack, self._copy = self._stack, None, None
                stack.close()
        elif self.buffer:
            pk, register = self.register_import.pk, self.register_import.register
            with transaction.atomic():
                RegisterEntry.objects.bulk_create(
                    [
                        RegisterEntry(
                            register_import_id=pk,
                            register=register,
                            number_key=e.number_key,
                            registered_at=e.registered_at,
                        )
                        for e in self.buffer
                    ],
                    batch_size=self.limit,
                )
            self.buffer = []
        self.written += self.pending
        self.pending = 0

    def abort(self, exc: BaseException) -> None:
        """Roll the open batch back (its COPY included)."""
        self.buffer = []
        self.pending = 0
        if self._stack is not None:
            stack, self._stack, self._copy = self._stack, None, None
            try:
                stack.__exit__(type(exc), exc, exc.__traceback__)
            except Exception:  # noqa: S110  the original error is the one to report
                pass


def _max_entry_id() -> int:
    return RegisterEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def delete_snapshot_entries(*, register_import_id: int, batch_size: int = DELETE_BATCH) -> int:
    """Delete one snapshot's entries in primary-key windows, each its own transaction; returns how
    many. The windows lie between the ids recorded around the import's writes, so each batch is a
    range scan of the primary key, never a scan of other snapshots."""
    deleted, _ = _delete_windows(register_import_id=register_import_id, batch_size=batch_size)
    return deleted


def _delete_windows(
    *, register_import_id: int, batch_size: int, max_batches: int | None = None
) -> tuple[int, int]:
    """(rows deleted, windows done). Each window emptied moves the import's low bound past it, so
    a deletion cut short (`max_batches`, a dead process) resumes where it stopped."""
    bounds = (
        RegisterImport.objects.filter(pk=register_import_id)
        .values_list("entry_id_low", "entry_id_high")
        .first()
    )
    low, high = bounds if bounds else (None, None)
    if low is None:
        low = 1  # imported before the bounds were recorded (migration 0006)
    if high is None:
        high = _max_entry_id()
    entries = RegisterEntry.objects.filter(register_import_id=register_import_id)
    deleted = batches = 0
    while low <= high and (max_batches is None or batches < max_batches):
        with transaction.atomic():
            count, _ = entries.filter(id__gte=low, id__lt=low + batch_size).delete()
            low += batch_size
            RegisterImport.objects.filter(pk=register_import_id).update(entry_id_low=low, entry_id_high=high)
        deleted += count
        batches += 1
    return deleted, batches


def fail_stalled_register_imports(
    *, now: dt.datetime, register: str | None = None, stalled_after: dt.timedelta = STALLED_AFTER
) -> list[int]:
    """Fail the running jobs that reported no progress for `stalled_after`; returns their ids.

    Cheap (no entry is deleted here, see `delete_discarded_entries`), so it runs lazily wherever
    jobs are started or looked at, and the embedded mode needs no beat. A failed job is never
    current, so its entries stop counting at once."""
    cutoff = now - stalled_after
    stalled = RegisterImport.objects.filter(status=RegisterImport.Status.RUNNING).filter(
        Q(progress_at__lt=cutoff) | Q(progress_at__isnull=True, created_at__lt=cutoff)
    )
    if register is not None:
        stalled = stalled.filter(register=register)
    failed = []
    for register_import in stalled:
        since = register_import.progress_at or register_import.created_at
        message = (
            f"abandoned: no progress since {since.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC, the process "
            "running the import stopped (a request timeout, a time limit or a restart). Nothing of "
            "this file is used; import it again."
        )
        with transaction.atomic():
            claimed = RegisterImport.objects.filter(
                pk=register_import.pk, status=RegisterImport.Status.RUNNING
            ).update(
                status=RegisterImport.Status.FAILED,
                is_current=False,
                error=message,
                finished_at=now,
                entry_id_high=_max_entry_id(),
            )
            if not claimed:
                continue  # finished meanwhile
            register_import.refresh_from_db()
            audit(
                None,
                "contacts.register_import.abandoned",
                register_import,
                {"error": message, "last_progress": since.isoformat()},
                at=now,
            )
        logger.warning("register import %s: %s", register_import.pk, message)
        _forget_file(register_import)
        failed.append(register_import.pk)
    return failed


def _discarded():
    """Finished imports that are not current (replaced, failed, abandoned) and may hold entries."""
    return RegisterImport.objects.filter(
        is_current=False,
        status__in=[RegisterImport.Status.DONE, RegisterImport.Status.FAILED],
        entry_id_low__isnull=False,
        entry_id_high__isnull=False,
        entry_id_low__lte=F("entry_id_high"),
    )


def has_discarded_entries() -> bool:
    return _discarded().exists()


def delete_discarded_entries(*, max_batches: int | None = None, batch_size: int = DELETE_BATCH) -> int:
    """Delete the entries of finished imports that are not current (replaced, failed, abandoned)
    and still hold some, at most `max_batches` windows in all; returns how many rows."""
    deleted = batches = 0
    for register_import_id in _discarded().order_by("pk").values_list("pk", flat=True):
        left = None if max_batches is None else max_batches - batches
        if left is not None and left <= 0:
            break
        rows, done = _delete_windows(
            register_import_id=register_import_id, batch_size=batch_size, max_batches=left
        )
        deleted += rows
        batches += done
    return deleted


def run_register_import(
    *,
    register_import: RegisterImport,
    stream: IO[bytes],
    now: dt.datetime,
    actor: Any = None,
    progress: Callable[[int], None] | None = None,
    clock: Callable[[], dt.datetime] = timezone.now,
) -> RegisterImport:
    """Parse `stream` (bytes) into entries of `register_import`, then make it the current snapshot.

    Never raises for bad data: the job ends `failed` with the reason in `error`, its own entries
    removed, and the previous snapshot still current. Lines that cannot be read are counted and the
    first MAX_REPORTED_REJECTIONS are kept in `rejected_lines` with their line numbers. `clock`
    stamps progress (`progress_at`), which must follow real time however long the import runs.
    """
    claimed = RegisterImport.objects.filter(
        pk=register_import.pk, status=RegisterImport.Status.PENDING
    ).update(status=RegisterImport.Status.RUNNING, progress_at=clock())
    register_import.refresh_from_db()
    if not claimed:
        return register_import  # already run or running elsewhere: idempotent

    # Every id this import writes is above the highest committed one now (ids only grow).
    register_import.entry_id_low = _max_entry_id() + 1
    RegisterImport.objects.filter(pk=register_import.pk).update(entry_id_low=register_import.entry_id_low)
    parser = parser_for(register_import.register, file_date=register_import.file_date)
    writer = _Writer(register_import)
    lines_total = rejected = valid = 0
    report: list[dict] = []

    def save_progress() -> None:
        still_running = RegisterImport.objects.filter(
            pk=register_import.pk, status=RegisterImport.Status.RUNNING
        ).update(
            lines_total=lines_total,
            entries_count=writer.written,
            rejected_count=rejected,
            progress_at=clock(),
        )
        if not still_running:
            raise RegisterImportAbandoned("failed by the sweep while still running")

    try:
        for line_no, parsed in parser(_decoded_lines(stream, progress)):
            lines_total = line_no
            if isinstance(parsed, Rejection):
                rejected += 1
                if len(report) < MAX_REPORTED_REJECTIONS:
                    report.append(
                        {
                            "line": line_no,
                            "reason": parsed.reason,
                            "raw": printable(parsed.raw[:EXCERPT_CHARS]),
                        }
                    )
                if line_no % PROGRESS_LINES == 0 and not writer.copy_open:
                    save_progress()
                continue
            valid += 1
            before = writer.written
            writer.add(parsed)
            if writer.written != before or (line_no % PROGRESS_LINES == 0 and not writer.copy_open):
                save_progress()
        writer.flush()
        RegisterImport.objects.filter(pk=register_import.pk).update(entry_id_high=_max_entry_id())
        if valid == 0:
            raise RegisterImportError(
                "the file has no valid line: empty, or not a file of this register"
                + (f" (first rejected line {report[0]['line']}: {report[0]['reason']})" if report else "")
            )
        previous = _flip(
            register_import=register_import,
            now=now,
            actor=actor,
            lines_total=lines_total,
            entries=writer.written,
            rejected=rejected,
            report=report,
        )
    except Exception as exc:
        writer.abort(exc)
        _fail(
            register_import=register_import,
            exc=exc,
            now=now,
            actor=actor,
            lines_total=lines_total,
            rejected=rejected,
            report=report,
        )
        delete_snapshot_entries(register_import_id=register_import.pk)
        _forget_file(register_import)
        register_import.refresh_from_db()
        return register_import
    except BaseException as exc:
        # The process is being stopped (gunicorn's timeout aborts its worker with SystemExit, ^C):
        # one quick write so the job says so at once; its entries are left to the sweep.
        writer.abort(exc)
        _mark_interrupted(register_import=register_import, exc=exc, now=now)
        raise
    for old in previous:
        delete_snapshot_entries(register_import_id=old)
    # What earlier jobs left behind (a process killed mid-import or mid-deletion), a bounded share
    # at a time so that a run in a request stays short.
    delete_discarded_entries(max_batches=20)
    _forget_file(register_import)
    register_import.refresh_from_db()
    return register_import


def _fail(
    *,
    register_import: RegisterImport,
    exc: Exception,
    now: dt.datetime,
    actor: Any,
    lines_total: int,
    rejected: int,
    report: list[dict],
) -> None:
    """Record why the job failed; never raises for what it stores (the job must not stay running)."""
    bounds = {"entry_id_low": register_import.entry_id_low, "entry_id_high": _max_entry_id()}
    if isinstance(exc, RegisterImportAbandoned):
        # The sweep has said why; its deletion may have run before this process wrote its last
        # rows, so the bounds are set again for the deletion that follows.
        RegisterImport.objects.filter(pk=register_import.pk).update(**bounds)
        logger.warning("register import %s stopped: the sweep failed it", register_import.pk)
        return
    logger.warning("register import %s failed: %s", register_import.pk, exc)
    message = printable(str(exc) if isinstance(exc, RegisterImportError) else f"{type(exc).__name__}: {exc}")
    failed = {
        "status": RegisterImport.Status.FAILED,
        "is_current": False,
        "lines_total": lines_total,
        "entries_count": 0,
        "rejected_count": rejected,
        "finished_at": now,
        **bounds,
    }
    try:
        with transaction.atomic():
            RegisterImport.objects.filter(pk=register_import.pk).update(
                error=message[:2000], rejected_lines=report, **failed
            )
            register_import.refresh_from_db()
            audit(actor, "contacts.register_import.failed", register_import, {"error": message[:500]}, at=now)
    except DatabaseError as store_exc:
        logger.exception("register import %s: the failure report could not be stored", register_import.pk)
        RegisterImport.objects.filter(pk=register_import.pk).update(
            error=f"{message[:1500]} (the report of rejected lines could not be stored: "
            f"{type(store_exc).__name__})",
            rejected_lines=[],
            **failed,
        )


def _mark_interrupted(*, register_import: RegisterImport, exc: BaseException, now: dt.datetime) -> None:
    try:
        RegisterImport.objects.filter(pk=register_import.pk, status=RegisterImport.Status.RUNNING).update(
            status=RegisterImport.Status.FAILED,
            is_current=False,
            error=f"interrupted ({type(exc).__name__}): the process running the import was stopped. "
            "Nothing of this file is used; import it again.",
            finished_at=now,
            entry_id_high=_max_entry_id(),
        )
    except Exception:  # noqa: S110  the interruption is what the caller must see; the sweep ends the job
        logger.exception("register import %s: could not record the interruption", register_import.pk)


def _flip(
    *,
    register_import: RegisterImport,
    now: dt.datetime,
    actor: Any,
    lines_total: int,
    entries: int,
    rejected: int,
    report: list[dict],
) -> list[int]:
    """Make `register_import` the current snapshot of its register, in one transaction."""
    with transaction.atomic():
        current = list(
            RegisterImport.objects.select_for_update()
            .filter(register=register_import.register, is_current=True)
            .exclude(pk=register_import.pk)
        )
        newer = [c for c in current if c.file_date > register_import.file_date]
        if newer:
            raise RegisterImportError(
                f"file_date: the current {register_import.register} snapshot is dated "
                f"{newer[0].file_date.isoformat()}, newer than this file ({register_import.file_date.isoformat()})."
            )
        RegisterImport.objects.filter(pk__in=[c.pk for c in current]).update(is_current=False)
        still_running = RegisterImport.objects.filter(
            pk=register_import.pk, status=RegisterImport.Status.RUNNING
        ).update(
            status=RegisterImport.Status.DONE,
            is_current=True,
            lines_total=lines_total,
            entries_count=entries,
            rejected_count=rejected,
            rejected_lines=report,
            error="",
            finished_at=now,
        )
        if not still_running:
            raise RegisterImportAbandoned("failed by the sweep while still running")
        register_import.refresh_from_db()
        audit(
            actor,
            "contacts.register_import.done",
            register_import,
            {
                "register": register_import.register,
                "file_date": register_import.file_date.isoformat(),
                "lines": lines_total,
                "entries": entries,
                "rejected": rejected,
                "replaced": [c.pk for c in current],
            },
            at=now,
        )
    return [c.pk for c in current]


def _forget_file(register_import: RegisterImport) -> None:
    # The uploaded file is personal data (phone numbers): once parsed, the entries are the copy.
    if register_import.file:
        register_import.file.delete(save=False)
        RegisterImport.objects.filter(pk=register_import.pk).update(file="")


def import_register_file(
    *,
    register: str,
    path: str | os.PathLike,
    file_date: dt.date,
    actor: Any,
    now: dt.datetime,
    progress: Callable[[int], None] | None = None,
) -> RegisterImport:
    """Import a register file from disk now, in this process (the CLI and the benchmark)."""
    register_import = create_register_import(
        register=register, file_date=file_date, actor=actor, now=now, file_name=os.path.basename(path)
    )
    with open(path, "rb") as stream:
        return run_register_import(
            register_import=register_import, stream=stream, now=now, actor=actor, progress=progress
        )


def import_register_lines(
    *, register: str, lines: Iterable[str], file_date: dt.date, actor: Any, now: dt.datetime
) -> RegisterImport:
    """Import from text lines (tests and demo data)."""
    data = "".join(line if line.endswith("\n") else line + "\n" for line in lines).encode()
    register_import = create_register_import(
        register=register, file_date=file_date, actor=actor, now=now, file_name=f"{register}.txt"
    )
    return run_register_import(register_import=register_import, stream=io.BytesIO(data), now=now, actor=actor)
