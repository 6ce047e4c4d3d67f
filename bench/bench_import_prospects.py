"""Issue 3 benchmark: import a generated 1,000,000-row dirty prospect CSV (7 countries) into PostgreSQL.

Prints rows/s and peak memory of the whole import (validation with worker processes, COPY writes)
beside a same-run baseline: plain `phonenumbers` parse + is_valid_number + format E.164 of the same
numbers, with each row's country as the region, on one core. Exits non-zero if the import's counts
differ from what the generator wrote.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/telemarketing_bench \\
        .venv/bin/python bench/bench_import_prospects.py [--rows 1000000]

The import and the baseline each run in a child process of their own, so that each peak memory
(ru_maxrss of the process plus its largest worker) is its own and not the generator's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
BENCH_DB = "telemarketing_bench_import"
DATA = ROOT / "bench" / "data"


def _database_url() -> str:
    base = os.environ.get("DATABASE_URL") or os.environ.get("BENCH_DATABASE_URL") or ""
    if not base.startswith("postgres"):
        base = "postgres://postgres@127.0.0.1:5432/telemarketing_bench"
    return base.rsplit("/", 1)[0] + "/" + BENCH_DB


def _ensure_database(url: str) -> None:
    import psycopg

    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


def _peak_mb() -> dict[str, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"self_mb": round(own, 1), "largest_child_mb": round(children, 1)}


def run_import(path: Path) -> dict:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from contacts.models import ImportJob, PhoneNumber, Prospect
    from contacts.services.imports import create_import_job
    from contacts.services.imports import run_import as run

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            f"TRUNCATE {PhoneNumber._meta.db_table}, {Prospect._meta.db_table}, "
            f"{ImportJob._meta.db_table} RESTART IDENTITY CASCADE"
        )
        # The previous run's million rows are still dirty in shared buffers: flushed now, so that a
        # checkpoint forced by their WAL does not land in this run (as in the lease bench).
        cursor.execute("CHECKPOINT")
    now = timezone.now()
    job = create_import_job(actor=None, now=now, source_path=str(path), source="bench", default_country="FR")
    started = time.perf_counter()
    updates: list[int] = []

    def progress(phase: str, done: int, total: int) -> None:  # fed as the CLI's progress bar is
        updates.append(done)

    job = run(job_id=job.pk, now=now, progress=progress)
    seconds = time.perf_counter() - started
    cpu = os.times()
    # The PostgreSQL backend that did the import's work runs on this machine too: its CPU counts.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    try:
        stat = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
        pg_cpu = round((int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK"), 1)
    except OSError:  # a server on another host
        pg_cpu = None
    return {
        "pg_backend_cpu_s": pg_cpu,
        "cpu_s": round(cpu.user + cpu.system, 1),
        "workers_cpu_s": round(cpu.children_user + cpu.children_system, 1),
        "seconds": round(seconds, 2),
        "status": job.status,
        "error": job.error,
        "rows": job.rows_total,
        "counts": job.counts,
        "reasons": job.rejection_reasons,
        "prospects_in_db": Prospect.objects.count(),
        "numbers_in_db": PhoneNumber.objects.count(),
        **_peak_mb(),
    }


def run_baseline(path: Path) -> dict:
    import csv

    import phonenumbers

    from contacts.services.import_rows import COUNTRY_NAMES, _norm

    pairs = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter=";")
        next(reader)
        for row in reader:
            label = row[5].strip()
            region = (
                label.upper() if len(label) == 2 else COUNTRY_NAMES.get(_norm(label), "FR") if label else "FR"
            )
            pairs.append((row[2], region))
    started = time.perf_counter()
    cpu_started = time.process_time()
    valid = 0
    for raw, region in pairs:
        try:
            number = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            valid += 1
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    return {"seconds": round(seconds, 2), "cpu_s": round(cpu, 1), "rows": len(pairs), "valid": valid}


def _child(mode: str, path: Path, url: str) -> dict:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.local"}
    out = subprocess.run(  # noqa: S603
        [sys.executable, __file__, f"--{mode}", str(path)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--import-only", dest="import_file")
    parser.add_argument("--baseline-only", dest="baseline_file")
    args = parser.parse_args()
    if args.import_file:
        print(json.dumps(run_import(Path(args.import_file))))
        return 0
    if args.baseline_file:
        import django

        django.setup()
        print(json.dumps(run_baseline(Path(args.baseline_file))))
        return 0

    url = _database_url()
    _ensure_database(url)
    os.environ["DATABASE_URL"] = url
    path = DATA / f"prospects-{args.rows}.csv"
    expected_path = path.with_suffix(".expected.json")
    if not (path.exists() and expected_path.exists()):
        import django

        django.setup()
        from contacts.demo.prospects import generate_prospects_csv

        print(f"generating {path} ({args.rows:,} rows)…", flush=True)
        started = time.perf_counter()
        expected = generate_prospects_csv(path, rows=args.rows)
        expected_path.write_text(json.dumps(expected))
        print(f"generated in {time.perf_counter() - started:.0f} s", flush=True)
    expected = json.loads(expected_path.read_text())
    size_mb = path.stat().st_size / 1024 / 1024

    imported = _child("import-only", path, url)
    baseline = _child("baseline-only", path, url)

    import_rate = imported["rows"] / imported["seconds"]
    baseline_rate = baseline["rows"] / baseline["seconds"]
    peak = imported["self_mb"] + imported["largest_child_mb"]
    print(f"file: {path.name}, {expected['rows']:,} rows, {size_mb:.0f} MiB; cores: {os.cpu_count()}")
    print(
        f"import   : {imported['seconds']:8.1f} s  {import_rate:10,.0f} rows/s  "
        f"counts {imported['counts']}  rejected by reason {imported['reasons']}"
    )
    print(
        f"baseline : {baseline['seconds']:8.1f} s  {baseline_rate:10,.0f} rows/s  "
        f"(phonenumbers parse + is_valid_number + format E.164, one core, {baseline['valid']:,} valid)"
    )
    print(f"ratio    : import / baseline = {import_rate / baseline_rate:.2f}  (target >= 1.00)")
    print(
        f"CPU      : import process {imported['cpu_s']} s + workers {imported['workers_cpu_s']} s + "
        f"PostgreSQL backend {imported['pg_backend_cpu_s']} s (parsing and writing overlap: one pass, "
        f"one transaction); baseline {baseline['cpu_s']} s; load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} cores"
    )
    print(
        f"peak RSS : import process {imported['self_mb']:.0f} MiB + largest worker "
        f"{imported['largest_child_mb']:.0f} MiB = {peak:.0f} MiB  (target < 500 MiB)"
    )
    ok = (
        imported["status"] == "succeeded"
        and imported["rows"] == expected["rows"]
        and imported["counts"]
        == {
            "created": expected["created"],
            "updated": 0,
            "duplicate": expected["duplicate"],
            "rejected": expected["rejected"],
        }
        and imported["prospects_in_db"] == expected["created"]
        and imported["numbers_in_db"] == expected["created"]
    )
    if not ok:
        print(f"CORRECTNESS FAILURE: expected {expected}, got {imported}", file=sys.stderr)
        return 1
    print("correctness: counts and rows in the database match the generated file")
    return 0


if __name__ == "__main__":
    sys.exit(main())
