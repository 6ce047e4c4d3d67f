"""Phase 1 of an import, one row at a time: cells → prospect fields + a normalised number, or a reason.

Pure and picklable (no database): `validate_chunk` runs in worker processes on big files.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

from contacts.services.import_files import CsvBlock, parse_block
from contacts.services.phones import NumberRejection, derive_region, normalise_number

# Country names as they appear in files, in the 7 languages, normalised like headers.
COUNTRY_NAMES = {
    "france": "FR", "frankreich": "FR", "francia": "FR", "frankrijk": "FR", "franca": "FR",
    "belgique": "BE", "belgium": "BE", "belgie": "BE", "belgien": "BE", "belgio": "BE", "belgica": "BE",
    "nederland": "NL", "netherlands": "NL", "pays bas": "NL", "niederlande": "NL", "paesi bassi": "NL",
    "paises bajos": "NL", "holanda": "NL", "paises baixos": "NL", "the netherlands": "NL",
    "deutschland": "DE", "germany": "DE", "allemagne": "DE", "duitsland": "DE", "germania": "DE",
    "alemania": "DE", "alemanha": "DE",
    "italia": "IT", "italy": "IT", "italie": "IT", "italien": "IT", "italie ": "IT",
    "espana": "ES", "spain": "ES", "espagne": "ES", "spanje": "ES", "spanien": "ES", "spagna": "ES",
    "espanha": "ES",
    "portugal": "PT", "portogallo": "PT",
}  # fmt: skip
LANGUAGE_NAMES = {
    "francais": "fr", "french": "fr", "frans": "fr", "franzosisch": "fr",
    "nederlands": "nl", "dutch": "nl", "neerlandais": "nl", "vlaams": "nl",
    "deutsch": "de", "german": "de", "allemand": "de", "duits": "de",
    "italiano": "it", "italian": "it", "italien": "it",
    "espanol": "es", "spanish": "es", "espagnol": "es", "castellano": "es",
    "portugues": "pt", "portuguese": "pt", "portugais": "pt",
    "english": "en", "anglais": "en",
}  # fmt: skip
# The language a prospect of a country speaks when the file does not say (BE and other
# multilingual countries stay blank: guessing French for Flanders would be worse than nothing).
DEFAULT_LANGUAGE = {"FR": "fr", "NL": "nl", "DE": "de", "IT": "it", "ES": "es", "PT": "pt"}
# Overseas departments have numbering regions of their own but are France for the law.
COUNTRY_OF_REGION = {
    "RE": "FR",
    "GP": "FR",
    "MQ": "FR",
    "GF": "FR",
    "YT": "FR",
    "PM": "FR",
    "BL": "FR",
    "MF": "FR",
}
TRUE_WORDS = frozenset(
    {"1", "y", "yes", "true", "x", "oui", "vrai", "ja", "waar", "si", "sì", "sí", "vero", "sim", "verdadeiro"}
)
MAX_LENGTHS = {
    "first_name": 100,
    "last_name": 100,
    "language": 8,
    "postcode": 20,
    "city": 100,
    "region": 20,
    "email": 254,
    "external_ref": 100,
    "contract_ref": 100,
}
# Fields taken as they are (after strip and the length check): most cells of a row.
_PLAIN_FIELDS = frozenset(
    {"first_name", "last_name", "postcode", "city", "region", "external_ref", "contract_ref"}
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")

# Row outcome codes and the rejection reasons that are not about the number.
CREATED, UPDATED, DUPLICATE, REJECTED = "created", "updated", "duplicate", "rejected"
ROW_REJECTION_REASONS = ("invalid_email", "invalid_country", "field_too_long")


# A valid row crosses back from a worker as a plain tuple, which unpickles in C (a NamedTuple
# calls back into Python for each of a million rows: 10 µs a row in the writing process, measured):
#   (line, e164, external_ref, prospect, number)
# where on PostgreSQL `prospect` and `number` are the row's COPY text (PROSPECT_COPY_FIELDS,
# NUMBER_COPY_FIELDS), formatted by the worker so that the single writing process only prepends
# ids; elsewhere `prospect` is the fields dict and `number` a NUMBER_TUPLE.
ValidRow = tuple
# (raw, region, number_type, time_zone, time_zone_candidates)
NUMBER_TUPLE = ("raw", "region", "number_type", "time_zone", "time_zone_candidates")


class RejectedRow(NamedTuple):
    line: int
    cells: list
    reason: str
    message: str


# COPY text columns a worker formats, in order; the writer adds the id before them and the job's
# constants (source, times) and the model defaults after them.
PROSPECT_COPY_FIELDS = (
    "first_name", "last_name", "language", "country", "postcode", "city", "region", "email",
    "external_ref", "is_customer", "contract_ref", "tags",
)  # fmt: skip
NUMBER_COPY_FIELDS = (
    "raw", "e164", "region", "number_type", "is_valid", "time_zone", "time_zone_candidates",
)  # fmt: skip
# COPY's text format: backslash escapes for the four characters that would end a field or a row.
_NEEDS_ESCAPE = re.compile(r"[\\\n\r]")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})

_config: dict = {}


def configure(columns: dict[int, str], default_country: str, copy_text: bool = False) -> None:
    """Set the column mapping once per process (a pool initializer), not once per chunk."""
    _config["columns"] = columns
    _config["default_country"] = (default_country or "").upper()
    _config["copy_text"] = copy_text


def prospect_copy_text(fields: dict) -> str:
    """`fields` as COPY text in PROSPECT_COPY_FIELDS order (no id, no job constants)."""
    get = fields.get
    tags = fields.get("tags")
    values = (
        get("first_name", ""),
        get("last_name", ""),
        get("language", ""),
        fields["country"],
        get("postcode", ""),
        get("city", ""),
        get("region", ""),
        get("email", ""),
        get("external_ref", ""),
        "t" if get("is_customer") else "f",
        get("contract_ref", ""),
        json.dumps(tags) if tags else "[]",
    )
    text = "\t".join(values)
    if text.count("\t") == len(values) - 1 and not _NEEDS_ESCAPE.search(text):
        return text  # nearly every row: one check instead of twelve escapes
    # Each value escaped on its own: the tabs that join them are the separators.
    return "\t".join(v.translate(_COPY_ESCAPES) for v in values)


_COPY_UNESCAPE = re.compile(r"\\(.)")
_UNESCAPED = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}


def fields_from_copy_text(text: str) -> dict:
    """The fields dict `prospect_copy_text` was made from (non-empty values only), for the rare row
    that updates a known prospect instead of creating one."""
    values = [
        _COPY_UNESCAPE.sub(lambda m: _UNESCAPED[m.group(1)], v) if "\\" in v else v for v in text.split("\t")
    ]
    fields: dict = {}
    for name, value in zip(PROSPECT_COPY_FIELDS, values, strict=True):
        if name == "is_customer":
            if value == "t":
                fields[name] = True
        elif name == "tags":
            tags = json.loads(value)
            if tags:
                fields[name] = tags
        elif value or name == "country":
            fields[name] = value
    return fields


def number_copy_text(raw: str, number) -> str:
    """A normalised number as COPY text in NUMBER_COPY_FIELDS order (no prospect id, no time)."""
    return "\t".join(
        (
            raw.translate(_COPY_ESCAPES),
            number.e164,
            number.region,
            number.number_type,
            "t",
            number.time_zone,
            _zones_json(number.time_zone_candidates),
        )
    )


@lru_cache(maxsize=256)  # a handful of distinct zone lists in a whole file
def _zones_json(zones: tuple[str, ...]) -> str:
    return json.dumps(list(zones)).translate(_COPY_ESCAPES)


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return " ".join(_NON_ALNUM.sub(" ", text).split())


@lru_cache(maxsize=4096)  # a file spells its countries a handful of ways, a million times
def _country(value: str) -> str | None:
    value = value.strip()
    if not value:
        return ""
    if len(value) == 2 and value.isalpha():
        return value.upper()
    return COUNTRY_NAMES.get(_norm(value))


@lru_cache(maxsize=1024)
def _language(value: str) -> str:
    return value.lower() if len(value) == 2 else LANGUAGE_NAMES.get(_norm(value), "")


@lru_cache(maxsize=1024)
def _is_true(value: str) -> bool:
    return value.lower() in TRUE_WORDS or _norm(value) in TRUE_WORDS


def validate_row(
    line: int, cells: list, columns: dict[int, str], default_country: str, copy_text: bool = False
) -> tuple | RejectedRow:
    """A valid row as the tuple described at ValidRow, or a RejectedRow.

    A row is refused for the first reason in this order: its country, its number, then the first
    cell in column order that is too long or not an e-mail address."""
    # One pass over the cells: plain fields go straight to `fields` (a million rows: a second dict
    # and a second loop were a fifth of this function's time). A cell's own error is kept, not
    # returned, until the number has had its say.
    fields: dict = {}
    special: dict[str, str] = {}
    error: tuple[str, str] | None = None
    width = len(cells)
    for index, field in columns.items():
        if index < width:
            cell = cells[index]
            if cell:
                cell = cell.strip()
                if cell:
                    limit = MAX_LENGTHS.get(field)
                    if limit is not None and len(cell) > limit:
                        if error is None:
                            error = ("field_too_long", f"{field} is longer than {limit} characters")
                        continue
                    if field in _PLAIN_FIELDS:
                        fields[field] = cell
                    elif field == "email" and not _EMAIL.match(cell):
                        if error is None:
                            error = ("invalid_email", f"{cell!r} is not an e-mail address")
                    else:
                        special[field] = cell
    raw = special.pop("phone", "")
    country = _country(special.pop("country", ""))
    if country is None:
        return RejectedRow(line, cells, "invalid_country", "country is not a known country name or ISO code")
    country = country or default_country
    postcode = fields.get("postcode", "")
    number = normalise_number(
        raw,
        default_region=country or None,
        postcode=postcode,
        region=fields.get("region", ""),
        country=country,
    )
    if isinstance(number, NumberRejection):
        return RejectedRow(line, cells, number.reason, number.message)
    if error is not None:
        return RejectedRow(line, cells, *error)
    if not country:
        country = COUNTRY_OF_REGION.get(number.region, number.region)
    fields["country"] = country
    for field, value in special.items():
        if field == "email":
            fields["email"] = value.lower()
        elif field == "language":
            code = _language(value)
            if code:
                fields["language"] = code
        elif field == "is_customer":
            if _is_true(value):
                fields["is_customer"] = True
        elif field == "tags":
            tags = [t.strip() for t in re.split(r"[,;|]", value) if t.strip()]
            if tags:
                fields["tags"] = tags
        else:
            fields[field] = value
    if "language" not in fields and country in DEFAULT_LANGUAGE:
        fields["language"] = DEFAULT_LANGUAGE[country]
    if "region" not in fields:
        derived = derive_region(country, postcode)
        if derived:
            fields["region"] = derived
    raw = raw[:64]
    ref = fields.get("external_ref", "")
    if copy_text:
        return (line, number.e164, ref, prospect_copy_text(fields), number_copy_text(raw, number))
    return (
        line,
        number.e164,
        ref,
        fields,
        (raw, number.region, number.number_type, number.time_zone, number.time_zone_candidates),
    )


def validate_chunk(chunk: list[tuple[int, list]] | CsvBlock) -> list[tuple | RejectedRow]:
    if type(chunk) is CsvBlock:
        chunk = parse_block(chunk)
    columns, default_country = _config["columns"], _config["default_country"]
    copy_text = _config.get("copy_text", False)
    return [validate_row(line, cells, columns, default_country, copy_text) for line, cells in chunk]
