"""Demo compliance data: a few suppressions, consents where the callee's country needs opt-in, and
fresh register snapshots (BE DNCM, IT RPO, ES Lista Robinson) so no demo country is blocked as
"register_stale". Idempotent: suppressions are idempotent by design, consents are added only where
missing, and a register is re-imported only when its current snapshot is older than yesterday."""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef

from contacts.models import Advertiser, ConsentRecord, PhoneNumber, Prospect, RegisterImport
from contacts.services.audit import audit
from contacts.services.register_formats import robinson_hash
from contacts.services.registers import import_register_lines
from contacts.services.suppression import suppress_number

# Fictitious numbers in ranges the demo prospect generator does not use (…00000x).
DEMO_SUPPRESSIONS = [
    ("+33612000001", "objection", "Asked never to be called again (GDPR art. 21)"),
    ("+32471000002", "do_not_call", "Do-not-call outcome"),
    ("+4915100000003", "complaint", "Complaint by letter"),
    ("+34612000004", "wrong_number", "Not the prospect's number"),
]
# Countries where a demo call needs a documented consent (DOMAIN.md §4): DE, ES always; NL for
# customers from 2026-07-01; FR from 2026-08-11; IT for numbers not in public directories; PT
# (Lei 41/2004 art. 13-A).
OPT_IN_COUNTRIES = ("DE", "ES", "NL", "FR", "IT", "PT")
# One prospect in five has no consent, so the demo shows `no_consent` exclusions too.
NO_CONSENT_EVERY = 5
# One number in twenty is on its country's register, so the demo shows `register:<name>` too.
REGISTERED_EVERY = 20


def load_compliance(*, now: dt.datetime, log) -> None:
    _suppressions(now=now, log=log)
    _consents(now=now, log=log)
    _registers(now=now, log=log)


def _suppressions(*, now, log) -> None:
    for e164, reason, note in DEMO_SUPPRESSIONS:
        suppress_number(e164=e164, reason=reason, actor=None, now=now, source="demo", note=note)
    log(f"Suppressions: {len(DEMO_SUPPRESSIONS)} demo numbers on the internal do-not-call list")


def _consents(*, now, log) -> None:
    prospects = Prospect.objects.filter(erased_at__isnull=True, country__in=OPT_IN_COUNTRIES)
    if not prospects.exists():
        log("Consents: no demo prospects in opt-in countries yet (load prospects first); skipped")
        return
    advertisers = list(Advertiser.objects.order_by("id")[:3])
    if not advertisers:
        log("Consents: no advertiser yet; skipped")
        return
    given_at = now - dt.timedelta(days=40)
    created = 0
    for advertiser in advertisers:
        missing = (
            prospects.annotate(
                has=Exists(ConsentRecord.objects.filter(prospect=OuterRef("pk"), advertiser=advertiser))
            )
            .filter(has=False)
            .values_list("pk", "country")
        )
        batch = [
            ConsentRecord(
                prospect_id=pk,
                advertiser=advertiser,
                given_at=given_at,
                channel="web form",
                evidence={"form": "demo-test-drive", "text_version": "2026-01", "source": "demo"},
                # ES: renew every 2 years.
                valid_until=given_at + dt.timedelta(days=730) if country == "ES" else None,
            )
            for pk, country in missing.iterator(chunk_size=2000)
            if pk % NO_CONSENT_EVERY
        ]
        ConsentRecord.objects.bulk_create(batch, batch_size=2000)
        created += len(batch)
    if created:
        audit(None, "contacts.consent.recorded", None, {"demo": True, "count": created}, at=now)
    log(f"Consents: {created} added for prospects in {', '.join(OPT_IN_COUNTRIES)}")


def _registers(*, now, log) -> None:
    file_date = now.date() - dt.timedelta(days=1)
    numbers = {
        country: list(
            PhoneNumber.objects.filter(region=country, prospect__erased_at__isnull=True)
            .order_by("id")
            .values_list("id", "e164")
        )
        for country in ("BE", "IT", "ES")
    }
    registered = dt.date(2024, 6, 1)
    files = {
        "dncm": ["+32471000099;2023-01-15"]
        + [f"{e164};{registered.isoformat()}" for pk, e164 in numbers["BE"] if pk % REGISTERED_EVERY == 0],
        "rpo": ["+393470000099"] + [e164 for pk, e164 in numbers["IT"] if pk % REGISTERED_EVERY == 0],
        "robinson": [robinson_hash("+34612000099")]
        + [robinson_hash(e164) for pk, e164 in numbers["ES"] if pk % REGISTERED_EVERY == 0],
    }
    for register, lines in files.items():
        current = RegisterImport.objects.filter(register=register, is_current=True).first()
        if current is not None and current.file_date >= file_date:
            log(f"Register {register}: current snapshot of {current.file_date} kept")
            continue
        result = import_register_lines(
            register=register, lines=lines, file_date=file_date, actor=None, now=now
        )
        log(
            f"Register {register}: snapshot of {file_date} with {result.entries_count} numbers ({result.status})"
        )
