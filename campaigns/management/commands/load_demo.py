"""Load realistic demo data. Idempotent: running it twice changes nothing the second time."""

from importlib import import_module

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

# In order; each is `module:function(*, now, log)` and must be idempotent.
DEMO_STEPS = [
    "contacts.demo.accounts:load_accounts",
    "contacts.demo.advertisers:load_advertisers",  # before consents and campaigns, which name it
    "contacts.demo.prospects:load_prospects",  # a generated dirty file through the real import
    "contacts.demo.compliance:load_compliance",  # after prospects: consents and registers use them
    "campaigns.demo.floors:load_floors",
    "campaigns.demo.campaigns:load_campaigns",  # after prospects and consents: builds the lists
    "campaigns.demo.recordings:load_recordings",  # notices, then attempts with recordings
]


class Command(BaseCommand):
    help = "Load demo data (accounts, floors, campaigns, prospects in 7 countries). Safe to re-run."

    def handle(self, *args, **options):
        now = timezone.now()
        messages: list[str] = []
        for step in DEMO_STEPS:
            module, func = step.split(":")
            self.stderr.write(f"demo: {step}")
            with transaction.atomic():
                getattr(import_module(module), func)(now=now, log=messages.append)
        for message in messages:
            self.stdout.write(message)
