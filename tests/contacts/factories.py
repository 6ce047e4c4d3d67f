"""Factories and file builders for the prospect import tests."""

import csv
import datetime as dt
import io
from pathlib import Path
from zoneinfo import ZoneInfo

import factory

from contacts.models import ImportJob
from contacts.services.imports import create_import_job, run_import

NOW = dt.datetime(2026, 3, 29, 8, 0, tzinfo=ZoneInfo("Europe/Paris"))


class ImportJobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ImportJob

    created_at = NOW
    original_name = factory.Sequence(lambda n: f"file-{n}.csv")
    source = "tests"


def csv_bytes(
    rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8", crlf: bool = True
) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n" if crlf else "\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list]) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def import_file(
    tmp_path: Path,
    content: bytes,
    *,
    name: str = "prospects.csv",
    source: str = "tests",
    default_country: str = "FR",
    mapping=None,
    workers: int | None = 1,
) -> ImportJob:
    path = tmp_path / name
    path.write_bytes(content)
    job = create_import_job(
        actor=None,
        now=NOW,
        source_path=str(path),
        source=source,
        default_country=default_country,
        mapping=mapping,
    )
    return run_import(job_id=job.pk, now=NOW, workers=workers)


def outcomes(job: ImportJob) -> list[dict]:
    with job.outcomes.open("rb") as handle:
        return list(csv.DictReader(io.StringIO(handle.read().decode("utf-8"))))


def report(job: ImportJob) -> list[list[str]]:
    with job.report.open("rb") as handle:
        return list(csv.reader(io.StringIO(handle.read().decode("utf-8-sig"))))
