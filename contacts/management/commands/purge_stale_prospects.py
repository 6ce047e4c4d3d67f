"""`manage.py purge_stale_prospects [--dry-run]`: erase prospects past the retention period."""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from contacts.services.retention import purge_stale_prospects, retention_cutoff, stale_prospects


class Command(BaseCommand):
    help = "Erase prospects with no contact for PROSPECT_RETENTION_DAYS (CNIL: 3 years), in batches."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Only count what would be erased")
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args, dry_run, batch_size, **options):
        now = timezone.now()
        cutoff = retention_cutoff(now=now)
        if dry_run:
            count = stale_prospects(now=now).count()
            self.stdout.write(
                f"{count} prospects with no contact since {cutoff:%Y-%m-%d %H:%M} UTC "
                f"({settings.PROSPECT_RETENTION_DAYS} days) would be erased"
            )
            return
        erased = purge_stale_prospects(now=now, batch_size=batch_size)
        self.stdout.write(f"{erased} prospects with no contact since {cutoff:%Y-%m-%d %H:%M} UTC erased")
