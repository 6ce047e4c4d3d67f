"""Parsers of national do-not-call register files: one line in, one entry or one rejection out.

Pure functions, no database. Each parser takes an iterable of decoded lines (line endings kept or
not) and yields `(line_no, Entry | Rejection)`. Numbers are turned into the same E.164 string
`phonenumbers` gives `PhoneNumber.e164`, by the national numbering rules of that one country
rather than by `phonenumbers` itself: a register file is already clean national data, and a full
parse per line would make a 5-million-line file cost minutes instead of seconds (bench/
bench_register_import.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache, partial


@dataclass(frozen=True, slots=True)
class Entry:
    number_key: str
    registered_at: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: str
    raw: str


ParsedLine = tuple[int, Entry | Rejection]

_NON_DIGIT = re.compile(r"[^\d+]")
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


def _digits(raw: str) -> str:
    """Keep digits and '+' ("+32 (0)471 12.34.56" style spacing is common in exports)."""
    return _NON_DIGIT.sub("", raw.replace("(0)", ""))


def _international(raw: str, country_code: str) -> str | None:
    """'+32…', '0032…' or '32…' (no trunk zero) → the national part after the country code."""
    d = _digits(raw)
    if d.startswith("+"):
        d = d[1:]
        return d[len(country_code) :] if d.startswith(country_code) else None
    if d.startswith("00"):
        d = d[2:]
        return d[len(country_code) :] if d.startswith(country_code) else None
    return None


def be_e164(raw: str) -> str | None:
    """Belgian number → E.164. Trunk prefix 0 is dropped; NSN is 8 (fixed) or 9 (mobile) digits."""
    if raw.isdigit() and raw[0] == "0" and len(raw) in (9, 10) and raw[1] != "0":
        return "+32" + raw[1:]  # the register's own spelling: skip the general path
    d = _digits(raw)
    national = _international(raw, "32")
    if national is None:
        if d.startswith("0"):
            national = d[1:]
        elif d.startswith("32") and len(d) in (10, 11):
            national = d[2:]
        else:
            return None
    if not national.isdigit() or len(national) not in (8, 9) or national.startswith("0"):
        return None
    return "+32" + national


def fr_e164(raw: str) -> str | None:
    """French 10-digit national number (0 + 9 digits) or +33 form → E.164 (ARCEP plan)."""
    d = _digits(raw)
    national = _international(raw, "33")
    if national is None:
        if len(d) == 10 and d.startswith("0"):
            national = d[1:]
        else:
            return None
    if not national.isdigit() or len(national) != 9 or national.startswith("0"):
        return None
    return "+33" + national


def it_e164(raw: str) -> str | None:
    """Italian number → E.164. Italy has no trunk prefix: a fixed line keeps its leading 0 in E.164
    (+39 06…), a mobile starts with 3. NSN length 6–11 digits."""
    d = _digits(raw)
    national = _international(raw, "39")
    if national is None:
        if d[:1] in ("0", "3"):
            national = d
        else:
            return None
    if not national.isdigit() or not 6 <= len(national) <= 11 or national[:1] not in ("0", "3"):
        return None
    return "+39" + national


def uk_e164(raw: str) -> str | None:
    """UK national number (0 + 9 or 10 digits) → E.164 +44…"""
    d = _digits(raw)
    national = _international(raw, "44")
    if national is None:
        if d.startswith("0") and len(d) in (10, 11):
            national = d[1:]
        else:
            return None
    if not national.isdigit() or len(national) not in (9, 10) or national.startswith("0"):
        return None
    return "+44" + national


def robinson_normalise(number: str) -> str:
    """Lista Robinson phone normalisation (adigital-org/slr-client SLRUtils.js): strip non-digits,
    a leading '+' becomes '00', and a number not starting with '00' gets '0034'."""
    number = number.strip()
    plus = number.startswith("+")
    d = re.sub(r"\D", "", number)
    if plus:
        d = "00" + d
    if not d.startswith("00"):
        d = "0034" + d
    return d


# Lista Robinson channel ids: 04 = phone calls, 03 = SMS (slr-client).
ROBINSON_PHONE_CHANNEL = "04"


def robinson_hash(e164: str) -> str:
    """The key Lista Robinson uses for a phone number: SHA-256 hex of '04' + normalised number.

    Callability computes it for a number to look it up among the stored entries of the register.
    """
    return hashlib.sha256((ROBINSON_PHONE_CHANNEL + robinson_normalise(e164)).encode()).hexdigest()


_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%Y%m%d", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d")


@lru_cache(maxsize=65_536)
def parse_date(raw: str) -> dt.date | None:
    """A registration date in the spellings operators use. Memoised: a register file holds a few
    thousand distinct dates over millions of lines, and strptime costs ~50 µs a call."""
    raw = raw.strip()
    if not raw:
        return None
    if len(raw) == 10 and raw[4] == "-":
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            return None
    # "2025-03-04 12:34:56" or "2025-03-04T12:34:56": the date part is what the law compares.
    head = raw.replace("T", " ").split(" ")[0]
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(head, fmt).date()  # noqa: DTZ007 (a date, no instant)
        except ValueError:
            continue
    return None


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _ascii_digit(match: re.Match) -> str:
    value = unicodedata.decimal(match.group(), None)
    return match.group() if value is None else str(value)


def ascii_digits(text: str) -> str:
    """`text` with every digit spelled in ASCII: NFKC (full-width '６' and '＋', '；'), then any other
    decimal digit (Arabic-Indic, Devanagari…) by its value. A register line typed or converted with
    such digits names a real registered number; kept as is, its key would never equal a number's
    E.164 and the number would never be screened."""
    if text.isascii():
        return text  # nearly every line: the check is a C loop, the rest is not paid
    text = unicodedata.normalize("NFKC", text)
    return _NON_ASCII.sub(_ascii_digit, text)


def _lines(lines: Iterable[str]) -> Iterator[tuple[int, str, str]]:
    """(line number, the line as read for the report, the line with ASCII digits for parsing)."""
    for line_no, line in enumerate(lines, start=1):
        line = line.rstrip("\r\n")
        yield line_no, line, ascii_digits(line)


_DNCM_SPLIT = re.compile(r"[;,\t|]")


# A registration date is compared with consent dates (a later consent overrides it). A placeholder
# date is not a registration: 0001-01-01 would let any consent, however old, override it, and
# 9999-12-31 would let none ever do so. No telephone do-not-call register this product reads is
# older than this; a date after the file was produced cannot have happened yet.
EARLIEST_REGISTRATION = dt.date(1990, 1, 1)


def parse_dncm(lines: Iterable[str], *, file_date: dt.date | None = None) -> Iterator[ParsedLine]:
    """Belgian "Ne m'appelez plus" text file: number and registration date on each line
    (dncm.be B2B FAQ), separated by ';', ',', tab, '|' or spaces. A header line is skipped.

    A registration date before EARLIEST_REGISTRATION, or after `file_date` (one day of slack for
    time zones), rejects its line."""
    latest = file_date + dt.timedelta(days=1) if file_date is not None else None
    for line_no, line, text in _lines(lines):
        text = text.strip().lstrip("\ufeff")
        if not text:
            continue
        if ";" in text:
            parts = text.split(";")
            if len(parts) > 1 and " " in text:
                parts = [p.strip() for p in parts]
        elif _DNCM_SPLIT.search(text):
            parts = [p.strip() for p in _DNCM_SPLIT.split(text)]
        else:
            parts = text.split()
        if line_no == 1 and not any(c.isdigit() for c in parts[0]):
            continue  # header
        if len(parts) < 2:
            yield line_no, Rejection("missing registration date", line)
            continue
        number = be_e164(parts[0])
        if number is None:
            yield line_no, Rejection("not a Belgian number", line)
            continue
        registered = parse_date(parts[1] if len(parts) == 2 else " ".join(parts[1:]))
        if registered is None:
            yield line_no, Rejection("bad registration date", line)
            continue
        if registered < EARLIEST_REGISTRATION:
            yield line_no, Rejection(f"registration date before {EARLIEST_REGISTRATION.isoformat()}", line)
            continue
        if latest is not None and registered > latest:
            yield line_no, Rejection("registration date after the file's date", line)
            continue
        yield line_no, Entry(number, registered)


def parse_bloctel(lines: Iterable[str]) -> Iterator[ParsedLine]:
    """Bloctel cleaned-file answer `Telephone;Identifiant;status`: `OK` means callable, any other
    status means registered on Bloctel (L.223-1). Only blocked numbers become entries."""
    for line_no, line, text in _lines(lines):
        text = text.strip().lstrip("\ufeff")
        if not text:
            continue
        parts = [p.strip() for p in text.split(";")]
        if line_no == 1 and parts[0].lower() in ("telephone", "téléphone"):
            continue
        if len(parts) < 3:
            yield line_no, Rejection("expected Telephone;Identifiant;status", line)
            continue
        number = fr_e164(parts[0])
        if number is None:
            yield line_no, Rejection("not a 10-digit French number", line)
            continue
        status = parts[2].upper()
        if not status:
            yield line_no, Rejection("missing status", line)
            continue
        if status == "OK":
            continue
        yield line_no, Entry(number)


def parse_rpo(lines: Iterable[str]) -> Iterator[ParsedLine]:
    """Italian Registro Pubblico delle Opposizioni: one number per line, national or +39."""
    for line_no, line, text in _lines(lines):
        text = text.strip().lstrip("\ufeff")
        if not text:
            continue
        number = it_e164(text.split(";")[0])
        if number is None:
            if line_no == 1 and not any(c.isdigit() for c in text):
                continue  # header
            yield line_no, Rejection("not an Italian number", line)
            continue
        yield line_no, Entry(number)


def parse_tps(lines: Iterable[str]) -> Iterator[ParsedLine]:
    """UK TPS/CTPS full download, fixed width, CRLF (TPS technical spec), either layout:
    5-character dialling code left-justified + 7-character remainder right-justified, or the whole
    number left-justified and padded to 12. Both are 12 characters; spaces carry no digits."""
    for line_no, line, text in _lines(lines):
        if not text.strip():
            continue
        if len(text.rstrip()) > 12 or (len(text) > 12 and text[12:].strip()):
            yield line_no, Rejection("not a 12-character TPS record", line)
            continue
        digits = text.replace(" ", "")
        if not digits.isdigit():
            yield line_no, Rejection("not a UK number", line)
            continue
        number = uk_e164(digits)
        if number is None:
            yield line_no, Rejection("not a UK number", line)
            continue
        yield line_no, Entry(number)


def parse_robinson(lines: Iterable[str]) -> Iterator[ParsedLine]:
    """Lista Robinson (ES), hashed form: one SHA-256 hex per line (the register is consulted by hash
    since 2019, LOPDGDD art. 23). A plain number is accepted too and hashed the register's way."""
    for line_no, line, text in _lines(lines):
        text = text.strip().lstrip("\ufeff").split(";")[0].strip()
        if not text:
            continue
        if _HEX64.match(text):
            yield line_no, Entry(text.lower())
            continue
        d = _digits(text)
        if len(d.lstrip("+")) >= 9 and d.lstrip("+").isdigit():
            yield line_no, Entry(robinson_hash(text))
            continue
        if line_no == 1 and not any(c.isdigit() for c in text):
            continue  # header
        yield line_no, Rejection("not a SHA-256 hex hash or a phone number", line)


PARSERS: dict[str, Callable[..., Iterator[ParsedLine]]] = {
    "dncm": parse_dncm,
    "bloctel": parse_bloctel,
    "rpo": parse_rpo,
    "tps": parse_tps,
    "robinson": parse_robinson,
}


def parser_for(register: str, *, file_date: dt.date) -> Callable[[Iterable[str]], Iterator[ParsedLine]]:
    """The parser of `register`, bound to what it needs of the file (DNCM: its date)."""
    if register == "dncm":
        return partial(parse_dncm, file_date=file_date)
    return PARSERS[register]
