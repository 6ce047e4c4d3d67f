"""`manage.py import_register REGISTER FILE --file-date YYYY-MM-DD`: import a national register file."""

import datetime as dt
import os

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from contacts.models import RegisterImport
from contacts.services.registers import RegisterImportError, import_register_file


class Command(BaseCommand):
    help = "Import a national do-not-call register file; it replaces that register's snapshot atomically."

    def add_arguments(self, parser):
        parser.add_argument("register", choices=RegisterImport.Register.values)
        parser.add_argument("file")
        parser.add_argument(
            "--file-date", required=True, help="Date the operator produced the file, YYYY-MM-DD"
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, register, file, file_date, no_progress, **options):
        try:
            date = dt.date.fromisoformat(file_date)
        except ValueError as exc:
            raise CommandError(f"--file-date: {file_date!r} is not YYYY-MM-DD") from exc
        if not os.path.isfile(file):
            raise CommandError(f"{file}: no such file")
        bar = tqdm(
            total=os.path.getsize(file), unit="B", unit_scale=True, disable=no_progress, file=self.stderr._out
        )
        try:
            result = import_register_file(
                register=register,
                path=file,
                file_date=date,
                actor=None,
                now=timezone.now(),
                progress=bar.update,
            )
        except RegisterImportError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            bar.close()
        self.stdout.write(
            f"{register} import #{result.pk}: {result.status}; {result.lines_total} lines, "
            f"{result.entries_count} entries, {result.rejected_count} rejected"
        )
        for row in result.rejected_lines[:20]:
            # `raw` is stored printable already (control characters escaped): quoted, not repr'd.
            self.stdout.write(f"  line {row['line']}: {row['reason']}: '{row['raw']}'")
        if result.status != RegisterImport.Status.DONE:
            raise CommandError(f"import failed: {result.error}")
