"""Benchmark (issue 4): import a 5,000,000-line national register file (Belgian DNCM format) with
`contacts.services.registers.import_register_file`, beside a plain `COPY` of the same file into a
scratch table in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/telemarketing_bench .venv/bin/python bench/bench_register_import.py

Uses its own database (telemarketing_bench_register on the same server; BENCH_REGISTER_DB to
override), created and migrated if missing. BENCH_REGISTER_LINES changes the size (default 5 M).
Exits non-zero if the imported snapshot is not exactly the file's valid lines.
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

LINES = int(os.environ.get("BENCH_REGISTER_LINES", "5000000"))
# One bad line in 100,000 (not a Belgian number): the rejection path is part of the work.
BAD_EVERY = 100_000
DB_NAME = os.environ.get("BENCH_REGISTER_DB", "telemarketing_bench_register")


def database_url() -> str:
    url = urlparse(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/telemarketing_bench"))
    if not url.scheme.startswith("postgres"):
        sys.exit("bench_register_import needs PostgreSQL (DATABASE_URL=postgres://…)")
    return urlunparse(url._replace(path=f"/{DB_NAME}"))


def ensure_database(url: str) -> None:
    import psycopg

    parsed = urlparse(url)
    admin = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def generate(path: Path, lines: int) -> int:
    """DNCM-style `national number;registration date` lines; returns the number of bad lines."""
    bad = sum(1 for i in range(lines) if i % BAD_EVERY == BAD_EVERY - 1)
    if path.exists() and path.stat().st_size > 0:
        with open(path, "rb") as f:
            if sum(1 for _ in f) == lines:
                return bad
    path.parent.mkdir(parents=True, exist_ok=True)
    start = dt.date(2016, 1, 1)
    dates = [(start + dt.timedelta(days=d)).isoformat() for d in range(3650)]
    with open(path, "w", encoding="ascii", newline="\n") as out:
        chunk: list[str] = []
        for i in range(lines):
            if i % BAD_EVERY == BAD_EVERY - 1:
                chunk.append(f"12345;{dates[i % 3650]}\n")
            else:
                # Belgian mobiles 0470 000 000 … 0479 999 999: 9-digit national significant numbers.
                chunk.append(f"04{70000000 + i:08d};{dates[i % 3650]}\n")
            if len(chunk) == 100_000:
                out.write("".join(chunk))
                chunk = []
        out.write("".join(chunk))
    return bad


def main() -> int:
    url = database_url()
    ensure_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from contacts.models import RegisterEntry, RegisterImport
    from contacts.services.registers import import_register_file

    call_command("migrate", verbosity=0)
    path = BASE_DIR / "bench" / "data" / f"register_dncm_{LINES}.txt"
    t0 = time.perf_counter()
    bad = generate(path, LINES)
    print(
        f"file: {path.relative_to(BASE_DIR)} ({LINES:,} lines, {path.stat().st_size / 1e6:.0f} MB, "
        f"{bad} bad) ready in {time.perf_counter() - t0:.1f}s"
    )

    # Start from an empty register so every run measures the same work.
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {RegisterEntry._meta.db_table}")
    RegisterImport.objects.all().delete()

    # Baseline: plain COPY of the same bytes into an unindexed scratch table.
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_register_scratch")
        cursor.execute("CREATE TABLE bench_register_scratch (number text, registered text)")
    t0 = time.perf_counter()
    with connection.cursor() as cursor, open(path, "rb") as f:
        with cursor.copy("COPY bench_register_scratch FROM STDIN WITH (FORMAT text, DELIMITER ';')") as copy:
            while block := f.read(1 << 20):
                copy.write(block)
    copy_seconds = time.perf_counter() - t0
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM bench_register_scratch")
        copied = cursor.fetchone()[0]
        cursor.execute("DROP TABLE bench_register_scratch")

    t0 = time.perf_counter()
    result = import_register_file(
        register="dncm", path=path, file_date=timezone.now().date(), actor=None, now=timezone.now()
    )
    import_seconds = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    ok = (
        copied == LINES
        and result.status == "done"
        and result.is_current
        and result.entries_count == LINES - bad
        and result.rejected_count == bad
        and RegisterEntry.objects.filter(register_import=result).count() == LINES - bad
        and RegisterEntry.objects.filter(register="dncm", number_key="+32470000000").exists()
        and (not bad or result.rejected_lines[0]["line"] == BAD_EVERY)
    )
    copy_rate = LINES / copy_seconds
    import_rate = LINES / import_seconds
    print(f"plain COPY into a scratch table : {copy_seconds:7.1f}s  {copy_rate:12,.0f} lines/s")
    print(f"register import (parse+COPY+flip): {import_seconds:7.1f}s  {import_rate:12,.0f} lines/s")
    print(
        f"ratio import/COPY: {import_seconds / copy_seconds:.2f}× the time "
        f"({import_rate / copy_rate:.2f} of COPY's rate); peak RSS {peak_mb:.0f} MB"
    )
    print(f"entries {result.entries_count:,}, rejected {result.rejected_count}: {'OK' if ok else 'MISMATCH'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
