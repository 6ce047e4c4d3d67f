"""Demo prospects: a generated, realistically dirty CSV in 7 countries, imported through the real
import service (so `make demo` shows an import job with its rejected-rows report).

Numbers come from `phonenumbers.example_number_for_type` with their last digits varied, not from
Faker: Faker's numbers are mostly invalid for `phonenumbers`, so they would exercise nothing.
The same generator writes the 1,000,000-row file of bench/bench_import_prospects.py.
"""

from __future__ import annotations

import csv
import random
import unicodedata
from pathlib import Path

import phonenumbers
from django.conf import settings
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from contacts.services.phones import NormalisedNumber, normalise_number

DEMO_FILE = Path(settings.BASE_DIR) / "var" / "demo-prospects.csv"
DEMO_SOURCE = "demo-dealers"
DEMO_ROWS = 6_000

# Share of rows per country: the carmaker's 135,000 yearly outbound contacts were mostly French.
COUNTRY_WEIGHTS = {"FR": 35, "BE": 10, "NL": 10, "DE": 15, "IT": 12, "ES": 12, "PT": 6}
COUNTRY_LABELS = {
    "FR": ["FR", "France", "france", ""],
    "BE": ["BE", "Belgique", "België"],
    "NL": ["NL", "Nederland", "Pays-Bas"],
    "DE": ["DE", "Deutschland", "Allemagne"],
    "IT": ["IT", "Italia", "Italie"],
    "ES": ["ES", "España", "Espagne"],
    "PT": ["PT", "Portugal"],
}
FIRST_NAMES = {
    "FR": ["Camille", "Léa", "Manon", "Hugo", "Lucas", "Chloé", "Théo", "Zoé", "Noël", "Inès"],
    "BE": ["Lotte", "Noah", "Emma", "Arthur", "Louise", "Jules", "Elise", "Wout"],
    "NL": ["Daan", "Sem", "Fleur", "Julia", "Lieke", "Bram", "Sanne", "Joris"],
    "DE": ["Jonas", "Lea", "Lukas", "Mia", "Jürgen", "Sophie", "Maximilian", "Hannah"],
    "IT": ["Giulia", "Francesco", "Sofia", "Alessandro", "Chiara", "Lorenzo", "Niccolò"],
    "ES": ["Lucía", "Hugo", "Martina", "Mateo", "Paula", "Álvaro", "Nuria", "Iñigo"],
    "PT": ["João", "Beatriz", "Tomás", "Leonor", "Gonçalo", "Inês", "Duarte"],
}
LAST_NAMES = {
    "FR": ["Martin", "Bernard", "Dubois", "Lefèvre", "Müller", "Girard", "Roux", "Hoarau", "Faure"],
    "BE": ["Peeters", "Janssens", "Maes", "Dubois", "Lambert", "Claes", "Wouters"],
    "NL": ["de Jong", "Jansen", "de Vries", "van den Berg", "Bakker", "Visser", "Smit"],
    "DE": ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Schäfer", "Koch"],
    "IT": ["Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo"],
    "ES": ["García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Pérez"],
    "PT": ["Silva", "Santos", "Ferreira", "Pereira", "Oliveira", "Costa", "Gonçalves"],
}
CITIES = {
    "FR": [("75011", "Paris"), ("69003", "Lyon"), ("13001", "Marseille"), ("67000", "Strasbourg"),
           ("68100", "Mulhouse"), ("57000", "Metz"), ("59000", "Lille"), ("33000", "Bordeaux")],
    "BE": [("1000", "Bruxelles"), ("2000", "Antwerpen"), ("4000", "Liège"), ("9000", "Gent")],
    "NL": [("1011 AB", "Amsterdam"), ("3011 AA", "Rotterdam"), ("3511 AA", "Utrecht")],
    "DE": [("10115", "Berlin"), ("80331", "München"), ("50667", "Köln"), ("20095", "Hamburg")],
    "IT": [("00118", "Roma"), ("20121", "Milano"), ("80100", "Napoli"), ("10121", "Torino")],
    "ES": [("28001", "Madrid"), ("08001", "Barcelona"), ("41001", "Sevilla"), ("46001", "Valencia")],
    "PT": [("1000-001", "Lisboa"), ("4000-001", "Porto"), ("3000-001", "Coimbra")],
}  # fmt: skip
# Islands and overseas departments, whose callees live in another time zone than the mainland.
ISLAND_ADDRESSES = {
    "FR": [("97400", "Saint-Denis", "RE", "692")],
    "ES": [
        ("35001", "Las Palmas de Gran Canaria", None, None),
        ("38001", "Santa Cruz de Tenerife", None, None),
    ],
    "PT": [("9500-001", "Ponta Delgada", None, None), ("9000-001", "Funchal", None, None)],
}
HEADER = ["Prénom", "Nom", "Téléphone", "Code postal", "Ville", "Pays", "E-mail", "Référence", "Client"]
_PRIME = 2_750_159  # coprime with 10**k: i → i·p mod 10**k walks every suffix once, no set needed


class _NumberSource:
    """Unique, valid numbers per (region, type): the example number with its last digits varied."""

    def __init__(self, region: str, kind: int, rng: random.Random):
        example = phonenumbers.example_number_for_type(region, kind)
        self.country_code = example.country_code
        self.italian_leading_zero = example.italian_leading_zero  # Italian fixed lines: 02…
        digits = str(example.national_number)
        self.suffix_len = min(6, len(digits) - 2)
        self.prefix = digits[: len(digits) - self.suffix_len]
        self.modulus = 10**self.suffix_len
        self.counter = rng.randrange(self.modulus)
        self.region = region

    def next(self) -> phonenumbers.PhoneNumber:
        for _attempt in range(10_000):
            self.counter += 1
            suffix = (self.counter * _PRIME) % self.modulus
            number = phonenumbers.PhoneNumber(
                country_code=self.country_code,
                national_number=int(self.prefix + str(suffix).zfill(self.suffix_len)),
                italian_leading_zero=self.italian_leading_zero or None,
            )
            if phonenumbers.is_valid_number(number):
                return number
        raise RuntimeError(f"no valid number found after {self.prefix} in {self.region}")


def _dirty(number: phonenumbers.PhoneNumber, rng: random.Random) -> str:
    """One of the ways people write a number in a spreadsheet."""
    style = rng.random()
    if style < 0.25:
        return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    if style < 0.40:
        return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    if style < 0.55:
        return phonenumbers.format_number(number, PhoneNumberFormat.E164)
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    if style < 0.65:
        return national.replace(" ", ".")
    if style < 0.75:
        return national.replace(" ", "")
    if style < 0.82:
        return "00" + phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)[1:]
    if style < 0.88:
        return national.replace(" ", "-")
    # Italian numbers keep their 0 after +39, so "(0)" is not an Italian habit.
    if style < 0.94 and national.startswith("0") and number.country_code != 39:
        return f"+{number.country_code} (0){national[1:]}"
    return " " + national + " "


def generate_prospects_csv(path: Path, *, rows: int, seed: int = 20261122) -> dict[str, int]:
    """Write a dirty prospect file; return what a correct import must report for it.

    About 1.5 % invalid numbers, 0.5 % premium-rate, 0.3 % bad e-mails, 5 % duplicates written
    differently, the rest valid and unique. Semicolons and a BOM, like a French Excel export.
    """
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    sources = {
        (region, kind): _NumberSource(region, kind, rng)
        for region in COUNTRY_WEIGHTS
        for kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE)
    }
    reunion = _NumberSource("RE", PhoneNumberType.MOBILE, rng)
    premium = {
        r: phonenumbers.example_number_for_type(r, PhoneNumberType.PREMIUM_RATE) for r in COUNTRY_WEIGHTS
    }
    countries = list(COUNTRY_WEIGHTS)
    weights = list(COUNTRY_WEIGHTS.values())
    recent: list[tuple[phonenumbers.PhoneNumber, str]] = []
    expected = {"rows": 0, "created": 0, "duplicate": 0, "rejected": 0}
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\r\n")
        writer.writerow(HEADER)
        for i in range(rows):
            country = rng.choices(countries, weights)[0]
            postcode, city = rng.choice(CITIES[country])
            island = None
            if country in ISLAND_ADDRESSES and rng.random() < 0.05:
                postcode, city, island, _prefix = rng.choice(ISLAND_ADDRESSES[country])
            first = rng.choice(FIRST_NAMES[country])
            last = rng.choice(LAST_NAMES[country])
            email = f"{_ascii(first)}.{_ascii(last)}{i}@example.org".lower().replace(" ", "")
            roll = rng.random()
            outcome = "created"
            if roll < 0.05 and recent:
                number, country = rng.choice(recent)
                postcode, city = rng.choice(CITIES[country])
                outcome = "duplicate"
                raw = _dirty(number, rng)
            elif roll < 0.065:
                raw = _dirty(sources[(country, PhoneNumberType.MOBILE)].next(), rng).strip()[:-3]
                if isinstance(normalise_number(raw, default_region=country), NormalisedNumber):
                    raw = "n/a"  # cut short but still a valid (shorter) number, as DE allows
                outcome = "rejected"
            elif roll < 0.07:
                raw = _dirty(premium[country], rng)
                outcome = "rejected"
            else:
                if island == "RE":
                    number = reunion.next()
                else:
                    kind = PhoneNumberType.MOBILE if rng.random() < 0.7 else PhoneNumberType.FIXED_LINE
                    number = sources[(country, kind)].next()
                raw = _dirty(number, rng)
                if rng.random() < 0.003:
                    email = "n/a@"
                    outcome = "rejected"
                elif island is None:  # 0692… only reads as Réunion beside a Réunion postcode
                    if len(recent) < 5_000:
                        recent.append((number, country))
                    else:
                        recent[rng.randrange(5_000)] = (number, country)
            expected[outcome] += 1
            expected["rows"] += 1
            writer.writerow(
                [
                    first,
                    last,
                    raw,
                    postcode,
                    city,
                    rng.choice(COUNTRY_LABELS[country]),
                    email,
                    f"D{seed % 1000}-{i:07d}",
                    "oui" if rng.random() < 0.1 else "",
                ]
            )
    return expected


def load_prospects(*, now, log) -> None:
    """Import the demo file once; re-running finds the finished job and does nothing."""
    from contacts.models import ImportJob
    from contacts.services.imports import create_import_job, run_import

    done = ImportJob.objects.filter(source=DEMO_SOURCE, status=ImportJob.Status.SUCCEEDED).first()
    if done is not None:
        log(f"Demo prospects: already imported (import #{done.pk}, {done.rows_created} created)")
        return
    if not DEMO_FILE.exists():
        generate_prospects_csv(DEMO_FILE, rows=DEMO_ROWS)
    job = create_import_job(
        actor=None, now=now, source_path=str(DEMO_FILE), source=DEMO_SOURCE, default_country="FR"
    )
    job = run_import(job_id=job.pk, now=now)
    c = job.counts
    log(
        f"Demo prospects: import #{job.pk} {job.status}: {job.rows_total} rows, {c['created']} created, "
        f"{c['updated']} updated, {c['duplicate']} duplicate, {c['rejected']} rejected "
        f"(report: admin › Import jobs)"
    )


def _ascii(name: str) -> str:
    """Théo → Theo, Müller → Muller: what a mail provider accepts in an address (the admin's
    e-mail field refused the accented ones, so half the demo prospects could not be edited)."""
    decomposed = unicodedata.normalize("NFKD", name.replace("ß", "ss"))
    return decomposed.encode("ascii", "ignore").decode("ascii")
