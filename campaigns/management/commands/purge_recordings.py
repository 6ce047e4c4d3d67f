"""Destroy the recordings past their retention now (the daily beat task does the same)."""

import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from campaigns.models import Recording
from campaigns.services.recordings import due_for_purge_q, purge_recordings


class Command(BaseCommand):
    help = "Delete the files and references of every recording whose purge date has passed (audited)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be purged; change nothing."
        )
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, **options):
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be a positive integer")
        now = timezone.now()
        if options["dry_run"]:
            count = purge_recordings(now=now, dry_run=True)
            self.stdout.write(
                f"{count} recording(s) due for purge at {now.isoformat()} (dry run: nothing changed)"
            )
            return
        total = Recording.objects.filter(due_for_purge_q(now)).count()
        # sys.stderr itself: Django's OutputWrapper appends a newline to every write, breaking the bar.
        with tqdm(
            total=total, unit="rec", desc="purge", file=sys.stderr, disable=not sys.stderr.isatty()
        ) as bar:
            purged = purge_recordings(now=now, batch_size=options["batch_size"], progress=bar.update)
        self.stdout.write(f"{purged} recording(s) purged at {now.isoformat()}")
