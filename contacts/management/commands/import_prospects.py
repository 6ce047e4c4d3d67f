"""`manage.py import_prospects FILE [--source S] [--default-country FR] [--mapping "Col=field,…"]`."""

import os

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from contacts.models import ImportJob
from contacts.services.import_files import FIELDS, ImportFileError
from contacts.services.imports import create_import_job, run_import


class Command(BaseCommand):
    help = (
        "Import a prospect file (CSV in UTF-8/Windows-1252/Latin-1 with , ; or tab, or XLSX). Rows are "
        "validated first, then written; each row's outcome goes to the job's outcomes file."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--source", default="", help="Prospect.source of every row, e.g. dealer-lyon")
        parser.add_argument("--default-country", default="", help="ISO code for numbers without a prefix")
        parser.add_argument(
            "--mapping",
            default="",
            help=f"explicit COLUMN=FIELD pairs separated by commas; fields: {', '.join(FIELDS)}",
        )
        parser.add_argument("--workers", type=int, default=None, help="validation processes (default: auto)")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, file, source, default_country, mapping, workers, no_progress, **options):
        if not os.path.isfile(file):
            raise CommandError(f"{file}: no such file")
        now = timezone.now()
        try:
            job = create_import_job(
                actor=None,
                now=now,
                source_path=os.path.abspath(file),
                source=source,
                default_country=default_country,
                mapping=mapping,
            )
        except ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        bars: dict[str, tqdm] = {}

        def progress(phase: str, done: int, total: int) -> None:
            bar = bars.get(phase)
            if bar is None:
                for other in bars.values():
                    other.close()
                label = "validating" if phase == "validate" else "writing"
                bar = bars[phase] = tqdm(
                    total=total or None, unit=" rows", desc=label, disable=no_progress, file=self.stderr._out
                )
            bar.update(done - bar.n)

        try:
            job = run_import(job_id=job.pk, now=now, workers=workers, progress=progress)
        finally:
            for bar in bars.values():
                bar.close()
        if job.status != ImportJob.Status.SUCCEEDED:
            raise CommandError(f"import #{job.pk} failed, nothing written: {job.error}")
        c = job.counts
        self.stdout.write(
            f"import #{job.pk}: {job.rows_total} rows: {c['created']} created, {c['updated']} updated, "
            f"{c['duplicate']} duplicate, {c['rejected']} rejected"
        )
        for reason, count in job.rejection_reasons.items():
            self.stdout.write(f"  rejected {reason}: {count}")
        if job.report:
            self.stdout.write(f"rejected rows: {job.report.path}")
        if job.outcomes:
            self.stdout.write(f"every row's outcome: {job.outcomes.path}")
