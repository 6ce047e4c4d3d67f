"""Issue 3: prospect file imports: formats, header languages, mapping, dedupe, rejections, bad files."""

import io
import zipfile

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from contacts.models import AuditEntry, ImportJob, PhoneNumber, Prospect
from contacts.services.import_files import ImportFileError, map_columns, open_rows, parse_mapping
from contacts.services.import_rows import validate_row
from contacts.services.imports import neutralise
from tests.contacts.factories import NOW, csv_bytes, import_file, outcomes, report, xlsx_bytes
from tests.factories import PhoneNumberFactory, ProspectFactory

pytestmark = pytest.mark.django_db

HEADER = ["Prénom", "Nom", "Téléphone", "Code postal", "Ville"]
ROWS = [
    ["Élodie", "Müller", "06 12 34 56 78", "67000", "Strasbourg"],
    ["François", "Noël", "+33 6 12 34 56 79", "75011", "Paris"],
]


def numbers() -> list[str]:
    return list(PhoneNumber.objects.order_by("e164").values_list("e164", flat=True))


def assert_nothing_written():
    assert Prospect.objects.count() == 0
    assert PhoneNumber.objects.count() == 0


# Encodings ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "detected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp1252", "cp1252"), ("latin-1", "cp1252")],
)
def test_encodings(tmp_path, encoding, detected):
    job = import_file(tmp_path, csv_bytes([HEADER, *ROWS], delimiter=";", encoding=encoding))
    assert job.status == ImportJob.Status.SUCCEEDED, job.error
    assert job.counts == {"created": 2, "updated": 0, "duplicate": 0, "rejected": 0}
    assert sorted(Prospect.objects.values_list("first_name", "last_name", "city")) == [
        ("François", "Noël", "Paris"),
        ("Élodie", "Müller", "Strasbourg"),
    ]
    assert job.columns == {
        "Prénom": "first_name",
        "Nom": "last_name",
        "Téléphone": "phone",
        "Code postal": "postcode",
        "Ville": "city",
    }
    with open(tmp_path / "prospects.csv", "rb") as handle:
        opened, _rows = open_rows(handle, mapping={})
    assert opened.encoding == detected


def test_latin1_bytes_undefined_in_cp1252_are_read_as_latin1(tmp_path):
    # 0x8D is undefined in Windows-1252; a file holding it can only be ISO 8859-1.
    content = "Nom;Téléphone;Ville\r\nDupont\x8d;0612345678;Orléans\r\n".encode("latin-1")
    job = import_file(tmp_path, content)
    assert job.status == ImportJob.Status.SUCCEEDED, job.error
    prospect = Prospect.objects.get()
    assert (prospect.last_name, prospect.city) == ("Dupont\x8d", "Orléans")


def test_cp1252_euro_and_oe_ligature(tmp_path):
    content = "Nom;Téléphone;Tags\r\nCœur;0612345678;prix 20€\r\n".encode("cp1252")
    job = import_file(tmp_path, content)
    assert job.status == ImportJob.Status.SUCCEEDED
    prospect = Prospect.objects.get()
    assert (prospect.last_name, prospect.tags) == ("Cœur", ["prix 20€"])


# Delimiters, quoting, line endings -------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize("crlf", [True, False])
def test_delimiters_and_line_endings(tmp_path, delimiter, crlf):
    job = import_file(tmp_path, csv_bytes([HEADER, *ROWS], delimiter=delimiter, crlf=crlf))
    assert job.status == ImportJob.Status.SUCCEEDED, job.error
    assert job.counts["created"] == 2
    assert numbers() == ["+33612345678", "+33612345679"]
    assert Prospect.objects.get(numbers__e164="+33612345678").city == "Strasbourg"


def test_quoted_embedded_newlines_keep_line_numbers(tmp_path):
    content = (
        b'Nom,T\xc3\xa9l\xc3\xa9phone,Ville\r\n"Dupont\r\nde la Tour",0612345678,"Saint-\nDenis"\r\n'
        b"Martin,not-a-number,Paris\r\nDurand,0612345679,Lyon\r\n"
    )
    job = import_file(tmp_path, content)
    assert [(o["line"], o["outcome"], o["reason"]) for o in outcomes(job)] == [
        ("2", "created", ""),
        ("5", "rejected", "unparseable"),
        ("6", "created", ""),
    ]
    assert Prospect.objects.get(numbers__e164="+33612345678").last_name == "Dupont\r\nde la Tour"


# Header languages and mapping ----------------------------------------------------------------------

LANGUAGE_HEADERS = {
    "en": ["First name", "Last name", "Phone", "Postcode", "City", "Email", "Country"],
    "fr": ["Prénom", "Nom", "Téléphone", "Code postal", "Ville", "Courriel", "Pays"],
    "nl": ["Voornaam", "Achternaam", "Telefoon", "Postcode", "Woonplaats", "E-mailadres", "Land"],
    "de": ["Vorname", "Nachname", "Telefon", "PLZ", "Ort", "E-Mail", "Land"],
    "it": ["Nome", "Cognome", "Telefono", "CAP", "Città", "Posta elettronica", "Paese"],
    "es": ["Nombre", "Apellidos", "Teléfono", "Código postal", "Ciudad", "Correo electrónico", "País"],
    "pt": ["Primeiro nome", "Apelido", "Telefone", "Código postal", "Cidade", "E-mail", "País"],
}
COUNTRY_ROW = {
    "en": ("BE", "0470 12 34 56", "+32470123456"),
    "fr": ("France", "06 12 34 56 78", "+33612345678"),
    "nl": ("Nederland", "06 12345678", "+31612345678"),
    "de": ("Deutschland", "0151 23456789", "+4915123456789"),
    "it": ("Italia", "312 345 6789", "+393123456789"),
    "es": ("España", "612 34 56 78", "+34612345678"),
    "pt": ("Portugal", "912 345 678", "+351912345678"),
}
EXPECTED_COUNTRY = {"en": "BE", "fr": "FR", "nl": "NL", "de": "DE", "it": "IT", "es": "ES", "pt": "PT"}


@pytest.mark.parametrize("language", sorted(LANGUAGE_HEADERS))
def test_header_languages(tmp_path, language):
    country, raw, e164 = COUNTRY_ROW[language]
    row = ["Ana", "Silva", raw, "1000", "Town", "ana@example.org", country]
    job = import_file(tmp_path, csv_bytes([LANGUAGE_HEADERS[language], row]), default_country="")
    assert job.status == ImportJob.Status.SUCCEEDED, job.error
    assert sorted(job.columns.values()) == sorted(
        ["first_name", "last_name", "phone", "postcode", "city", "email", "country"]
    )
    prospect = Prospect.objects.get()
    assert (prospect.first_name, prospect.last_name, prospect.email, prospect.country) == (
        "Ana",
        "Silva",
        "ana@example.org",
        EXPECTED_COUNTRY[language],
    )
    assert numbers() == [e164]


def test_explicit_mapping_for_unknown_headers(tmp_path):
    content = csv_bytes([["Kontakt", "Wer", "Kundennr"], ["0151 23456789", "Weber", "K-1"]])
    job = import_file(
        tmp_path, content, default_country="DE", mapping="Kontakt=phone,Wer=last_name,Kundennr=external_ref"
    )
    assert job.status == ImportJob.Status.SUCCEEDED, job.error
    prospect = Prospect.objects.get()
    assert (prospect.last_name, prospect.external_ref, prospect.country, prospect.language) == (
        "Weber",
        "K-1",
        "DE",
        "de",
    )


def test_explicit_mapping_wins_over_a_recognised_header(tmp_path):
    content = csv_bytes([["Téléphone", "Portable", "Nom"], ["01 23 45 67 89", "06 12 34 56 78", "Petit"]])
    job = import_file(tmp_path, content, mapping={"Portable": "phone"})
    assert job.columns == {"Portable": "phone", "Nom": "last_name"}
    assert numbers() == ["+33612345678"]


def test_mapping_naming_a_missing_column_fails_and_writes_nothing(tmp_path):
    job = import_file(tmp_path, csv_bytes([HEADER, *ROWS]), mapping="Mobile=phone")
    assert job.status == ImportJob.Status.FAILED
    assert job.error.startswith("the mapping names column 'Mobile', which is not in the header")
    assert_nothing_written()


def test_mapping_with_unknown_field_is_refused():
    with pytest.raises(ImportFileError, match="mapping names unknown field 'phone_number'"):
        parse_mapping("Tel=phone_number")
    with pytest.raises(ImportFileError, match="is not COLUMN=FIELD"):
        parse_mapping("Tel")


def test_first_of_two_phone_columns_is_used():
    assert map_columns(["Tel", "Mobile", "Nom"], {}) == {0: "phone", 2: "last_name"}


def test_a_mapping_giving_one_field_two_columns_is_refused():
    with pytest.raises(ImportFileError, match="names the field 'phone' for two columns"):
        map_columns(["Tel", "Mobile", "Nom"], {"Tel": "phone", "Mobile": "phone"})


@pytest.mark.parametrize(
    ("header", "row", "reason"),
    [
        # The number is judged first, then the first faulty cell in column order.
        (["Nom", "Téléphone", "E-mail"], ["x" * 101, "0891 12 34 56", "nope"], "premium_rate"),
        (["Nom", "Téléphone", "E-mail"], ["x" * 101, "06 12 34 56 78", "nope"], "field_too_long"),
        (["E-mail", "Téléphone", "Nom"], ["nope", "06 12 34 56 78", "x" * 101], "invalid_email"),
        (["Pays", "Téléphone", "Nom"], ["Atlantis", "06 12 34 56 78", "x" * 101], "invalid_country"),
    ],
)
def test_a_row_is_refused_for_its_first_fault(header, row, reason):
    columns = map_columns(header, {})
    assert validate_row(7, row, columns, "FR").reason == reason


def test_default_country_reads_national_numbers(tmp_path):
    content = csv_bytes([["Naam", "Telefoon"], ["Jansen", "0470 12 34 56"]])
    job = import_file(tmp_path, content, default_country="BE")
    assert job.status == ImportJob.Status.SUCCEEDED
    prospect = Prospect.objects.get()
    assert (prospect.country, prospect.language, numbers()) == ("BE", "", ["+32470123456"])


def test_country_column_wins_over_default_country(tmp_path):
    content = csv_bytes([["Name", "Phone", "Country"], ["Rossi", "312 345 6789", "IT"]])
    import_file(tmp_path, content, default_country="FR")
    assert numbers() == ["+393123456789"]
    assert Prospect.objects.get().country == "IT"


def test_international_number_without_country_sets_the_country(tmp_path):
    content = csv_bytes([["Name", "Phone"], ["Costa", "+351 912 345 678"], ["Hoarau", "+262 692 12 34 56"]])
    import_file(tmp_path, content, default_country="")
    assert sorted(Prospect.objects.values_list("last_name", "country")) == [("Costa", "PT"), ("Hoarau", "FR")]
    assert PhoneNumber.objects.get(e164="+262692123456").time_zone == "Indian/Reunion"


def test_address_fields_place_the_number(tmp_path):
    content = csv_bytes(
        [
            ["Nombre", "Teléfono", "Código postal", "País"],
            ["Ana", "612 34 56 78", "35001", "ES"],
            ["Luis", "612 34 56 79", "", "ES"],
        ]
    )
    import_file(tmp_path, content)
    canary = PhoneNumber.objects.get(e164="+34612345678")
    assert (canary.time_zone, canary.time_zone_candidates, canary.prospect.region) == (
        "Atlantic/Canary",
        ["Atlantic/Canary"],
        "CN",
    )
    unknown = PhoneNumber.objects.get(e164="+34612345679")
    assert (unknown.time_zone, unknown.time_zone_candidates) == (
        "Europe/Madrid",
        ["Atlantic/Canary", "Europe/Madrid"],
    )


# XLSX ---------------------------------------------------------------------------------------------


def test_xlsx(tmp_path):
    content = xlsx_bytes(
        [
            ["Vorname", "Nachname", "Handy", "PLZ"],
            ["Jonas", "Schmidt", 15123456789, "10115"],  # Excel dropped the trunk 0
            ["Lea", "Wagner", "0151 12345678", None],
            [None, None, None, None],
            ["Bad", "Row", "123", None],
        ]
    )
    job = import_file(tmp_path, content, name="liste.xlsx", default_country="DE")
    assert job.status == ImportJob.Status.SUCCEEDED, job.error
    assert [(o["line"], o["outcome"]) for o in outcomes(job)] == [
        ("2", "created"),
        ("3", "created"),
        ("5", "rejected"),
    ]
    assert numbers() == ["+4915112345678", "+4915123456789"]


def test_xlsx_number_cell_without_leading_zero(tmp_path):
    content = xlsx_bytes([["Nom", "Portable"], ["Leroy", 612345678]])
    import_file(tmp_path, content, name="l.xlsx")
    assert numbers() == ["+33612345678"]


# Deduplication ------------------------------------------------------------------------------------


def test_same_number_twice_however_written_is_a_duplicate_row(tmp_path):
    content = csv_bytes(
        [
            ["Nom", "Téléphone"],
            ["Dupont", "06 12 34 56 78"],
            ["Dupont bis", "+33 (0)6.12.34.56.78"],
            ["Dupont ter", "0033612345678"],
        ]
    )
    job = import_file(tmp_path, content)
    prospect = Prospect.objects.get()
    assert job.counts == {"created": 1, "updated": 0, "duplicate": 2, "rejected": 0}
    assert [(o["line"], o["outcome"], o["prospect_id"], o["message"]) for o in outcomes(job)] == [
        ("2", "created", str(prospect.pk), ""),
        ("3", "duplicate", str(prospect.pk), "same number as line 2"),
        ("4", "duplicate", str(prospect.pk), "same number as line 2"),
    ]
    assert prospect.last_name == "Dupont"


def test_existing_number_updates_the_prospect_filling_blanks_never_erasing(tmp_path):
    existing = ProspectFactory(first_name="Camille", last_name="Martin", city="", email="", postcode="75011")
    PhoneNumberFactory(prospect=existing, e164="+33612345678")
    content = csv_bytes(
        [
            ["Prénom", "Nom", "Téléphone", "Ville", "Email", "Code postal", "Client"],
            ["", "Autre", "06 12 34 56 78", "Paris", "camille@example.org", "", "oui"],
        ]
    )
    job = import_file(tmp_path, content)
    assert job.counts == {"created": 0, "updated": 1, "duplicate": 0, "rejected": 0}
    existing.refresh_from_db()
    assert (
        existing.first_name,
        existing.last_name,
        existing.city,
        existing.email,
        existing.postcode,
        existing.is_customer,
    ) == ("Camille", "Martin", "Paris", "camille@example.org", "75011", True)
    assert Prospect.objects.count() == 1
    assert outcomes(job)[0]["prospect_id"] == str(existing.pk)


def test_external_ref_of_the_same_source_updates_and_adds_the_number(tmp_path):
    existing = ProspectFactory(source="crm", external_ref="C-42", city="")
    PhoneNumberFactory(prospect=existing, e164="+33612345670")
    content = csv_bytes([["Référence", "Téléphone", "Ville"], ["C-42", "06 12 34 56 78", "Lille"]])
    job = import_file(tmp_path, content, source="crm")
    assert job.counts["updated"] == 1
    existing.refresh_from_db()
    assert existing.city == "Lille"
    assert sorted(existing.numbers.values_list("e164", flat=True)) == ["+33612345670", "+33612345678"]


@pytest.mark.parametrize("ref", ["C-42", 'a"b,{c} d', "NULL", "x;y", "é\\z"])
def test_external_ref_matches_whatever_characters_it_holds(tmp_path, ref):
    # On PostgreSQL the batch's references travel as one string split on chr(31) (a file with a
    # control character is refused whole), with no quoting that these could break.
    existing = ProspectFactory(source="crm", external_ref=ref, city="")
    other = ProspectFactory(source="crm", external_ref="other")
    content = csv_bytes(
        [["Référence", "Téléphone", "Ville"], [ref, "06 12 34 56 78", "Lille"], ["other", "", ""]]
    )
    job = import_file(tmp_path, content, source="crm")
    assert job.counts == {"created": 0, "updated": 1, "duplicate": 0, "rejected": 1}
    assert [o["prospect_id"] for o in outcomes(job)][:1] == [str(existing.pk)]
    existing.refresh_from_db()
    assert (existing.city, list(existing.numbers.values_list("e164", flat=True))) == (
        "Lille",
        ["+33612345678"],
    )
    assert other.numbers.count() == 0


def test_external_ref_of_another_source_creates(tmp_path):
    ProspectFactory(source="crm", external_ref="C-42")
    content = csv_bytes([["Référence", "Téléphone"], ["C-42", "06 12 34 56 78"]])
    job = import_file(tmp_path, content, source="dealer")
    assert job.counts["created"] == 1
    assert Prospect.objects.filter(external_ref="C-42").count() == 2


def test_same_external_ref_twice_in_a_file_is_one_prospect_with_two_numbers(tmp_path):
    content = csv_bytes(
        [["Ref", "Phone", "City"], ["R1", "06 12 34 56 78", ""], ["R1", "06 12 34 56 79", "Nantes"]]
    )
    job = import_file(tmp_path, content, source="web")
    prospect = Prospect.objects.get()
    assert [(o["outcome"], o["prospect_id"]) for o in outcomes(job)] == [
        ("created", str(prospect.pk)),
        ("updated", str(prospect.pk)),
    ]
    assert (prospect.city, prospect.numbers.count()) == ("Nantes", 2)


def test_reimporting_a_file_updates_and_creates_nothing(tmp_path):
    content = csv_bytes([HEADER, *ROWS])
    import_file(tmp_path, content)
    again = import_file(tmp_path, content)
    assert again.counts == {"created": 0, "updated": 2, "duplicate": 0, "rejected": 0}
    assert Prospect.objects.count() == 2


@pytest.mark.parametrize("workers", [1, 2])
def test_a_file_truncated_after_batches_were_written_writes_nothing(tmp_path, monkeypatch, workers):
    """On PostgreSQL batches are written while the rest of the file is still being read; a file
    that turns out truncated on its last line must still leave nothing behind."""
    from contacts.services import imports

    monkeypatch.setattr(imports, "WRITE_BATCH_ROWS", 2)
    monkeypatch.setattr(imports, "COPY_BATCH_ROWS", 2)
    monkeypatch.setattr(imports, "CHUNK_ROWS", 1)
    good = "".join(f"N{i},06123456{i:02d}\r\n" for i in range(12))
    job = import_file(tmp_path, f'Nom,Tel\r\n{good}Last,"0612\r\n'.encode(), workers=workers)
    assert job.status == ImportJob.Status.FAILED
    assert job.error.startswith("line 14: the CSV is malformed or truncated"), job.error
    assert_nothing_written()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_progress_is_written_beside_the_import_transaction(tmp_path):
    """The import's own transaction hides its updates until commit, so progress goes through a
    second connection; a job row locked by someone else is skipped, never waited for."""
    from django.db import transaction

    from contacts.services.imports import _ProgressReporter

    job = ImportJob.objects.create(created_at=NOW, original_name="p.csv")
    with _ProgressReporter(job) as reporter:
        with transaction.atomic():
            reporter.report(42, 1000)  # visible at once, although this transaction is open
            assert ImportJob.objects.values_list("progress", "rows_total").get(pk=job.pk) == (42, 1000)
            ImportJob.objects.select_for_update().get(pk=job.pk)
            reporter.report(43, 2000)  # the row is locked by this connection: skipped
        assert ImportJob.objects.values_list("progress", "rows_total").get(pk=job.pk) == (42, 1000)
        reporter.report(44, 3000)
    assert ImportJob.objects.values_list("progress", "rows_total").get(pk=job.pk) == (44, 3000)


def test_duplicates_across_write_batches_get_the_prospect_id(tmp_path, monkeypatch):
    from contacts.services import imports

    monkeypatch.setattr(imports, "WRITE_BATCH_ROWS", 2)
    monkeypatch.setattr(imports, "COPY_BATCH_ROWS", 2)
    monkeypatch.setattr(imports, "CHUNK_ROWS", 1)
    rows = [
        ["Nom", "Tel"],
        ["A", "0612345671"],
        ["B", "0612345672"],
        ["C", "0612345673"],
        ["A2", "06 12 34 56 71"],
    ]
    job = import_file(tmp_path, csv_bytes(rows))
    first = Prospect.objects.get(last_name="A")
    assert outcomes(job)[-1] == {
        "line": "5",
        "outcome": "duplicate",
        "prospect_id": str(first.pk),
        "e164": "+33612345671",
        "reason": "duplicate",
        "message": "same number as line 2",
    }


# Rejections --------------------------------------------------------------------------------------


def test_every_rejection_reason_is_reported_and_good_rows_are_kept(tmp_path):
    rows = [
        ["Nom", "Téléphone", "Email", "Pays", "Ville"],
        ["Ok", "06 12 34 56 78", "", "", ""],
        ["Vide", "", "", "", ""],
        ["Lettres", "appelez-moi", "", "", ""],
        ["Court", "06 12", "", "", ""],
        ["Surtaxé", "0891 12 34 56", "", "", ""],
        ["Partagé", "0884 01 23 45", "", "", ""],
        ["Urgence", "112", "", "", ""],
        ["Mail", "06 12 34 56 79", "pas-un-mail", "", ""],
        ["Pays", "06 12 34 56 77", "", "Atlantis", ""],
        ["Long", "06 12 34 56 76", "", "", "x" * 101],
        ["Ok2", "06 12 34 56 75", "", "", ""],
    ]
    job = import_file(tmp_path, csv_bytes(rows))
    assert job.status == ImportJob.Status.SUCCEEDED
    assert job.counts == {"created": 2, "updated": 0, "duplicate": 0, "rejected": 9}
    assert job.rejection_reasons == {
        "emergency_or_short": 1,
        "field_too_long": 1,
        "invalid": 1,
        "invalid_country": 1,
        "invalid_email": 1,
        "missing": 1,
        "premium_rate": 1,
        "shared_cost": 1,
        "unparseable": 1,
    }
    assert [(r[0], r[1]) for r in report(job)[1:]] == [
        ("3", "missing"),
        ("4", "unparseable"),
        ("5", "invalid"),
        ("6", "premium_rate"),
        ("7", "shared_cost"),
        ("8", "emergency_or_short"),
        ("9", "invalid_email"),
        ("10", "invalid_country"),
        ("11", "field_too_long"),
    ]
    assert numbers() == ["+33612345675", "+33612345678"]


def _fifty_rows_and(bad: dict[str, str]) -> bytes:
    header = ["Nom", "Téléphone", "Pays", "Langue", "Email", "Ville"]
    rows = [[f"N{i}", f"06 12 34 {i // 10:02d} {i % 10:02d}", "", "", "", ""] for i in range(50)]
    rows.insert(25, [bad.get(name, "") for name in header])
    return csv_bytes([header, *rows])


@pytest.mark.parametrize(
    ("bad", "reason", "message"),
    [
        # phonenumbers calls it a German fixed line: 17 digits, over the e164 column's 16 characters.
        ({"Téléphone": "+49301234567890123"}, "invalid", "'+49301234567890123' is longer than E.164 allows (15 digits)"),
        # Two letters that .upper() makes four ("SSSS"), and two that no country has.
        ({"Téléphone": "0699999999", "Pays": "ßß"}, "invalid_country", "country is not a known country name or ISO 3166-1 code"),
        ({"Téléphone": "0699999999", "Pays": "ZZ"}, "invalid_country", "country is not a known country name or ISO 3166-1 code"),
        ({"Téléphone": "0699999999", "Pays": "ÉÉ"}, "invalid_country", "country is not a known country name or ISO 3166-1 code"),
        # 205 characters as written, 405 once lower-cased ("İ" → "i̇"): over the column's 254.
        ({"Téléphone": "0699999999", "Email": "İ" * 200 + "@x.fr"}, "field_too_long", "email is longer than 254 characters"),
        ({"Téléphone": "0612ABCDEF"}, "unparseable", "'0612ABCDEF' is not a phone number: it holds letters"),
    ],
)  # fmt: skip
def test_one_row_the_database_could_not_store_is_rejected_and_the_others_imported(
    tmp_path, bad, reason, message
):
    job = import_file(tmp_path, _fifty_rows_and(bad))
    assert job.status == ImportJob.Status.SUCCEEDED, job.error
    assert job.counts == {"created": 50, "updated": 0, "duplicate": 0, "rejected": 1}
    assert [row[:3] for row in report(job)[1:]] == [["27", reason, message]]
    assert Prospect.objects.count() == 50
    assert not PhoneNumber.objects.filter(e164__in=["+33699999999", "+33612222333"]).exists()


@pytest.mark.parametrize(
    ("country", "language", "stored"),
    [
        ("uk", "English", ("GB", "en")),
        ("BE", "fr-BE", ("BE", "fr")),
        ("be", "NL", ("BE", "nl")),
        ("Belgique", "Nederlands", ("BE", "nl")),
        ("fr", "", ("FR", "fr")),
        # Unreadable languages keep the row, with the country's language (found by review: they
        # were rejected for a while, losing the number): never the cell as written.
        ("fr", "!!", ("FR", "fr")),
        ("fr", "<>", ("FR", "fr")),
        ("DE", "Polski", ("DE", "de")),
    ],
)
def test_countries_and_languages_are_stored_as_their_codes(tmp_path, country, language, stored):
    content = csv_bytes(
        [["Nom", "Téléphone", "Pays", "Langue"], ["A", "+33 6 12 34 56 78", country, language]]
    )
    job = import_file(tmp_path, content)
    assert job.counts["created"] == 1, report(job)
    assert Prospect.objects.values_list("country", "language").get() == stored


def test_a_row_with_more_values_than_the_header_is_rejected_naming_its_line(tmp_path):
    content = (
        "Téléphone,Prénom,Nom,Ville\r\n"
        "0612345678,Anne,Martin,Paris\r\n"
        "0612345679,Jean,Dupont, Jr,Lyon\r\n"  # the comma of "Dupont, Jr" shifted Lyon out
        "0612345670,Paul,Roux,Nice,,\r\n"  # empty trailing cells, as spreadsheets write them: kept
    ).encode()
    job = import_file(tmp_path, content)
    assert job.counts == {"created": 2, "updated": 0, "duplicate": 0, "rejected": 1}
    assert report(job)[1][:3] == [
        "3",
        "too_many_cells",
        "the row has 5 cells and the header 4: is a cell holding the delimiter not quoted?",
    ]
    assert sorted(Prospect.objects.values_list("city", flat=True)) == ["Nice", "Paris"]


@pytest.mark.parametrize("country", ["ZZ", "ÉÉ", "XX"])
def test_an_unknown_default_country_is_refused(tmp_path, country):
    with pytest.raises(
        ImportFileError, match=f"default country {country!r} is not an ISO 3166-1 alpha-2 code"
    ):
        import_file(tmp_path, csv_bytes([HEADER, *ROWS]), default_country=country)
    assert ImportJob.objects.count() == 0


def test_report_neutralises_formulas(tmp_path):
    rows = [
        ["Nom", "Téléphone", "Ville"],
        ['=HYPERLINK("http://x")', "0891 12 34 56", "@SUM(A1)"],
        ["-2+3", "abc", "+cmd"],
    ]
    job = import_file(tmp_path, csv_bytes(rows))
    assert report(job) == [
        ["line", "reason", "message", "Nom", "Téléphone", "Ville"],
        [
            "2",
            "premium_rate",
            "'0891 12 34 56' is a premium-rate number: not callable",
            '\'=HYPERLINK("http://x")',
            "0891 12 34 56",
            "'@SUM(A1)",
        ],
        ["3", "unparseable", "'abc' is not a phone number", "'-2+3", "abc", "'+cmd"],
    ]


@pytest.mark.parametrize("cell", ["=1+1", "+33", "-1", "@x", "\tx", "\rx"])
def test_neutralise(cell):
    assert neutralise(cell) == "'" + cell
    assert neutralise("Dupont") == "Dupont"


# Bad files: a clear error and nothing written ---------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "name", "error"),
    [
        (b"", "e.csv", "the file is empty"),
        (b"\r\n\r\n  \r\n", "e.csv", "the file is empty"),
        (b"\xef\xbb\xbf", "e.csv", "the file is empty"),
        ("Nom;Téléphone\r\n".encode(), "h.csv", "the file has a header but no rows"),
        ("Nom;Téléphone\r\n;\r\n".encode(), "h.csv", "the file has a header but no rows"),
        (b"Nom;Ville\r\nDupont;Paris\r\n", "n.csv", "no phone column: none of the headers ('Nom', 'Ville')"),
        (b"Nom,Tel\r\n\x00\x01\x02\x03binary", "b.csv", "the file is binary (it contains NUL bytes)"),
        (b"%PDF-1.7 ...", "d.pdf", "the file is a PDF document, not a CSV or XLSX file"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "o.xls", "the file is an old Excel 97"),
        (b'Nom,Tel\r\nDupont,"0612345678\r\n', "t.csv", "line 2: the CSV is malformed or truncated"),
        (b"Nom,Tel\x07\r\nA,0612345678\r\n", "c.csv", "the header holds control characters"),
    ],
)
def test_bad_files_write_nothing(tmp_path, content, name, error):
    job = import_file(tmp_path, content, name=name)
    assert job.status == ImportJob.Status.FAILED
    assert job.error.startswith(error), job.error
    assert job.counts == {"created": 0, "updated": 0, "duplicate": 0, "rejected": 0}
    assert not job.report
    assert_nothing_written()
    assert AuditEntry.objects.filter(action="contacts.import.failed", target_id=str(job.pk)).count() == 1


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1f"])
def test_a_control_character_refuses_its_row_wherever_it_is_in_the_file(tmp_path, char):
    # Lines 3 and 4002: one inside the first 64 KB the file's start is sniffed from, one far after.
    rows = [[f"Nom{i}", f"06{i:08d}", "Lyon"] for i in range(4002)]
    rows[1][0] = f"Ma{char}rtin"
    rows[4000][2] = f"Ly{char}on"
    content = csv_bytes([["Nom", "Téléphone", "Ville"], *rows])
    assert content.index(char.encode()) < 64 * 1024 < content.rindex(char.encode())
    job = import_file(tmp_path, content)
    assert job.status == ImportJob.Status.SUCCEEDED, job.error
    assert job.counts == {"created": 4000, "updated": 0, "duplicate": 0, "rejected": 2}
    code = f"U+{ord(char):04X}"
    assert [row[:3] for row in report(job)[1:]] == [
        ["3", "control_character", f"column 1 (last_name) holds the control character {code}"],
        ["4002", "control_character", f"column 3 (city) holds the control character {code}"],
    ]
    assert report(job)[1][3] == "Ma\ufffdrtin"  # shown, not written raw into the report
    stored = "".join(f"{name}{city}" for name, city in Prospect.objects.values_list("last_name", "city"))
    assert char not in stored  # (SQLite's LIKE cannot look for a NUL)


@pytest.mark.parametrize("bad", [b"Zo\xe9", b"Zo\xed\xa0\x80"], ids=["cp1252", "cesu-8"])
def test_a_utf8_file_with_a_line_in_another_encoding_refuses_that_line_only(tmp_path, bad):
    lines = [b"Pr\xc3\xa9nom;T\xc3\xa9l\xc3\xa9phone"]
    lines += [b"Zo\xc3\xa9;06%08d" % i for i in range(20)]
    lines[7] = bad + b";0699999999"
    job = import_file(tmp_path, b"\r\n".join(lines) + b"\r\n")
    assert job.status == ImportJob.Status.SUCCEEDED, job.error
    assert job.counts == {"created": 19, "updated": 0, "duplicate": 0, "rejected": 1}
    assert [row[:3] for row in report(job)[1:]] == [
        [
            "8",
            "not_utf8",
            "column 1 (first_name) holds bytes that are not UTF-8, unlike the rest of the file: "
            "this line was saved in another encoding",
        ]
    ]
    assert set(Prospect.objects.values_list("first_name", flat=True)) == {"Zoé"}


def test_truncated_xlsx_writes_nothing(tmp_path):
    content = xlsx_bytes([["Nom", "Tel"], *[[f"N{i}", f"06123456{i:02d}"] for i in range(50)]])
    job = import_file(tmp_path, content[: len(content) // 2], name="t.xlsx")
    assert job.status == ImportJob.Status.FAILED
    assert job.error.startswith("the XLSX file is damaged or truncated")
    assert_nothing_written()


def test_xlsx_with_a_corrupt_sheet_fails_mid_read_and_writes_nothing(tmp_path):
    good = xlsx_bytes([["Nom", "Tel"], *[[f"N{i}", f"06123456{i:02d}"] for i in range(50)]])
    source = tmp_path / "good.xlsx"
    source.write_bytes(good)
    broken = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(broken, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) * 2 // 3]  # the sheet ends in the middle of a row
            zout.writestr(item, data)
    job = import_file(tmp_path, broken.read_bytes(), name="b.xlsx")
    assert job.status == ImportJob.Status.FAILED
    assert job.error.startswith("the XLSX file is damaged or truncated")
    assert_nothing_written()


def rezip(content: bytes, **parts) -> bytes:
    """`content`, a workbook, with the named parts (`workbook=…` for xl/workbook.xml) rewritten by
    their function, or added when new."""
    names = {
        "workbook": "xl/workbook.xml",
        "sheet": "xl/worksheets/sheet1.xml",
        "styles": "xl/styles.xml",
        "content_types": "[Content_Types].xml",
        "core": "docProps/core.xml",
        "shared_strings": "xl/sharedStrings.xml",
    }
    edits = {names[k]: v for k, v in parts.items()}
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(content)) as zin,
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zout,
    ):
        for item in zin.infolist():
            data = zin.read(item.filename)
            zout.writestr(item.filename, edits.pop(item.filename, lambda d: d)(data))
        for name, make in edits.items():
            zout.writestr(name, make(b""))
    return buffer.getvalue()


SMALL_XLSX_ROWS = [["Nom", "Tel"], ["Martin", "0612345678"]]


@pytest.mark.parametrize(
    "part",
    [
        {"workbook": lambda d: d.replace(b'sheetId="1"', b'sheetId="1.0"')},  # openpyxl: TypeError
        {"styles": lambda d: d.replace(b'numFmtId="0"', b'numFmtId="x"', 1)},
        {"content_types": lambda d: d.replace(b'PartName="/xl/styles.xml"', b"", 1)},
        {"core": lambda d: d.replace(b"<dcterms:created", b"<dcterms:created x:y='1'", 1)},
    ],
    ids=["sheet-id", "styles", "content-types", "core"],
)
def test_a_workbook_openpyxl_cannot_read_fails_its_job_with_a_message(tmp_path, part):
    content = rezip(xlsx_bytes(SMALL_XLSX_ROWS), **part)
    with pytest.raises(
        ImportFileError, match="^the XLSX file is damaged or truncated: not a readable .xlsx workbook"
    ):
        open_rows(io.BytesIO(content), mapping={})
    path = tmp_path / "bad.xlsx"
    path.write_bytes(content)
    with pytest.raises(CommandError, match="failed, nothing written: the XLSX file is damaged"):
        call_command("import_prospects", str(path), "--no-progress")
    assert ImportJob.objects.get().status == ImportJob.Status.FAILED
    assert_nothing_written()


def test_an_unexpected_error_fails_the_job_instead_of_leaving_it_validating(tmp_path, monkeypatch):
    from contacts.services import imports

    def broken(*args, **kwargs):
        raise TypeError("a library's bug")

    monkeypatch.setattr(imports, "open_rows", broken)
    job = import_file(tmp_path, csv_bytes([HEADER, *ROWS]))
    assert (job.status, job.error) == (
        ImportJob.Status.FAILED,
        "the import stopped on an unexpected error (TypeError); "
        + (
            "nothing was imported"
            if connection.vendor == "postgresql"
            else "the batches written before it were kept (see the prospects of this source)"
        ),
    )
    assert job.finished_at == NOW


def test_a_declared_dimension_and_a_far_cell_do_not_widen_the_rows_read(tmp_path):
    # A4.9 KB bomb: "A1:XFD100000" made openpyxl pad each of 100,000 rows to 16,384 cells.
    far = b'<row r="10000"><c r="XFD10000" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'
    content = rezip(
        xlsx_bytes(SMALL_XLSX_ROWS),
        sheet=lambda d: d.replace(b'<dimension ref="A1:B2" />', b'<dimension ref="A1:XFD10000" />').replace(
            b"</sheetData>", far
        ),
    )
    opened, rows = open_rows(io.BytesIO(content), mapping={})
    widths = {len(cells) for _line, cells in rows}
    assert (opened.header, widths) == (["Nom", "Tel"], {2})
    job = import_file(tmp_path, content, name="bomb.xlsx")
    assert (job.status, job.counts["created"], job.rows_total) == (ImportJob.Status.SUCCEEDED, 1, 1)


def test_a_workbook_unpacking_to_too_much_is_refused_before_it_is_parsed():
    strings = (
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        + b"<si><t>aaaaaaaa</t></si>" * 1_500_000
        + b"</sst>"
    )
    content = rezip(xlsx_bytes(SMALL_XLSX_ROWS), shared_strings=lambda d: strings)
    assert len(content) < 200_000
    with pytest.raises(
        ImportFileError,
        match="^the XLSX file's shared strings unpack to 34 MB, more than the 32 MB an import reads: save the sheet as CSV$",
    ):
        open_rows(io.BytesIO(content), mapping={})
    padding = b"<!--" + b" " * 20 * 2**20 + b"-->"
    content = rezip(xlsx_bytes(SMALL_XLSX_ROWS), sheet=lambda d: d + padding)
    with pytest.raises(
        ImportFileError,
        match=r"^the XLSX file unpacks to 20 MB, more than the 16 MB an import reads for a workbook of this size \(50 times it, 1024 MB at most\): save the sheet as CSV$",
    ):
        open_rows(io.BytesIO(content), mapping={})


def test_utf8_truncated_in_a_character(tmp_path):
    job = import_file(tmp_path, "Nom,Tel\r\nJosé,0612345678\r\nRenée".encode()[:-2])
    assert job.status == ImportJob.Status.FAILED
    assert job.error == "the file ends in the middle of a UTF-8 character: it is truncated"
    assert_nothing_written()


# Jobs --------------------------------------------------------------------------------------------


def test_job_is_idempotent_and_audited(tmp_path):
    from contacts.services.imports import run_import

    job = import_file(tmp_path, csv_bytes([HEADER, *ROWS]))
    assert (job.status, job.progress, job.rows_total, job.started_at, job.finished_at) == (
        ImportJob.Status.SUCCEEDED,
        100,
        2,
        NOW,
        NOW,
    )
    again = run_import(job_id=job.pk, now=NOW)
    assert again.counts == job.counts
    assert Prospect.objects.count() == 2
    assert list(
        AuditEntry.objects.filter(target_id=str(job.pk)).order_by("id").values_list("action", "details")
    ) == [
        ("contacts.import.requested", {"file": "prospects.csv", "size": job.file_size, "source": "tests"}),
        ("contacts.import.completed", {"created": 2, "updated": 0, "duplicate": 0, "rejected": 0, "rows": 2}),
    ]


def test_worker_processes_give_the_same_result(tmp_path, monkeypatch):
    from contacts.services import imports

    monkeypatch.setattr(imports, "CHUNK_ROWS", 7)
    rows = [["Nom", "Tel"]] + [[f"N{i}", f"06 12 34 {i // 100:02d} {i % 100:02d}"] for i in range(60)]
    rows += [["Dup", "0612340005"], ["Bad", "0891123456"]]
    job = import_file(tmp_path, csv_bytes(rows), workers=2)
    assert job.counts == {"created": 60, "updated": 0, "duplicate": 1, "rejected": 1}
    assert [o["line"] for o in outcomes(job)] == [str(n) for n in range(2, 64)]


# CLI ---------------------------------------------------------------------------------------------


def test_cli_imports_and_prints_a_summary(tmp_path, capsys):
    path = tmp_path / "p.csv"
    path.write_bytes(csv_bytes([["Achternaam", "Mobiel"], ["de Vries", "06 12345678"], ["X", "0900 1234"]]))
    call_command(
        "import_prospects", str(path), "--source", "event", "--default-country", "NL", "--no-progress"
    )
    out = capsys.readouterr().out
    assert "2 rows: 1 created, 0 updated, 0 duplicate, 1 rejected" in out
    assert "rejected premium_rate: 1" in out
    assert Prospect.objects.get().source == "event"


def test_cli_mapping_and_failure(tmp_path):
    path = tmp_path / "p.csv"
    path.write_bytes(csv_bytes([["Wer", "Nummer"], ["Weber", "0151 23456789"]]))
    with pytest.raises(CommandError, match="failed, nothing written: no phone column"):
        call_command("import_prospects", str(path), "--default-country", "DE", "--no-progress")
    call_command(
        "import_prospects",
        str(path),
        "--default-country",
        "DE",
        "--mapping",
        "Nummer=phone,Wer=last_name",
        "--no-progress",
    )
    assert Prospect.objects.get().last_name == "Weber"
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_prospects", str(tmp_path / "missing.csv"))


def test_copy_text_round_trips_the_fields_of_a_row():
    """A worker formats a row as COPY text; a row that updates a known prospect is read back from
    it. Tabs, newlines, backslashes, accents, tags and the customer flag must all survive."""
    from contacts.services.import_rows import fields_from_copy_text, prospect_copy_text

    fields = {
        "country": "FR",
        "first_name": "Zoé\tA",
        "last_name": "O'Brien\\x",
        "city": "Saint-Denis\nRéunion",
        "email": "z@example.fr",
        "external_ref": "CRM-1\r",
        "is_customer": True,
        "tags": ["salon", "été\\2026"],
    }
    text = prospect_copy_text(fields)
    assert "\n" not in text and "\r" not in text
    assert text.count("\t") == 11
    assert fields_from_copy_text(text) == fields
    assert fields_from_copy_text(prospect_copy_text({"country": "BE"})) == {"country": "BE"}


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_csv_blocks_cut_only_between_records(delimiter):
    """The reading process cuts the body into blocks without parsing it; a worker parses each
    block. Whatever the quoting (embedded delimiters, newlines, doubled quotes, a stray quote in
    an unquoted cell, CRLF), the blocks must give exactly the rows and line numbers of one
    csv.reader over the whole text."""
    import csv
    import io
    import random

    from contacts.services.import_files import _csv_blocks, parse_block

    rng = random.Random(7)
    pieces = [
        "plain",
        "",
        " ",
        '5" screen',
        'a"b',
        "O'Brien",
        "x" + delimiter + "y",
        "two\nlines",
        'say ""hi""',
    ]

    def cell() -> str:
        value = rng.choice(pieces)
        if "\n" in value or delimiter in value or '""' in value or rng.random() < 0.2:
            return '"' + value.replace('""', '"').replace('"', '""') + '"'
        return value

    for _ in range(40):
        records = [
            delimiter.join(cell() for _ in range(rng.randint(1, 4))) for _ in range(rng.randint(1, 30))
        ]
        text = "".join(r + rng.choice(["\r\n", "\n"]) for r in records)
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        expected, last = [], 0
        for row in reader:
            start, last = last + 1, reader.line_num
            if "".join(row).strip():
                expected.append((start, row))
        for size in (1, 2, 5):
            lines = io.StringIO(text, newline="")
            got = [
                row
                for block in _csv_blocks(lines, first_line=1, delimiter=delimiter, records=size)
                for row in parse_block(block)
            ]
            assert got == expected, (text, size)


def test_a_block_truncated_inside_quotes_names_the_line_its_record_starts_on():
    from contacts.services.import_files import CsvBlock, parse_block

    with pytest.raises(ImportFileError, match=r"^line 11: the CSV is malformed or truncated"):
        parse_block(CsvBlock(10, ",", ["a,b\n", 'c,"open\n', "still open"]))


@pytest.mark.broker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_large_import_runs_in_a_real_worker_through_the_broker(tmp_path, celery_worker_process):
    """A file too big to import inside the request goes to Celery: a real worker process takes the
    job from the broker and runs the PostgreSQL path (worker processes of its own, one transaction,
    progress through a second connection) to the end."""
    from celery import current_app

    from contacts.services.imports import INLINE_MAX_BYTES, PARALLEL_MIN_BYTES, create_import_job
    from contacts.tasks.imports import run_prospect_import

    assert current_app.conf.task_always_eager is False
    rows = [["Nom", "Prénom", "Téléphone", "Référence"]]
    rows += [
        [f"Nom{i}", f"Prénom{i}", f"06 12 {i // 10000:02d} {i // 100 % 100:02d} {i % 100:02d}", f"R{i}"]
        for i in range(80_000)
    ]
    rows += [["Double", "", "0612000007", "R-double"], ["Bad", "", "0891123456", "R-bad"]]
    path = tmp_path / "large.csv"
    path.write_bytes(csv_bytes(rows, delimiter=";"))
    assert path.stat().st_size > max(INLINE_MAX_BYTES, PARALLEL_MIN_BYTES)
    job = create_import_job(actor=None, now=NOW, source_path=str(path), source="crm", default_country="FR")

    result = run_prospect_import.delay(job.pk).get(timeout=180)

    assert result == {
        "job": job.pk,
        "status": "succeeded",
        "created": 80_000,
        "updated": 0,
        "duplicate": 1,
        "rejected": 1,
    }
    job.refresh_from_db()
    assert (job.progress, job.rows_total) == (100, 80_002)
    assert Prospect.objects.filter(source="crm").count() == 80_000
    assert PhoneNumber.objects.count() == 80_000


def test_the_collector_setting_of_an_import_is_undone_after_it(tmp_path):
    """Imports raise the young-generation threshold while they run; the web or Celery process that
    ran one gets its own setting back, after a good file and after a bad one."""
    import gc

    before = gc.get_threshold()
    assert import_file(tmp_path, csv_bytes([["Nom", "Tel"], ["A", "0612345678"]])).status == "succeeded"
    assert gc.get_threshold() == before
    assert import_file(tmp_path, b"Nom,Tel\r\n", name="h.csv").status == "failed"
    assert gc.get_threshold() == before


def test_a_database_error_fails_the_job_instead_of_leaving_it_running(tmp_path, monkeypatch):
    """Here the look-up misses a number that exists (as when another session adds it between the
    look-up and the write): the unique constraint refuses the batch, and the job says so."""
    from contacts.services import imports

    PhoneNumberFactory(e164="+33612345678")
    monkeypatch.setattr(imports, "_owners_of_numbers", lambda e164s, *, on_postgres: {})
    job = import_file(tmp_path, csv_bytes([["Nom", "Tel"], ["A", "0612345678"], ["B", "0612345679"]]))
    assert job.status == ImportJob.Status.FAILED
    assert job.error.startswith("the database refused a write (IntegrityError: "), job.error
    assert job.finished_at == NOW
    assert list(PhoneNumber.objects.values_list("e164", flat=True)) == ["+33612345678"]
    assert Prospect.objects.count() == 1
    assert AuditEntry.objects.filter(action="contacts.import.failed", target_id=str(job.pk)).count() == 1


# Look-ups: what the database is asked ---------------------------------------------------------------


def _small_batches(monkeypatch):
    from contacts.services import imports

    monkeypatch.setattr(imports, "WRITE_BATCH_ROWS", 2)
    monkeypatch.setattr(imports, "COPY_BATCH_ROWS", 2)
    monkeypatch.setattr(imports, "CHUNK_ROWS", 1)


REPEATS_ACROSS_BATCHES = [
    ["Ref", "Nom", "Tel", "Ville"],
    ["R1", "A", "0612345671", ""],
    ["R2", "B", "0612345672", ""],
    ["R3", "C", "0612345673", ""],
    ["R1", "A", "0612345674", "Nantes"],  # R1 again, another number: R1's prospect gets it
    ["", "D", "06 12 34 56 72", ""],  # B's number again: a duplicate of line 3
    ["R4", "E", "0612345675", ""],
]


def _assert_repeats_across_batches(job):
    a, b = Prospect.objects.get(external_ref="R1"), Prospect.objects.get(external_ref="R2")
    assert job.counts == {"created": 4, "updated": 1, "duplicate": 1, "rejected": 0}
    assert [(o["line"], o["outcome"], o["prospect_id"]) for o in outcomes(job)] == [
        ("2", "created", str(a.pk)),
        ("3", "created", str(b.pk)),
        ("4", "created", str(Prospect.objects.get(external_ref="R3").pk)),
        ("5", "updated", str(a.pk)),
        ("6", "duplicate", str(b.pk)),
        ("7", "created", str(Prospect.objects.get(external_ref="R4").pk)),
    ]
    assert outcomes(job)[4]["message"] == "same number as line 3"
    assert (a.city, sorted(a.numbers.values_list("e164", flat=True))) == (
        "Nantes",
        ["+33612345671", "+33612345674"],
    )


def test_a_first_import_of_a_source_finds_its_own_repeats_across_batches(tmp_path, monkeypatch):
    """With no number and no reference of the source in the database, PostgreSQL is not asked
    about either; the import's own memory of what it wrote must still find the repeats."""
    _small_batches(monkeypatch)
    job = import_file(tmp_path, csv_bytes(REPEATS_ACROSS_BATCHES), source="web")
    _assert_repeats_across_batches(job)


@pytest.mark.postgres  # SQLite looks every reference up: no hash is involved there
def test_references_whose_hashes_collide_are_told_apart_by_the_database(tmp_path, monkeypatch):
    """The import remembers its references by hash: a twin hash is checked in the database, never
    taken for the same reference."""
    from contacts.services import imports

    _small_batches(monkeypatch)
    monkeypatch.setattr(imports, "hash", lambda value: 42, raising=False)  # every reference collides
    job = import_file(tmp_path, csv_bytes(REPEATS_ACROSS_BATCHES), source="web")
    _assert_repeats_across_batches(job)
    assert Prospect.objects.filter(source="web").count() == 4


def test_repeats_across_batches_beside_known_numbers_and_references(tmp_path, monkeypatch):
    """The same file when the database already holds numbers and references of the source: every
    key is looked up there, with the same outcomes, and the known ones update."""
    _small_batches(monkeypatch)
    known = ProspectFactory(source="web", external_ref="R9", city="")
    PhoneNumberFactory(prospect=known, e164="+33612345679")
    rows = [*REPEATS_ACROSS_BATCHES, ["R9", "Z", "0612345678", "Lyon"], ["", "Y", "06 12 34 56 79", "Metz"]]
    job = import_file(tmp_path, csv_bytes(rows), source="web")
    assert job.counts == {"created": 4, "updated": 3, "duplicate": 1, "rejected": 0}
    assert [o["outcome"] for o in outcomes(job)][-2:] == ["updated", "updated"]
    known.refresh_from_db()
    assert (known.city, sorted(known.numbers.values_list("e164", flat=True))) == (
        "Lyon",
        ["+33612345678", "+33612345679"],
    )


@pytest.mark.parametrize(
    "held",
    [
        "a number of another source",
        "a reference of the source, no number",
        "a known number and a duplicate of it",
    ],
)
def test_repeats_across_batches_whatever_the_database_held(tmp_path, monkeypatch, held):
    """Each mix of what the database held at the start (so each mix of skipped look-ups on
    PostgreSQL) gives the file the same outcomes."""
    _small_batches(monkeypatch)
    rows = list(REPEATS_ACROSS_BATCHES)
    if held == "a number of another source":
        PhoneNumberFactory(prospect=ProspectFactory(source="crm", external_ref="C1"), e164="+33699999999")
    elif held == "a reference of the source, no number":
        ProspectFactory(source="web", external_ref="R9")
    else:
        known = ProspectFactory(source="crm", external_ref="K1")
        PhoneNumberFactory(prospect=known, e164="+33612345679")
        # Line 8 updates the known prospect; line 9, its number again, is a duplicate of line 8.
        rows += [["", "Z", "0612345679", ""], ["R7", "Y", "06.12.34.56.79", ""]]
    job = import_file(tmp_path, csv_bytes(rows), source="web")
    if held == "a known number and a duplicate of it":
        assert [(o["outcome"], o["prospect_id"], o["message"]) for o in outcomes(job)][-2:] == [
            ("updated", str(known.pk), ""),
            ("duplicate", str(known.pk), "same number as line 8"),
        ]
        assert job.counts == {"created": 4, "updated": 2, "duplicate": 2, "rejected": 0}
        return
    _assert_repeats_across_batches(job)


@pytest.mark.postgres
def test_a_first_import_asks_the_database_nothing_about_its_keys(tmp_path, monkeypatch):
    """The point of `note_prior_rows`: with nothing to find, no number is looked up and only the
    references the import itself created (R1, by hash) are."""
    from contacts.services import imports

    _small_batches(monkeypatch)
    asked: list[tuple[str, list]] = []
    numbers_of, refs_of = imports._owners_of_numbers, imports._owners_of_refs

    def spy_numbers(e164s, **kwargs):
        asked.append(("numbers", sorted(e164s)))
        return numbers_of(e164s, **kwargs)

    def spy_refs(source, refs, **kwargs):
        asked.append(("refs", sorted(refs)))
        return refs_of(source, refs, **kwargs)

    monkeypatch.setattr(imports, "_owners_of_numbers", spy_numbers)
    monkeypatch.setattr(imports, "_owners_of_refs", spy_refs)
    job = import_file(tmp_path, csv_bytes(REPEATS_ACROSS_BATCHES), source="web")
    _assert_repeats_across_batches(job)
    assert [a for a in asked if a[1]] == [("refs", ["R1"])]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_reference_added_elsewhere_during_the_import_is_still_updated(tmp_path, monkeypatch):
    """A prospect committed by another session (the admin's add form) after the import began,
    with a reference a later row of the file holds: the skipped look-up cannot see it, the COPY
    fails on the unique index, and the import runs again with every look-up, as if none had
    been skipped."""
    from django.db import connections

    from contacts.services import imports

    _small_batches(monkeypatch)
    write_batch = imports._write_batch
    done: list[int] = []

    def then_the_admin_adds_r2(writer, batch):
        counts = write_batch(writer, batch)
        if not done:
            other = connections.create_connection("default")
            try:
                with other.cursor() as cursor:  # autocommit: committed at once
                    cursor.execute(
                        "INSERT INTO contacts_prospect (first_name, last_name, language, country, postcode, "
                        "city, region, email, source, external_ref, is_customer, contract_ref, tags, "
                        "created_at, updated_at) VALUES ('', 'Admin', 'fr', 'FR', '', '', '', '', 'web', "
                        "'R2', false, '', '[]', now(), now())"
                    )
            finally:
                other.close()
        done.append(len(batch))
        return counts

    monkeypatch.setattr(imports, "_write_batch", then_the_admin_adds_r2)
    rows = [
        ["Ref", "Nom", "Tel"],
        ["R1", "A", "0612345671"],
        ["R5", "E", "0612345675"],
        ["R2", "B", "0612345672"],
    ]
    job = import_file(tmp_path, csv_bytes(rows), source="web")
    assert (job.status, job.error, job.counts) == (
        ImportJob.Status.SUCCEEDED,
        "",
        {"created": 2, "updated": 1, "duplicate": 0, "rejected": 0},
    )
    admin = Prospect.objects.get(last_name="Admin")
    assert outcomes(job)[-1]["prospect_id"] == str(admin.pk)
    assert list(admin.numbers.values_list("e164", flat=True)) == ["+33612345672"]
    assert Prospect.objects.count() == 3
    assert sum(done) > len(rows) - 1  # the first run's batches, then the whole file again


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_import_notes_what_the_database_held_before_it(tmp_path):
    from django.db import transaction

    from contacts.services.imports import _Writer

    def prior(source):
        job = ImportJob.objects.create(created_at=NOW, original_name="p.csv", source=source)
        with _Writer(job, [], now=NOW, on_postgres=True) as writer, transaction.atomic():
            writer.note_prior_rows()
            return writer.prior_numbers, writer.prior_refs

    assert prior("web") == (False, False)
    ProspectFactory(source="web", external_ref="")
    assert prior("web") == (False, False)  # a prospect without a reference is never looked up by one
    ProspectFactory(source="web", external_ref="R1")
    assert (prior("web"), prior("crm")) == ((False, True), (False, False))
    PhoneNumberFactory()
    assert prior("crm") == (True, False)
