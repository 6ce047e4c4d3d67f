"""Reading prospect files: format, encoding and delimiter detection, header mapping, streamed rows.

Every problem that makes a whole file unreadable raises `ImportFileError` with a message a manager
can act on; the import reads the whole file (phase 1) before writing anything, so such a file writes
nothing. Rows are yielded one at a time: a file is never loaded whole into memory.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

csv.field_size_limit(1 << 20)  # one cell of a prospect file is never legitimately above 1 MiB

SAMPLE_BYTES = 64 * 1024
XLSX_MAGIC = b"PK\x03\x04"
# Formats people upload by mistake, named so the error says what to do instead.
BINARY_SIGNATURES = {
    b"\xd0\xcf\x11\xe0": "an old Excel 97–2003 (.xls) workbook: save it as .xlsx or CSV",
    b"%PDF": "a PDF document",
    b"\x1f\x8b": "a gzip archive",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
}
# C0 controls but tab, CR and LF, and DEL: PostgreSQL refuses NUL outright, and the others are
# binary debris no name holds. Lone surrogates stand for the bytes of a line that is not UTF-8 in a
# file that otherwise is (read with surrogateescape, see _detect_encoding). Refused in a header
# here, in a row's mapped cells by import_rows.
UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
# Windows-1252 leaves these bytes undefined: a file holding them is Latin-1 (ISO 8859-1).
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")

FIELDS = (
    "phone",
    "first_name",
    "last_name",
    "email",
    "language",
    "country",
    "postcode",
    "city",
    "region",
    "external_ref",
    "is_customer",
    "contract_ref",
    "tags",
)

# Header names in the languages of our 7 countries (en, fr, nl, de, it, es, pt), compared after
# lower-casing and stripping accents, punctuation and spaces (see `normalise_header`).
HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "phone": (
        "phone", "phone number", "phonenumber", "telephone", "tel", "mobile", "mobile phone", "cell",
        "cellphone", "msisdn", "numero", "numero de telephone", "portable", "tel portable", "gsm",
        "telefoon", "telefoonnummer", "mobiel", "mobiel nummer", "telefon", "telefonnummer", "handy",
        "handynummer", "mobilnummer", "rufnummer", "telefono", "numero di telefono", "cellulare",
        "numero de telefono", "movil", "celular", "telefone", "telemovel", "numero de telemovel",
    ),
    "first_name": (
        "first name", "firstname", "given name", "forename", "prenom", "voornaam", "vorname", "nome",
        "nombre", "primeiro nome",
    ),
    "last_name": (
        "last name", "lastname", "surname", "family name", "name", "nom", "nom de famille", "achternaam",
        "familienaam", "naam", "nachname", "familienname", "cognome", "apellido", "apellidos", "apelido",
        "sobrenome", "ultimo nome",
    ),
    "email": (
        "email", "e mail", "mail", "email address", "courriel", "adresse email", "adresse mail",
        "e mailadres", "emailadres", "e mail adresse", "emailadresse", "posta elettronica",
        "indirizzo email", "correo", "correo electronico", "endereco de email", "endereco de e mail",
    ),
    "language": ("language", "lang", "langue", "taal", "sprache", "lingua", "idioma", "lingua"),
    "country": ("country", "country code", "pays", "land", "landcode", "staat", "paese", "nazione", "pais"),
    "postcode": (
        "postcode", "post code", "postal code", "zip", "zip code", "zipcode", "code postal", "cp",
        "postleitzahl", "plz", "cap", "codice postale", "codigo postal", "cod postal",
    ),
    "city": (
        "city", "town", "ville", "commune", "localite", "plaats", "woonplaats", "gemeente", "stad",
        "stadt", "ort", "wohnort", "citta", "comune", "localita", "ciudad", "localidad", "municipio",
        "poblacion", "cidade", "localidade", "concelho",
    ),
    "region": (
        "region", "subdivision", "state", "provincie", "bundesland", "regione", "provincia",
        "comunidad", "comunidad autonoma", "distrito", "regiao",
    ),
    "external_ref": (
        "external ref", "external reference", "reference", "ref", "id", "customer id", "client id",
        "crm id", "reference client", "numero client", "referentie", "klantnummer", "kundennummer",
        "referenz", "riferimento", "codice cliente", "referencia", "id cliente", "numero de cliente",
    ),
    "is_customer": ("is customer", "customer", "client", "klant", "kunde", "cliente", "est client"),
    "contract_ref": (
        "contract", "contract ref", "contract number", "contrat", "numero de contrat", "contractnummer",
        "vertrag", "vertragsnummer", "contratto", "numero contratto", "contrato", "numero de contrato",
    ),
    "tags": ("tags", "tag", "labels", "etiquettes", "etiketten", "schlagworte", "etichette", "etiquetas"),
}  # fmt: skip


class ImportFileError(Exception):
    """The file as a whole cannot be imported; nothing is written."""


def normalise_header(name: object) -> str:
    text = unicodedata.normalize("NFKD", str(name or "")).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


_SYNONYM_INDEX = {normalise_header(s): field for field, names in HEADER_SYNONYMS.items() for s in names}


def is_phone_header(name: object) -> bool:
    """Whether a column named so holds phone numbers ("Mobile", "Téléphone", "GSM"…)."""
    return _SYNONYM_INDEX.get(normalise_header(name)) == "phone"


def parse_mapping(text: str | dict | None) -> dict[str, str]:
    """`"Tel. portable=phone,Nom=last_name"` (CLI) or a dict (API) → {column header: field}."""
    if not text:
        return {}
    if isinstance(text, dict):
        items = list(text.items())
    else:
        items = []
        for part in str(text).split(","):
            if not part.strip():
                continue
            if "=" not in part:
                raise ImportFileError(f"mapping entry {part.strip()!r} is not COLUMN=FIELD")
            column, field = part.rsplit("=", 1)
            items.append((column, field))
    mapping = {}
    for column, field in items:
        field = str(field).strip()
        if field not in FIELDS:
            raise ImportFileError(
                f"mapping names unknown field {field!r} for column {str(column).strip()!r}; "
                f"fields are {', '.join(FIELDS)}"
            )
        mapping[str(column).strip()] = field
    return mapping


def map_columns(header: list[str], mapping: dict[str, str]) -> dict[int, str]:
    """Column index → field. Explicit entries win; other columns are recognised by their name.

    When several columns mean the same field (two phone columns) the first one is used.
    """
    by_name = {normalise_header(h): i for i, h in reversed(list(enumerate(header)))}
    columns: dict[int, str] = {}
    taken: set[str] = set()
    for column, field in mapping.items():
        index = by_name.get(normalise_header(column))
        if index is None:
            raise ImportFileError(
                f"the mapping names column {column!r}, which is not in the header "
                f"({', '.join(repr(h) for h in header)})"
            )
        if field in taken:
            raise ImportFileError(f"the mapping names the field {field!r} for two columns; keep one")
        columns[index] = field
        taken.add(field)
    for index, name in enumerate(header):
        if index in columns:
            continue
        field = _SYNONYM_INDEX.get(normalise_header(name))
        if field and field not in taken:
            columns[index] = field
            taken.add(field)
    if "phone" not in taken:
        raise ImportFileError(
            "no phone column: none of the headers "
            f"({', '.join(repr(h) for h in header)}) is a phone number; "
            "name one in the mapping, e.g. 'Mobile=phone'"
        )
    return dict(sorted(columns.items()))


@dataclass
class OpenedFile:
    kind: str  # "csv" or "xlsx"
    encoding: str = ""
    delimiter: str = ""
    header: list[str] | None = None
    columns: dict[int, str] | None = None


def _detect_encoding(stream: BinaryIO, sample: bytes) -> tuple[str, str]:
    """(encoding, decoding errors handler) of the whole file."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", "strict"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", "strict"
    # A binary file (or UTF-16 without its BOM) has NULs from its first line on, and many of them;
    # a text file with a stray NUL has one or two, and that row alone is refused (import_rows).
    if b"\x00" in sample.split(b"\n", 1)[0] or sample.count(b"\x00") * 100 >= len(sample):
        raise ImportFileError("the file is binary (it contains NUL bytes), not a CSV or XLSX file")
    # The whole file must decode, not just its start: a file that turns to Latin-1 on line 90 000
    # would otherwise fail half-way. One streamed pass over the bytes, no rows kept.
    decoder = codecs.getincrementaldecoder("utf-8")()
    stream.seek(0)
    try:
        while chunk := stream.read(1 << 20):
            decoder.decode(chunk)
    except UnicodeDecodeError:
        pass
    else:
        try:
            decoder.decode(b"", final=True)
            return "utf-8", "strict"
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                "the file ends in the middle of a UTF-8 character: it is truncated"
            ) from exc
    return _encoding_of_non_utf8(stream)


_ESCAPED_RUN = re.compile("[\udc80-\udcff]+")
_NON_ASCII_RUN = re.compile("[^\x00-\x7f\udc80-\udcff]+")


def _encoding_of_non_utf8(stream: BinaryIO) -> tuple[str, str]:
    """A file that is not all UTF-8 is UTF-8 with a few bad lines when its valid UTF-8 characters
    outnumber its invalid sequences: read as Windows-1252 it would turn every accent of the file
    into two letters (Zoé → ZoÃ©) for one pasted line. The bad lines then hold lone surrogates
    (surrogateescape), which import_rows refuses naming the line and column. A Windows-1252 or
    Latin-1 file has no valid multi-byte UTF-8 sequences to speak of ("Ã©" is itself mojibake)."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
    valid = invalid = 0
    undefined_in_cp1252 = False
    stream.seek(0)
    while chunk := stream.read(1 << 20):
        text = decoder.decode(chunk)
        invalid += len(_ESCAPED_RUN.findall(text))
        valid += len(_NON_ASCII_RUN.findall(text))
        undefined_in_cp1252 = undefined_in_cp1252 or _CP1252_UNDEFINED.search(chunk) is not None
    if valid > invalid:
        return "utf-8", "surrogateescape"
    return ("latin-1" if undefined_in_cp1252 else "cp1252"), "strict"


def _detect_delimiter(text_sample: str) -> str:
    lines = [line for line in text_sample.splitlines()[:50] if line.strip()]
    if not lines:
        return ","
    best, best_score = ",", (0, 0)
    for delimiter in (",", ";", "\t", "|"):
        try:
            widths = [len(row) for row in csv.reader(lines[:20], delimiter=delimiter)]
        except csv.Error:
            continue
        header_width = widths[0]
        if header_width < 2:
            continue
        consistent = sum(1 for w in widths if w == header_width)
        score = (consistent, header_width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


@dataclass(frozen=True, slots=True)
class CsvBlock:
    """The physical lines of consecutive whole CSV records, not yet split into cells: a worker
    process parses them (`parse_block`), so the reading process only finds where records end."""

    first_line: int
    delimiter: str
    lines: list[str]


def parse_block(block: CsvBlock) -> list[tuple[int, list[str]]]:
    """(line number, cells) of each non-blank record of a block, numbered as in the file."""
    reader = csv.reader(block.lines, delimiter=block.delimiter, strict=True)
    rows: list[tuple[int, list[str]]] = []
    base = block.first_line - 1
    last = 0
    try:
        for row in reader:
            start, last = last + 1, reader.line_num
            if "".join(row).strip():
                rows.append((base + start, row))
    except csv.Error as exc:
        raise ImportFileError(
            f"line {base + last + 1}: the CSV is malformed or truncated ({exc}); nothing was imported"
        ) from None
    return rows


def _still_quoted(line: str, quoted: bool, delimiter: str) -> bool:
    """Whether a quoted field is still open at the end of `line`, given whether one was open at
    its start: the csv module's rule (a quote opens a field only as its first character, "" inside
    is a literal quote), so a stray quote in an unquoted cell (5" screen) moves no boundary."""
    i, n = 0, len(line)
    field_start = not quoted
    while i < n:
        if quoted:
            j = line.find('"', i)
            if j < 0:
                return True
            if j + 1 < n and line[j + 1] == '"':
                i = j + 2
                continue
            quoted, i, field_start = False, j + 1, False
            continue
        if field_start and line[i] == '"':
            quoted, i = True, i + 1
            continue
        j = line.find(delimiter, i)
        if j < 0:
            return False
        i, field_start = j + 1, True
    return quoted


def _csv_blocks(lines: Iterator[str], *, first_line: int, delimiter: str, records: int) -> Iterator[CsvBlock]:
    """Cut a stream of physical lines into blocks of `records` whole records. Only lines with a
    quote need looking at; a file truncated inside quotes ends with a block csv.reader refuses."""
    block: list[str] = []
    start = line_no = first_line
    count = 0
    quoted = False
    for line in lines:
        block.append(line)
        if quoted or '"' in line:
            quoted = _still_quoted(line, quoted, delimiter)
        if not quoted:
            count += 1
            if count >= records:
                yield CsvBlock(start, delimiter, block)
                block, count, start = [], 0, line_no + 1
        line_no += 1
    if block:
        yield CsvBlock(start, delimiter, block)


def open_rows(
    stream: BinaryIO, *, mapping: dict[str, str], blocks: int = 0
) -> tuple[OpenedFile, Iterator[tuple[int, list[str]]]]:
    """Detect the format and map the header; return the description and an iterator of
    (line number, cells) for the data rows. `stream` must be seekable binary.

    With `blocks`, the iterator yields chunks instead: lists of (line number, cells), or for the
    body of a CSV file `CsvBlock`s of that many records, for worker processes to parse."""
    stream.seek(0)
    sample = stream.read(SAMPLE_BYTES)
    if not sample.strip(b" \t\r\n\xef\xbb\xbf"):
        raise ImportFileError("the file is empty")
    if sample.startswith(XLSX_MAGIC):
        opened, rows = _open_xlsx(stream, mapping)
        return opened, (_chunked(rows, blocks) if blocks else rows)
    for magic, what in BINARY_SIGNATURES.items():
        if sample.startswith(magic):
            raise ImportFileError(f"the file is {what}, not a CSV or XLSX file")
    encoding, errors = _detect_encoding(stream, sample)
    text_sample = sample.decode(encoding, errors="ignore")
    delimiter = _detect_delimiter(text_sample.lstrip("\ufeff"))
    stream.seek(0)
    text = io.TextIOWrapper(stream, encoding=encoding, errors=errors, newline="")
    reader = csv.reader(text, delimiter=delimiter, strict=True)
    opened = OpenedFile(kind="csv", encoding=encoding, delimiter=delimiter)

    def records() -> Iterator[tuple[int, list[str]]]:
        last = 0
        try:
            for row in reader:
                start, last = last + 1, reader.line_num
                yield start, row
        except csv.Error as exc:
            raise ImportFileError(
                f"line {last + 1}: the CSV is malformed or truncated ({exc}); nothing was imported"
            ) from exc
        except UnicodeDecodeError as exc:
            raise ImportFileError(f"line {last + 1}: the text is not {encoding}") from exc
        finally:
            # The wrapper would close the caller's stream when collected; the caller owns it.
            with contextlib.suppress(ValueError):  # already closed by the caller
                text.detach()

    opened, rows = _with_header(opened, records(), mapping)
    if not blocks:
        return opened, rows
    first = next(rows)  # the reader has now consumed exactly the header and this row's lines

    def chunks() -> Iterator:
        body_line = reader.line_num + 1
        try:
            yield [first]
            # The rest of the body, cut into blocks on the same text stream.
            yield from _csv_blocks(text, first_line=body_line, delimiter=delimiter, records=blocks)
        except UnicodeDecodeError as exc:
            raise ImportFileError(f"the text is not {encoding} after line {body_line}") from exc
        finally:
            rows.close()

    return opened, chunks()


def _chunked(rows: Iterator[tuple[int, list]], size: int) -> Iterator[list[tuple[int, list]]]:
    chunk: list[tuple[int, list]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _with_header(opened: OpenedFile, records: Iterator[tuple[int, list]], mapping: dict[str, str]):
    for _line, row in records:
        if any(str(c).strip() for c in row if c is not None):
            header = ["" if c is None else str(c).strip().lstrip("\ufeff") for c in row]
            break
    else:
        raise ImportFileError("the file is empty")
    # A row's control characters refuse that row (import_rows); the header's, the file: it is
    # binary or not in the encoding it was read in, and no column can be trusted.
    if UNSTORABLE.search("".join(header)):
        raise ImportFileError(
            "the header holds control characters or bytes that are not text: the file is binary or "
            "in an unknown encoding (expected UTF-8, Windows-1252 or Latin-1 text)"
        )
    opened.header = header
    opened.columns = map_columns(header, mapping)
    first = next(records, None)
    while first is not None and not any(str(c).strip() for c in first[1] if c is not None):
        first = next(records, None)
    if first is None:
        raise ImportFileError("the file has a header but no rows")

    def data() -> Iterator[tuple[int, list]]:
        yield first
        for line, row in records:
            # Cells are str (CSV, and _xlsx_cell): one join, not a generator, per row of a million.
            if "".join(row).strip():
                yield line, row

    return opened, data()


def _xlsx_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a number typed into Excel comes back as 612345678.0
    return str(value)


# Bounds on what a workbook may make openpyxl do, checked before it parses anything: a zip member's
# declared size is what zipfile will inflate it to at most. A prospect workbook unpacks to about 10
# times its size (measured: 20,000 rows, 0.7 MB → 7 MB); a 1.1 MB workbook whose shared strings
# unpacked to gigabytes took 200 s and 3.2 GB to open. openpyxl parses about 5 MB of XML a second.
XLSX_MAX_RATIO = 50
XLSX_MIN_UNPACKED = 16 * 2**20  # small workbooks: the theme and styles alone are a fixed 15 KB or so
XLSX_MAX_UNPACKED = 2**30
XLSX_MAX_SHARED_STRINGS = 32 * 2**20  # read whole into memory when the workbook opens
# A header wider than this is no prospect file; data rows are read only as wide as the header, so a
# declared dimension of A1:XFD100000 (16,384 columns) costs nothing.
XLSX_MAX_COLUMNS = 1_000
XLSX_HEADER_ROWS = 100  # blank rows above the header: a title block, never a sheet's worth
XLSX_MAX_ROWS = 1_048_576  # Excel's own: rows an import reads, however far a stray cell sits


def _check_xlsx_size(stream: BinaryIO) -> None:
    stream.seek(0, io.SEEK_END)
    packed = stream.tell()
    stream.seek(0)
    with zipfile.ZipFile(stream) as archive:
        members = archive.infolist()
    stream.seek(0)
    mb = 2**20
    for member in members:
        if (
            member.filename.lower().endswith("sharedstrings.xml")
            and member.file_size > XLSX_MAX_SHARED_STRINGS
        ):
            raise ImportFileError(
                f"the XLSX file's shared strings unpack to {member.file_size // mb} MB, more than the "
                f"{XLSX_MAX_SHARED_STRINGS // mb} MB an import reads: save the sheet as CSV"
            )
    unpacked = sum(member.file_size for member in members)
    limit = min(XLSX_MAX_UNPACKED, max(XLSX_MIN_UNPACKED, XLSX_MAX_RATIO * packed))
    if unpacked > limit:
        raise ImportFileError(
            f"the XLSX file unpacks to {unpacked // mb} MB, more than the {limit // mb} MB an import "
            f"reads for a workbook of this size ({XLSX_MAX_RATIO} times it, {XLSX_MAX_UNPACKED // mb} MB "
            "at most): save the sheet as CSV"
        )


def _open_xlsx(stream: BinaryIO, mapping: dict[str, str]):
    import openpyxl

    try:
        _check_xlsx_size(stream)
        workbook = openpyxl.load_workbook(stream, read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
        # The declared dimension would make openpyxl pad every row, and fill every missing row, to
        # its width: rows are read as wide as asked below instead.
        sheet.reset_dimensions()
    except ImportFileError:
        raise
    # Whatever openpyxl raises on a part it cannot read (a TypeError for sheetId="1.0", a
    # KeyError for a missing part, ParseError…): the file is the client's, the refusal a message.
    except Exception as exc:  # noqa: BLE001
        raise ImportFileError(
            f"the XLSX file is damaged or truncated: not a readable .xlsx workbook ({type(exc).__name__}: {exc})"
        ) from exc
    opened = OpenedFile(kind="xlsx")

    def records() -> Iterator[tuple[int, list[str]]]:
        try:
            line, header_line, header = 0, 0, []
            blank_rows = sheet.iter_rows(max_row=XLSX_HEADER_ROWS, max_col=XLSX_MAX_COLUMNS, values_only=True)
            for line, row in enumerate(blank_rows, start=1):
                cells = [_xlsx_cell(v) for v in row]
                if "".join(cells).strip():
                    header_line, header = line, cells
                    break
            else:
                if line == XLSX_HEADER_ROWS:
                    raise ImportFileError(
                        f"the first {XLSX_HEADER_ROWS} rows of the sheet are empty: no header"
                    )
                return  # the file is empty
            while not header[-1].strip():
                header.pop()
            if len(header) >= XLSX_MAX_COLUMNS:
                raise ImportFileError(
                    f"the XLSX header has {XLSX_MAX_COLUMNS} columns or more: no prospect file"
                )
            yield header_line, header
            rows = sheet.iter_rows(
                min_row=header_line + 1, max_row=XLSX_MAX_ROWS, max_col=len(header), values_only=True
            )
            for line, row in enumerate(rows, start=header_line + 1):
                yield line, [_xlsx_cell(v) for v in row]
        except ImportFileError:
            raise
        except Exception as exc:  # zlib/zip/XML errors of a truncated workbook, raised mid-sheet
            raise ImportFileError(f"the XLSX file is damaged or truncated ({exc})") from exc
        finally:
            workbook.close()

    return _with_header(opened, records(), mapping)
