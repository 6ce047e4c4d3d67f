"""Issue 4: national register file parsers and atomic snapshot replacement."""

import datetime as dt
import gzip
import hashlib
import io
import zipfile
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import DataError
from django.utils import timezone
from rest_framework.test import APIClient

from contacts.models import AuditEntry, RegisterEntry, RegisterImport
from contacts.services import registers
from contacts.services.register_formats import (
    Entry,
    Rejection,
    parse_bloctel,
    parse_dncm,
    parse_robinson,
    parse_rpo,
    parse_tps,
    robinson_hash,
)
from contacts.services.registers import (
    create_register_import,
    delete_discarded_entries,
    delete_snapshot_entries,
    fail_stalled_register_imports,
    has_discarded_entries,
    import_register_lines,
    run_register_import,
)
from contacts.tasks.compliance import sweep_register_imports_task
from tests.factories import UserFactory

PARIS = ZoneInfo("Europe/Paris")
NOW = dt.datetime(2026, 3, 29, 8, 0, tzinfo=PARIS)


def results(parser, text):
    return list(parser(io.StringIO(text)))


def test_dncm_number_and_registration_date_with_bad_lines():
    text = (
        "number;registration_date\n"
        "0471123456;2024-05-17\n"
        "+32 2 123 45 67;17/05/2024\n"
        "32471999888\t20240101\n"
        "\n"
        "0471123456\n"
        "12345;2024-01-01\n"
        "0471123457;2024-13-45\n"
    )
    assert results(parse_dncm, text) == [
        (2, Entry("+32471123456", dt.date(2024, 5, 17))),
        (3, Entry("+3221234567", dt.date(2024, 5, 17))),
        (4, Entry("+32471999888", dt.date(2024, 1, 1))),
        (6, Rejection("missing registration date", "0471123456")),
        (7, Rejection("not a Belgian number", "12345;2024-01-01")),
        (8, Rejection("bad registration date", "0471123457;2024-13-45")),
    ]


def test_bloctel_answer_ok_is_callable_anything_else_blocked():
    text = (
        "Telephone;Identifiant;status\r\n"
        "0612345678;1;OK\r\n"
        "0612345679;2;KO\r\n"
        "0140000000;3;BLOQUE\r\n"
        "612345670;4;KO\r\n"
        "0612345671;5\r\n"
    )
    assert results(parse_bloctel, text) == [
        (3, Entry("+33612345679")),
        (4, Entry("+33140000000")),
        (5, Rejection("not a 10-digit French number", "612345670;4;KO")),
        (6, Rejection("expected Telephone;Identifiant;status", "0612345671;5")),
    ]


def test_rpo_national_or_plus_39():
    text = "0612345678\n+39 347 1234567\n3471234568\n0039 02 1234567\nabc\n99999\n"
    assert results(parse_rpo, text) == [
        (1, Entry("+390612345678")),
        (2, Entry("+393471234567")),
        (3, Entry("+393471234568")),
        (4, Entry("+39021234567")),
        (5, Rejection("not an Italian number", "abc")),
        (6, Rejection("not an Italian number", "99999")),
    ]


def test_tps_both_fixed_width_layouts_crlf():
    text = (
        "01632 960123\r\n"  # 5-char code left-justified + 7-char remainder right-justified
        "020    79460\r\n"  # short remainder right-justified: 0207946 0 → 10 digits
        "07700900123 \r\n"  # number padded to 12
        "0161496000  \r\n"
        "07700900123456\r\n"
        "ABCDE1234567\r\n"
    )
    assert results(parse_tps, text) == [
        (1, Entry("+441632960123")),
        (2, Rejection("not a UK number", "020    79460")),
        (3, Entry("+447700900123")),
        (4, Entry("+44161496000")),
        (5, Rejection("not a 12-character TPS record", "07700900123456")),
        (6, Rejection("not a UK number", "ABCDE1234567")),
    ]


def test_robinson_hash_is_sha256_of_channel_and_normalised_number():
    expected = hashlib.sha256(b"040034612345678").hexdigest()
    assert robinson_hash("+34612345678") == expected
    assert robinson_hash("612345678") == expected
    assert robinson_hash("+33612345678") == hashlib.sha256(b"040033612345678").hexdigest()
    text = f"{expected.upper()}\n+34 612 345 679\nnot-a-hash\n"
    assert results(parse_robinson, text) == [
        (1, Entry(expected)),
        (2, Entry(robinson_hash("+34612345679"))),
        (3, Rejection("not a SHA-256 hex hash or a phone number", "not-a-hash")),
    ]


@pytest.mark.django_db
def test_import_writes_entries_counts_and_report():
    result = import_register_lines(
        register="dncm",
        lines=["0471123456;2024-05-17", "garbage", "0471123457;2024-05-18"],
        file_date=dt.date(2026, 3, 28),
        actor=None,
        now=NOW,
    )
    assert result.status == "done"
    assert result.is_current is True
    assert (result.lines_total, result.entries_count, result.rejected_count) == (3, 2, 1)
    assert result.rejected_lines == [{"line": 2, "reason": "missing registration date", "raw": "garbage"}]
    assert sorted(RegisterEntry.objects.values_list("register", "number_key", "registered_at")) == [
        ("dncm", "+32471123456", dt.date(2024, 5, 17)),
        ("dncm", "+32471123457", dt.date(2024, 5, 18)),
    ]
    assert (
        AuditEntry.objects.filter(action="contacts.register_import.done", target_id=str(result.pk)).count()
        == 1
    )


@pytest.mark.django_db
def test_new_snapshot_replaces_the_old_one_and_its_entries_are_deleted():
    old = import_register_lines(
        register="rpo", lines=["0612345678", "3471234567"], file_date=dt.date(2026, 3, 1), actor=None, now=NOW
    )
    other = import_register_lines(
        register="dncm", lines=["0471123456;2024-05-17"], file_date=dt.date(2026, 3, 1), actor=None, now=NOW
    )
    new = import_register_lines(
        register="rpo", lines=["3479999999"], file_date=dt.date(2026, 3, 20), actor=None, now=NOW
    )
    old.refresh_from_db()
    other.refresh_from_db()
    assert (old.is_current, new.is_current, other.is_current) == (False, True, True)
    assert list(RegisterEntry.objects.filter(register="rpo").values_list("number_key", flat=True)) == [
        "+393479999999"
    ]
    assert RegisterEntry.objects.filter(register="dncm").count() == 1


@pytest.mark.django_db
def test_old_snapshot_stays_current_when_the_new_import_fails(monkeypatch):
    old = import_register_lines(
        register="rpo", lines=["0612345678", "3471234567"], file_date=dt.date(2026, 3, 1), actor=None, now=NOW
    )
    monkeypatch.setattr(registers, "BULK_CREATE_BATCH", 2)
    monkeypatch.setattr(registers, "COPY_BATCH", 2)
    calls = {"n": 0}
    real_flush = registers._Writer.flush

    def failing_flush(self):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        real_flush(self)

    monkeypatch.setattr(registers._Writer, "flush", failing_flush)
    failed = import_register_lines(
        register="rpo",
        lines=["3470000001", "3470000002", "3470000003", "3470000004", "3470000005"],
        file_date=dt.date(2026, 3, 20),
        actor=None,
        now=NOW,
    )
    old.refresh_from_db()
    assert failed.status == "failed"
    assert failed.error == "OSError: disk full"
    assert failed.is_current is False
    assert old.is_current is True and old.status == "done"
    assert sorted(RegisterEntry.objects.values_list("register_import_id", "number_key")) == [
        (old.pk, "+390612345678"),
        (old.pk, "+393471234567"),
    ]


@pytest.mark.django_db
def test_file_without_valid_line_fails_and_keeps_previous():
    old = import_register_lines(
        register="dncm", lines=["0471123456;2024-05-17"], file_date=dt.date(2026, 3, 1), actor=None, now=NOW
    )
    failed = import_register_lines(
        register="dncm", lines=["0612345678", "hello"], file_date=dt.date(2026, 3, 2), actor=None, now=NOW
    )
    assert failed.status == "failed"
    assert failed.error.startswith("the file has no valid line")
    assert "first rejected line 1" in failed.error
    old.refresh_from_db()
    assert old.is_current is True


@pytest.mark.django_db
def test_older_file_does_not_replace_a_newer_snapshot():
    newer = import_register_lines(
        register="rpo", lines=["3471234567"], file_date=dt.date(2026, 3, 20), actor=None, now=NOW
    )
    older = import_register_lines(
        register="rpo", lines=["3470000000"], file_date=dt.date(2026, 3, 1), actor=None, now=NOW
    )
    newer.refresh_from_db()
    assert older.status == "failed" and "newer than this file" in older.error
    assert newer.is_current is True
    assert list(RegisterEntry.objects.values_list("number_key", flat=True)) == ["+393471234567"]


@pytest.mark.django_db
def test_a_job_runs_once():
    register_import = create_register_import(
        register="rpo", file_date=dt.date(2026, 3, 1), actor=None, now=NOW
    )
    first = run_register_import(register_import=register_import, stream=io.BytesIO(b"3471234567\n"), now=NOW)
    again = run_register_import(register_import=register_import, stream=io.BytesIO(b"3470000000\n"), now=NOW)
    assert first.status == again.status == "done"
    assert RegisterEntry.objects.count() == 1


@pytest.mark.django_db
def test_delete_snapshot_entries_in_batches():
    result = import_register_lines(
        register="rpo",
        lines=[f"34700000{i:02d}" for i in range(25)],
        file_date=dt.date(2026, 3, 1),
        actor=None,
        now=NOW,
    )
    assert delete_snapshot_entries(register_import_id=result.pk, batch_size=4) == 25
    assert RegisterEntry.objects.count() == 0


@pytest.mark.django_db
def test_import_register_command(tmp_path, capsys):
    path = tmp_path / "tps.txt"
    path.write_bytes(b"01632 960123\r\n07700900123 \r\nbad\r\n")
    call_command("import_register", "tps", str(path), "--file-date", "2026-03-01", "--no-progress")
    out = capsys.readouterr().out
    assert "2 entries, 1 rejected" in out
    assert "line 3: not a UK number: 'bad'" in out
    assert RegisterImport.objects.get().is_current is True
    with pytest.raises(CommandError, match="--file-date"):
        call_command("import_register", "tps", str(path), "--file-date", "01/03/2026")


# --- A NUL or a binary file: the job always ends (fuzzing F7) ------------------------------------

NUL_RPO_FILE = b"3471234567\n3471234568\n3471234569\nabc\x00def\n"
NUL_REJECTION = {"line": 4, "reason": "not an Italian number", "raw": "abc\\x00def"}


@pytest.mark.django_db
def test_a_nul_in_a_rejected_line_is_stored_escaped_and_the_valid_lines_are_kept():
    """PostgreSQL refuses \\u0000 in jsonb: the report, then the failure handler raised DataError and
    the job stayed running with the valid lines lost."""
    result = import_register_lines(
        register="rpo",
        lines=["3471234567", "3471234568", "3471234569", "abc\x00def"],
        file_date=dt.date(2026, 3, 28),
        actor=None,
        now=NOW,
    )
    assert (result.status, result.is_current, result.lines_total, result.entries_count) == (
        "done",
        True,
        4,
        3,
    )
    assert result.rejected_lines == [NUL_REJECTION]
    assert RegisterEntry.objects.filter(register_import=result).count() == 3


@pytest.mark.django_db
def test_a_file_of_rejected_control_characters_fails_naming_its_first_line():
    result = import_register_lines(
        register="rpo",
        lines=["0\x00", "abc\x7f\x85def\t"],
        file_date=dt.date(2026, 3, 28),
        actor=None,
        now=NOW,
    )
    assert (result.status, result.is_current) == ("failed", False)
    assert result.error == (
        "the file has no valid line: empty, or not a file of this register "
        "(first rejected line 1: not an Italian number)"
    )
    assert result.rejected_lines == [
        {"line": 1, "reason": "not an Italian number", "raw": "0\\x00"},
        {"line": 2, "reason": "not an Italian number", "raw": "abc\\x7f\\x85def\\t"},
    ]


@pytest.mark.django_db
def test_the_job_ends_failed_even_when_its_report_cannot_be_stored(monkeypatch):
    real_audit = registers.audit

    def refused(actor, action, *args, **kwargs):
        if action == "contacts.register_import.failed":
            raise DataError("unsupported Unicode escape sequence")
        return real_audit(actor, action, *args, **kwargs)

    monkeypatch.setattr(registers, "audit", refused)
    result = import_register_lines(
        register="rpo", lines=["hello", "world"], file_date=dt.date(2026, 3, 28), actor=None, now=NOW
    )
    assert (result.status, result.rejected_lines, result.finished_at) == ("failed", [], NOW)
    assert result.error == (
        "the file has no valid line: empty, or not a file of this register (first rejected line 2: not an "
        "Italian number) (the report of rejected lines could not be stored: DataError)"
    )


UTF16 = "the file is UTF-16 text, not ASCII or UTF-8 text as register files are: save it as UTF-8 and import that."


def _zip(content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("rpo.txt", content)
    return buffer.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("3471234567\n3471234568\n".encode("utf-16"), UTF16),
        ("3471234567\n3471234568\n".encode("utf-16-be"), UTF16),
        ("3471234567\n".encode("utf-32"), UTF16.replace("UTF-16", "UTF-32")),
        (
            gzip.compress(b"3471234567\n"),
            "the file is gzip-compressed, not a text register file: decompress it and import that.",
        ),
        (
            _zip(b"3471234567\n"),
            "the file is a ZIP archive, not a text register file: extract the register file and import that.",
        ),
        (
            b"3471234567\n" + bytes(range(256)) * 8,
            "the file is not a text file (binary data in its first bytes): a register file is text.",
        ),
    ],
    ids=["utf-16", "utf-16-be-no-bom", "utf-32", "gzip", "zip", "binary"],
)
def test_a_file_that_is_not_text_is_refused_saying_what_it_is_not(content, error):
    old = import_register_lines(
        register="rpo", lines=["3470000000"], file_date=dt.date(2026, 3, 1), actor=None, now=NOW
    )
    register_import = create_register_import(
        register="rpo", file_date=dt.date(2026, 3, 28), actor=None, now=NOW
    )
    result = run_register_import(register_import=register_import, stream=io.BytesIO(content), now=NOW)
    assert (result.status, result.error, result.is_current, result.entries_count) == (
        "failed",
        error,
        False,
        0,
    )
    assert result.rejected_lines == []
    old.refresh_from_db()
    assert old.is_current is True
    assert list(RegisterEntry.objects.values_list("register_import_id", flat=True)) == [old.pk]


@pytest.mark.django_db
def test_lines_end_at_lf_crlf_or_a_lone_cr_across_read_chunks(monkeypatch):
    monkeypatch.setattr(registers, "SNIFF_BYTES", 5)
    monkeypatch.setattr(registers, "READ_CHUNK", 3)
    register_import = create_register_import(
        register="rpo", file_date=dt.date(2026, 3, 28), actor=None, now=NOW
    )
    stream = io.BytesIO(b"3471234567\r\n3471234568\rbad\r\n\r\n3471234569")
    result = run_register_import(register_import=register_import, stream=stream, now=NOW)
    assert (result.status, result.lines_total, result.entries_count) == ("done", 5, 3)
    assert result.rejected_lines == [{"line": 3, "reason": "not an Italian number", "raw": "bad"}]


def _manager() -> APIClient:
    client = APIClient()
    client.force_authenticate(UserFactory(username="manon", roles=["campaign_manager"]))
    return client


@pytest.mark.django_db
def test_api_upload_with_a_nul_ends_done_with_the_line_reported(django_capture_on_commit_callbacks):
    manager = _manager()
    with django_capture_on_commit_callbacks(execute=True):
        response = manager.post(
            "/api/v1/register-imports/",
            {
                "register": "rpo",
                "file_date": "2026-03-28",
                "file": SimpleUploadedFile("rpo.txt", NUL_RPO_FILE),
            },
            format="multipart",
        )
    assert response.status_code == 202, response.json()
    job = manager.get(f"/api/v1/register-imports/{response.json()['id']}/").json()
    assert (job["status"], job["entries_count"], job["rejected_lines"]) == ("done", 3, [NUL_REJECTION])


@pytest.mark.django_db
def test_admin_upload_of_a_utf16_file_ends_failed(client, django_capture_on_commit_callbacks):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/contacts/registerimport/add/",
            {
                "register": "rpo",
                "file_date": "2026-03-01",
                "upload": SimpleUploadedFile("r.txt", "3471234567\n".encode("utf-16")),
            },
        )
    assert response.status_code == 302, response.content[:2000]
    job = RegisterImport.objects.get()
    assert (job.status, job.error, job.file) == ("failed", UTF16, "")


@pytest.mark.django_db
def test_import_register_command_reports_a_nul_escaped(tmp_path, capsys):
    path = tmp_path / "rpo.txt"
    path.write_bytes(NUL_RPO_FILE)
    call_command("import_register", "rpo", str(path), "--file-date", "2026-03-01", "--no-progress")
    out = capsys.readouterr().out
    assert "3 entries, 1 rejected" in out
    assert "line 4: not an Italian number: 'abc\\x00def'" in out
    assert RegisterImport.objects.get().status == "done"


# --- A job whose process died ends, and its entries go (fuzzing F8) ------------------------------


def _stalled_job(*, progress_at: dt.datetime, numbers=("+393470000001", "+393470000002")) -> RegisterImport:
    """What a killed process leaves: a running job with committed entries and no further progress."""
    job = create_register_import(register="rpo", file_date=dt.date(2026, 3, 20), actor=None, now=NOW)
    RegisterEntry.objects.bulk_create(
        [RegisterEntry(register_import=job, register="rpo", number_key=n) for n in numbers]
    )
    # The first id written: the service records the highest committed id + 1, and on PostgreSQL
    # the id sequence may be far past it (rolled-back tests), which makes windows of nothing.
    low = RegisterEntry.objects.filter(register_import=job).order_by("id").values_list("id", flat=True)[0]
    RegisterImport.objects.filter(pk=job.pk).update(
        status="running", progress_at=progress_at, entry_id_low=low
    )
    job.refresh_from_db()
    return job


@pytest.mark.django_db
def test_the_sweep_fails_a_job_without_progress_and_its_entries_are_deleted():
    old = import_register_lines(
        register="rpo", lines=["3471234567"], file_date=dt.date(2026, 3, 1), actor=None, now=NOW
    )
    # Alive first: creating a job sweeps its register (see the next tests).
    alive = _stalled_job(progress_at=NOW - dt.timedelta(minutes=9), numbers=("+393470000003",))
    stalled = _stalled_job(progress_at=NOW - dt.timedelta(minutes=11))

    assert fail_stalled_register_imports(now=NOW) == [stalled.pk]

    stalled.refresh_from_db()
    alive.refresh_from_db()
    assert (stalled.status, stalled.is_current, stalled.finished_at) == ("failed", False, NOW)
    assert stalled.error == (
        "abandoned: no progress since 2026-03-29 05:49:00 UTC, the process running the import stopped "
        "(a request timeout, a time limit or a restart). Nothing of this file is used; import it again."
    )
    assert alive.status == "running"
    assert (
        AuditEntry.objects.filter(
            action="contacts.register_import.abandoned", target_id=str(stalled.pk)
        ).count()
        == 1
    )
    assert fail_stalled_register_imports(now=NOW) == []  # once

    assert delete_discarded_entries() == 2
    assert sorted(RegisterEntry.objects.values_list("register_import_id", "number_key")) == [
        (old.pk, "+393471234567"),
        (alive.pk, "+393470000003"),
    ]
    assert has_discarded_entries() is False
    old.refresh_from_db()
    assert old.is_current is True


@pytest.mark.django_db
def test_discarded_entries_are_deleted_a_bounded_number_of_windows_at_a_time():
    _stalled_job(progress_at=NOW - dt.timedelta(hours=1), numbers=[f"+39347000{i:04d}" for i in range(5)])
    fail_stalled_register_imports(now=NOW)
    assert delete_discarded_entries(max_batches=2, batch_size=2) == 4
    assert has_discarded_entries() is True
    assert delete_discarded_entries(max_batches=2, batch_size=2) == 1
    assert (RegisterEntry.objects.count(), has_discarded_entries()) == (0, False)


@pytest.mark.django_db
def test_the_next_import_of_the_register_ends_a_stalled_job_and_clears_its_entries():
    stalled = _stalled_job(progress_at=NOW - dt.timedelta(minutes=30))
    new = import_register_lines(
        register="rpo", lines=["3471234567"], file_date=dt.date(2026, 3, 28), actor=None, now=NOW
    )
    stalled.refresh_from_db()
    assert (stalled.status, new.status, new.is_current) == ("failed", "done", True)
    assert list(RegisterEntry.objects.values_list("register_import_id", "number_key")) == [
        (new.pk, "+393471234567")
    ]


@pytest.mark.django_db
def test_listing_register_imports_ends_a_stalled_job():
    stalled = _stalled_job(progress_at=timezone.now() - dt.timedelta(minutes=11))
    response = _manager().get("/api/v1/register-imports/")
    assert response.status_code == 200
    [job] = response.json()["results"]
    assert (job["id"], job["status"], job["error"].startswith("abandoned: no progress since")) == (
        stalled.pk,
        "failed",
        True,
    )


class _Lines:
    """A stream that hands out one line per read and calls `after(n)` once it has handed out n."""

    def __init__(self, lines, after):
        self.lines, self.after, self.count = list(lines), after, 0

    def read(self, size=-1):
        self.after(self.count)
        if not self.lines:
            return b""
        self.count += 1
        return self.lines.pop(0)


@pytest.mark.django_db
def test_a_job_failed_by_the_sweep_while_its_worker_runs_stops_and_removes_its_entries(monkeypatch):
    old = import_register_lines(
        register="rpo", lines=["3471234567"], file_date=dt.date(2026, 3, 1), actor=None, now=NOW
    )
    monkeypatch.setattr(registers, "BULK_CREATE_BATCH", 2)
    monkeypatch.setattr(registers, "COPY_BATCH", 2)
    swept = []

    def sweep_after_three(count):
        if count == 3 and not swept:
            swept.extend(fail_stalled_register_imports(now=timezone.now() + dt.timedelta(hours=1)))

    job = create_register_import(register="rpo", file_date=dt.date(2026, 3, 28), actor=None, now=NOW)
    lines = [f"347000000{i}\n".encode() for i in range(8)]
    result = run_register_import(register_import=job, stream=_Lines(lines, sweep_after_three), now=NOW)
    assert swept == [job.pk]
    assert (result.status, result.is_current) == ("failed", False)
    assert result.error.startswith("abandoned: no progress since")
    assert list(RegisterEntry.objects.values_list("register_import_id", flat=True)) == [old.pk]
    old.refresh_from_db()
    assert old.is_current is True


@pytest.mark.django_db
def test_an_interrupted_import_is_failed_at_once_and_the_sweep_deletes_its_entries(monkeypatch):
    """gunicorn aborts a worker past its timeout with SystemExit: the job said `running` for ever."""
    monkeypatch.setattr(registers, "BULK_CREATE_BATCH", 2)
    monkeypatch.setattr(registers, "COPY_BATCH", 2)

    def killed_after_five(count):
        if count == 5:
            raise SystemExit(1)

    job = create_register_import(register="rpo", file_date=dt.date(2026, 3, 28), actor=None, now=NOW)
    lines = [f"347000000{i}\n".encode() for i in range(8)]
    with pytest.raises(SystemExit):
        run_register_import(register_import=job, stream=_Lines(lines, killed_after_five), now=NOW)
    job.refresh_from_db()
    assert (job.status, job.is_current, job.finished_at) == ("failed", False, NOW)
    assert job.error == (
        "interrupted (SystemExit): the process running the import was stopped. Nothing of this file is "
        "used; import it again."
    )
    assert RegisterEntry.objects.filter(register_import=job).count() == 4  # two committed batches
    assert sweep_register_imports_task() == {"failed": [], "deleted": 4}
    assert RegisterEntry.objects.count() == 0


@pytest.mark.django_db
def test_without_a_worker_a_register_file_too_large_for_the_request_is_refused(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.REGISTER_IMPORT_IN_REQUEST_MAX_BYTES = 2**20
    response = _manager().post(
        "/api/v1/register-imports/",
        {
            "register": "rpo",
            "file_date": "2026-03-28",
            "file": SimpleUploadedFile("rpo.txt", b"3471234567\n" * (2**20 // 11 + 1)),
        },
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json() == {
        "file": [
            "larger than 1 MB, too large to import during the upload without a worker (no "
            "CELERY_BROKER_URL): import it with `manage.py import_register`, or run a Celery worker."
        ]
    }
    assert RegisterImport.objects.count() == 0


# --- Digits in other scripts, placeholder registration dates (fuzzing F11) -----------------------


def test_full_width_and_other_script_digits_are_read_as_ascii_digits():
    assert results(parse_bloctel, "+33６１２３４５６７８;1;KO\n０６１２３４５６７９；２；ＫＯ\n") == [
        (1, Entry("+33612345678")),
        (2, Entry("+33612345679")),
    ]
    text = "０４７１１２３４５６;２０２４-０５-１７\n٠٤٧١١٢٣٤٥٧;2024-05-17\n１２３;2024-01-01\n"
    assert results(parse_dncm, text) == [
        (1, Entry("+32471123456", dt.date(2024, 5, 17))),
        (2, Entry("+32471123457", dt.date(2024, 5, 17))),
        (3, Rejection("not a Belgian number", "１２３;2024-01-01")),
    ]
    assert results(parse_rpo, "３４７１２３４５６７\n") == [(1, Entry("+393471234567"))]
    assert results(parse_robinson, "+34 ６１２ ３４５ ６７８\n") == [
        (1, Entry(robinson_hash("+34612345678")))
    ]


@pytest.mark.django_db
def test_a_full_width_bloctel_number_is_stored_under_its_e164():
    result = import_register_lines(
        register="bloctel",
        lines=["+33６１２３４５６７８;1;KO"],
        file_date=dt.date(2026, 3, 28),
        actor=None,
        now=NOW,
    )
    assert list(
        RegisterEntry.objects.filter(register_import=result).values_list("number_key", flat=True)
    ) == ["+33612345678"]


def test_dncm_registration_dates_outside_1990_to_the_file_date_are_refused():
    text = (
        "0471123456;9999-12-31\n"
        "0471123457;0001-01-01\n"
        "0471123458;1989-12-31\n"
        "0471123459;1990-01-01\n"
        "0471123460;2026-03-29\n"  # the file's date + 1 day: a registration late on the file's day, UTC+x
        "0471123461;2026-03-30\n"
    )
    assert list(parse_dncm(io.StringIO(text), file_date=dt.date(2026, 3, 28))) == [
        (1, Rejection("registration date after the file's date", "0471123456;9999-12-31")),
        (2, Rejection("registration date before 1990-01-01", "0471123457;0001-01-01")),
        (3, Rejection("registration date before 1990-01-01", "0471123458;1989-12-31")),
        (4, Entry("+32471123459", dt.date(1990, 1, 1))),
        (5, Entry("+32471123460", dt.date(2026, 3, 29))),
        (6, Rejection("registration date after the file's date", "0471123461;2026-03-30")),
    ]


@pytest.mark.django_db
def test_a_dncm_import_refuses_placeholder_dates_naming_the_lines():
    result = import_register_lines(
        register="dncm",
        lines=["0471123456;2024-05-17", "0471123457;9999-12-31", "0471123458;0001-01-01"],
        file_date=dt.date(2026, 3, 28),
        actor=None,
        now=NOW,
    )
    assert (result.status, result.entries_count) == ("done", 1)
    assert result.rejected_lines == [
        {"line": 2, "reason": "registration date after the file's date", "raw": "0471123457;9999-12-31"},
        {"line": 3, "reason": "registration date before 1990-01-01", "raw": "0471123458;0001-01-01"},
    ]
