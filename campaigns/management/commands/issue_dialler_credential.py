from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from campaigns.models import Floor
from campaigns.services.diallers import DiallerCredentialError, issue_dialler_credential


class Command(BaseCommand):
    help = "Create a dialler integration scoped to floors and print its token once."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Integration name, e.g. lyon-predictive")
        parser.add_argument(
            "--floor", action="append", default=[], dest="floors", help="Floor code (repeatable)"
        )
        parser.add_argument("--description", default="")

    def handle(self, *args, name, floors, description, **options):
        found = {f.code: f for f in Floor.objects.filter(code__in=floors)}
        missing = sorted(set(floors) - set(found))
        if missing:
            raise CommandError(f"Unknown floor code(s): {', '.join(missing)}")
        try:
            integration, token = issue_dialler_credential(
                name=name,
                floors=list(found.values()),
                actor=None,
                now=timezone.now(),
                description=description,
            )
        except DiallerCredentialError as exc:
            raise CommandError(str(exc)) from exc
        self.stderr.write(
            f"Issued credential for {integration.name} (floors: {', '.join(sorted(found)) or 'none'})."
        )
        self.stderr.write("Store it now: it is not shown again. Send it as 'Authorization: Token <token>'.")
        self.stdout.write(token)
