"""Phase 1 of an import, one row at a time: cells → prospect fields + a normalised number, or a reason.

Pure and picklable (no database): `validate_chunk` runs in worker processes on big files.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

from contacts.models import Prospect
from contacts.services.import_files import UNSTORABLE, CsvBlock, parse_block
from contacts.services.phones import COUNTRY_CODES, NumberRejection, derive_region, normalise_number

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
# Codes ISO 3166 reserves for these countries, which the EU and British files use.
_COUNTRY_ALIASES = {"UK": "GB", "EL": "GR"}
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
# ISO 639-1 (2002, as maintained by the Library of Congress): the codes a language cell may hold.
LANGUAGE_CODES = frozenset(
    "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da "
    "de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz "
    "ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln "
    "lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi "
    "pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti "
    "tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu".split()
)
# The columns' own limits, so that a value PostgreSQL would refuse (failing the whole import's
# transaction) is one rejected row instead. Checked on the value as stored: `.lower()` lengthens
# some letters ("İ" becomes two characters).
MAX_LENGTHS = {
    field: Prospect._meta.get_field(field).max_length
    for field in (
        "first_name",
        "last_name",
        "postcode",
        "city",
        "region",
        "email",
        "external_ref",
        "contract_ref",
    )
}
# Fields taken as they are (after strip and the length check): most cells of a row.
_PLAIN_FIELDS = frozenset(
    {"first_name", "last_name", "postcode", "city", "region", "external_ref", "contract_ref"}
)
# Longer country, language or yes/no cells are no word of ours: they are not looked up, so that the
# lookups' caches never keep a megabyte cell.
_MAX_WORD = 64
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")

# Row outcome codes and the rejection reasons that are not about the number.
CREATED, UPDATED, DUPLICATE, REJECTED = "created", "updated", "duplicate", "rejected"
ROW_REJECTION_REASONS = (
    "invalid_email",
    "invalid_country",
    "field_too_long",
    "too_many_cells",
    "control_character",
    "not_utf8",
)


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


def configure(columns: dict[int, str], default_country: str, copy_text: bool = False, width: int = 0) -> None:
    """Set the column mapping once per process (a pool initializer), not once per chunk. `width`:
    the CSV header's, beyond which a row may hold no value (0: not checked)."""
    _config["columns"] = columns
    _config["default_country"] = (default_country or "").upper()
    _config["copy_text"] = copy_text
    _config["width"] = width


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
    if len(value) == 2 and value.isascii():
        # isascii: "ßß".upper() is "SSSS", and "ÉÉ" passes isalpha().
        code = value.upper()
        code = _COUNTRY_ALIASES.get(code, code)
        return code if code in COUNTRY_CODES else None
    return COUNTRY_NAMES.get(_norm(value))


_LANGUAGE_TAG = re.compile(r"([a-z]{2})(?:[-_][a-z]{2})?", re.ASCII)


@lru_cache(maxsize=1024)
def _language(value: str) -> str | None:
    """An ISO 639-1 code ("fr"; "fr-BE" and "fr_BE" give "fr"), a language's name in one of our
    languages, or None."""
    tag = _LANGUAGE_TAG.fullmatch(value.lower()) if value.isascii() else None
    if tag is not None and tag.group(1) in LANGUAGE_CODES:
        return tag.group(1)
    return LANGUAGE_NAMES.get(_norm(value))


@lru_cache(maxsize=1024)
def _is_true(value: str) -> bool:
    return value.lower() in TRUE_WORDS or _norm(value) in TRUE_WORDS


def validate_row(
    line: int,
    cells: list,
    columns: dict[int, str],
    default_country: str,
    copy_text: bool = False,
    width: int = 0,
) -> tuple | RejectedRow:
    """A valid row as the tuple described at ValidRow, or a RejectedRow.

    A row is refused for the first reason in this order: values beyond the header's `width` (its
    cells are then all shifted), its country, its number, then the first cell in column order that
    is too long, not an e-mail address or not a language."""
    if width and len(cells) > width and "".join(cells[width:]).strip():
        return RejectedRow(
            line,
            cells,
            "too_many_cells",
            f"the row has {len(cells)} cells and the header {width}: "
            "is a cell holding the delimiter not quoted?",
        )
    # One pass over the cells: plain fields go straight to `fields` (a million rows: a second dict
    # and a second loop were a fifth of this function's time). A cell's own error is kept, not
    # returned, until the number has had its say.
    fields: dict = {}
    special: dict[str, str] = {}
    error: tuple[str, str] | None = None
    count = len(cells)
    for index, field in columns.items():
        if index < count:
            cell = cells[index]
            if cell:
                cell = cell.strip()
                if cell:
                    if field == "email":
                        cell = cell.lower()
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
    country = special.pop("country", "")
    country = _country(country) if len(country) <= _MAX_WORD else None
    if country is None:
        return RejectedRow(
            line, cells, "invalid_country", "country is not a known country name or ISO 3166-1 code"
        )
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
        if field == "language":
            # A language we cannot read ("fra", "Polski", "!!") is not a reason to lose the number:
            # the row is kept with the country's language, as before (never the cell as written).
            code = _language(value) if len(value) <= _MAX_WORD else None
            if code:
                fields["language"] = code
        elif field == "is_customer":
            if len(value) <= _MAX_WORD and _is_true(value):
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


def _unstorable(line: int, cells: list, columns: dict[int, str]) -> RejectedRow | None:
    """The row refused for the first mapped cell holding a control character or bytes that are
    not UTF-8, naming the column; None when every mapped cell is clean."""
    width = len(cells)
    for index, field in columns.items():
        if index < width and (found := UNSTORABLE.search(cells[index])):
            char = found.group()
            if "\ud800" <= char <= "\udfff":
                return RejectedRow(
                    line,
                    cells,
                    "not_utf8",
                    f"column {index + 1} ({field}) holds bytes that are not UTF-8, unlike the rest "
                    "of the file: this line was saved in another encoding",
                )
            return RejectedRow(
                line,
                cells,
                "control_character",
                f"column {index + 1} ({field}) holds the control character U+{ord(char):04X}",
            )
    return None


def _reportable(row: RejectedRow) -> RejectedRow:
    """Its cells with what the report's UTF-8 cannot encode (a lone surrogate), or a spreadsheet
    may choke on (NUL), shown as U+FFFD."""
    return row._replace(cells=[UNSTORABLE.sub("\ufffd", c) if type(c) is str else c for c in row.cells])


def validate_chunk(chunk: list[tuple[int, list]] | CsvBlock) -> list[tuple | RejectedRow]:
    columns, default_country = _config["columns"], _config["default_country"]
    copy_text, width = _config.get("copy_text", False), _config.get("width", 0)
    # One search over the whole chunk: nearly every chunk is clean, and a search per cell would
    # cost each of a million rows a dozen calls.
    if type(chunk) is CsvBlock:
        dirty = UNSTORABLE.search("".join(chunk.lines)) is not None
        chunk = parse_block(chunk)
    else:
        dirty = UNSTORABLE.search("".join(["".join(cells) for _, cells in chunk])) is not None
    if not dirty:
        return [
            validate_row(line, cells, columns, default_country, copy_text, width) for line, cells in chunk
        ]
    results: list[tuple | RejectedRow] = []
    for line, cells in chunk:
        result = _unstorable(line, cells, columns) or validate_row(
            line, cells, columns, default_country, copy_text, width
        )
        results.append(_reportable(result) if type(result) is RejectedRow else result)
    return results
