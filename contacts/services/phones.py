"""Phone number normalisation: one raw string → a callable E.164 number with a time zone, or a reason.

Pure functions (no database): the import, the API and other areas call `normalise_number` and store
what it returns on `contacts.PhoneNumber`. Parsing is memoised on (raw, parse region) because prospect
files repeat the same numbers and the same dirty spellings: `phonenumbers.parse` is the hot spot of an
import (~70 % of a row's cost, measured in bench/bench_import_prospects.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import phonenumbers
from phonenumbers import PhoneNumberType, shortnumberinfo
from phonenumbers import timezone as pn_timezone

from contacts.models import PhoneNumber

# Main zone of each region we call, used when the number and the address leave the zone ambiguous.
REGION_MAIN_ZONE: dict[str, str] = {
    "FR": "Europe/Paris",
    "BE": "Europe/Brussels",
    "NL": "Europe/Amsterdam",
    "DE": "Europe/Berlin",
    "IT": "Europe/Rome",
    "ES": "Europe/Madrid",
    "PT": "Europe/Lisbon",
    "LU": "Europe/Luxembourg",
    "CH": "Europe/Zurich",
    "AT": "Europe/Vienna",
    "GB": "Europe/London",
    "IE": "Europe/Dublin",
    "MC": "Europe/Monaco",
    # French overseas departments: their own numbering regions, each in one zone.
    "GP": "America/Guadeloupe",
    "MQ": "America/Martinique",
    "GF": "America/Cayenne",
    "RE": "Indian/Reunion",
    "YT": "Indian/Mayotte",
    "PM": "America/Miquelon",
    "BL": "America/St_Barthelemy",
    "MF": "America/Marigot",
}

# Regions whose numbering plan covers exactly one zone: the region alone settles it even where the
# phonenumbers prefix data is coarser (it gives +262 692 both Réunion and Mayotte).
SINGLE_ZONE_REGIONS = frozenset({"GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF"})

# French overseas departments by postcode prefix (La Poste: 971 Guadeloupe … 976 Mayotte; 975 is
# Saint-Pierre-et-Miquelon, a collectivity with its own numbering region).
FR_OVERSEAS_BY_POSTCODE: dict[str, tuple[str, str]] = {
    # postcode prefix: (numbering region, zone)
    "971": ("GP", "America/Guadeloupe"),
    "972": ("MQ", "America/Martinique"),
    "973": ("GF", "America/Cayenne"),
    "974": ("RE", "Indian/Reunion"),
    "975": ("PM", "America/Miquelon"),
    "976": ("YT", "Indian/Mayotte"),
}

# `holidays` subdivision code → zone, for a prospect whose region is known but postcode is not.
ZONE_BY_SUBDIVISION: dict[tuple[str, str], str] = {
    ("ES", "CN"): "Atlantic/Canary",
    ("PT", "20"): "Atlantic/Azores",
    ("PT", "30"): "Atlantic/Madeira",
    ("FR", "971"): "America/Guadeloupe",
    ("FR", "972"): "America/Martinique",
    ("FR", "973"): "America/Cayenne",
    ("FR", "974"): "Indian/Reunion",
    ("FR", "976"): "Indian/Mayotte",
}

# Spanish postcodes start with the province number (INE); provinces → autonomous communities as the
# `holidays` package names them (ES subdivisions), so regional holidays apply.
ES_COMMUNITY_BY_PROVINCE: dict[str, str] = {
    "01": "PV", "02": "CM", "03": "VC", "04": "AN", "05": "CL", "06": "EX", "07": "IB", "08": "CT",
    "09": "CL", "10": "EX", "11": "AN", "12": "VC", "13": "CM", "14": "AN", "15": "GA", "16": "CM",
    "17": "CT", "18": "AN", "19": "CM", "20": "PV", "21": "AN", "22": "AR", "23": "AN", "24": "CL",
    "25": "CT", "26": "RI", "27": "GA", "28": "MD", "29": "AN", "30": "MC", "31": "NC", "32": "GA",
    "33": "AS", "34": "CL", "35": "CN", "36": "GA", "37": "CL", "38": "CN", "39": "CB", "40": "CL",
    "41": "AN", "42": "CL", "43": "CT", "44": "AR", "45": "CM", "46": "VC", "47": "CL", "48": "PV",
    "49": "CL", "50": "AR", "51": "CE", "52": "ML",
}  # fmt: skip

# Plain str values (not the enum members): they cross process boundaries and go straight into COPY.
_TYPE_MAP: dict[int, str] = {
    PhoneNumberType.MOBILE: PhoneNumber.Type.MOBILE.value,
    PhoneNumberType.FIXED_LINE: PhoneNumber.Type.FIXED_LINE.value,
    PhoneNumberType.FIXED_LINE_OR_MOBILE: PhoneNumber.Type.FIXED_OR_MOBILE.value,
    PhoneNumberType.VOIP: PhoneNumber.Type.VOIP.value,
    PhoneNumberType.TOLL_FREE: PhoneNumber.Type.TOLL_FREE.value,
    PhoneNumberType.PERSONAL_NUMBER: PhoneNumber.Type.PERSONAL.value,
    PhoneNumberType.UAN: PhoneNumber.Type.UAN.value,
}

# Numbers we refuse to dial: the callee could be charged or the line is not a person's.
_REJECTED_TYPES: dict[int, tuple[str, str]] = {
    PhoneNumberType.PREMIUM_RATE: ("premium_rate", "{raw} is a premium-rate number: not callable"),
    PhoneNumberType.SHARED_COST: ("shared_cost", "{raw} is a shared-cost number: not callable"),
    PhoneNumberType.PAGER: ("not_callable_type", "{raw} is a pager number: not callable"),
    PhoneNumberType.VOICEMAIL: ("not_callable_type", "{raw} is a voicemail access number: not callable"),
}

# ISO 3166-1 alpha-2 codes as phonenumbers knows them (it adds a few ITU territories such as AC, TA
# and XK, all numbering regions): what a prospect's country or an import's default country may be.
COUNTRY_CODES = frozenset(phonenumbers.SUPPORTED_REGIONS)


def is_country_code(code: str) -> bool:
    return code in COUNTRY_CODES


REJECTION_REASONS = (
    "missing",
    "unparseable",
    "invalid",
    "premium_rate",
    "shared_cost",
    "emergency_or_short",
    "not_callable_type",
)

# The stored columns bound what a parse may return: phonenumbers accepts some numbers longer than
# E.164's 15 digits (a German fixed line of 17), and gives non-geographic numbers (+800…) the
# region "001"; either would fail the whole import's write on PostgreSQL.
E164_MAX_LENGTH = PhoneNumber._meta.get_field("e164").max_length
REGION_MAX_LENGTH = PhoneNumber._meta.get_field("region").max_length
# Longer spellings are refused unparsed: the parse cache would otherwise keep every one (a file of
# 200 one-megabyte phone cells held 727 MB), and no number with its separators comes near this.
MAX_KEY_LENGTH = 64
# Any letter from the number's first digit (or +) on: phonenumbers reads vanity letters as keypad
# digits ("0612ABCDEF" → +33612222333, a stranger's line). Numbers with extensions are refused too:
# no extension can be stored or dialled. A label before the number ("Tel 06…") is skipped, as
# phonenumbers does.
_LETTER = re.compile(r"[^\W\d_]")
_NUMBER_START = re.compile(r"[+\d]")
_TRUNK_ZERO = re.compile(r"\(\s*0\s*\)")
_WHITESPACE = re.compile(r"\s")
_SEPARATORS = re.compile(r"[\s.\-/()\u00a0]+")


class NormalisedNumber(NamedTuple):
    """Immutable like the frozen dataclass it was, and several times cheaper to build: one per row
    of a million-row import."""

    e164: str
    region: str
    number_type: str  # a PhoneNumber.Type value
    is_valid: bool
    time_zone: str
    time_zone_candidates: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NumberRejection:
    reason: str  # one of REJECTION_REASONS: stable, for reports and tests
    message: str


class _Parsed(NamedTuple):
    e164: str
    region: str
    number_type: str
    zones: tuple[str, ...]  # phonenumbers' candidates, sorted; () when unknown


@lru_cache(maxsize=65_536)  # a file of a million rows has a few tens of thousands of postcodes
def derive_region(country: str, postcode: str) -> str:
    """The `holidays` subdivision code a postcode implies, or "" when the postcode does not tell.

    FR: Moselle "57" and Alsace "6AE" (local law holidays), overseas departments "971"–"976".
    ES: the autonomous community from the province digits. PT: Azores "20", Madeira "30".
    DE and IT postcodes do not map to Länder/provinces by prefix: left blank unless given.
    """
    country = (country or "").upper()
    pc = _WHITESPACE.sub("", postcode or "")
    if not pc[:2].isdigit():
        return ""
    if country == "FR":
        if pc[:3] in FR_OVERSEAS_BY_POSTCODE and pc[:3] != "975":
            return pc[:3]
        if pc[:2] == "57":
            return "57"
        if pc[:2] in ("67", "68"):
            return "6AE"
        return ""
    if country == "ES":
        return ES_COMMUNITY_BY_PROVINCE.get(pc[:2], "")
    if country == "PT":
        if pc[:1] == "9" and pc[1:2].isdigit():
            second = int(pc[1])
            if second >= 5:
                return "20"
            if second <= 3:
                return "30"
        return ""
    return ""


@lru_cache(maxsize=65_536)
def _address_zone(country: str, postcode: str, region: str) -> tuple[str | None, str | None]:
    """(numbering region, zone) the address places the person in, or (None, None)."""
    country = (country or "").upper()
    pc = _WHITESPACE.sub("", postcode or "")
    if country == "FR" and pc[:3] in FR_OVERSEAS_BY_POSTCODE:
        return FR_OVERSEAS_BY_POSTCODE[pc[:3]]
    subdivision = derive_region(country, pc) if pc else ""
    subdivision = subdivision or (region or "")
    zone = ZONE_BY_SUBDIVISION.get((country, subdivision))
    if zone:
        if country == "FR":
            overseas = {z: r for r, z in FR_OVERSEAS_BY_POSTCODE.values()}
            return overseas.get(zone, "FR"), zone
        return country, zone
    if pc and country in REGION_MAIN_ZONE:
        # A mainland address is evidence too: a Spanish mobile of a Madrid resident is in Madrid.
        return country, REGION_MAIN_ZONE[country]
    return None, None


@lru_cache(maxsize=65_536)
def parse_region_for(default_region: str | None, country: str, postcode: str) -> str | None:
    """The region national-format numbers are read in: a Réunion address means 0692… is +262."""
    if (country or "").upper() == "FR":
        pc = _WHITESPACE.sub("", postcode or "")
        if pc[:3] in FR_OVERSEAS_BY_POSTCODE:
            return FR_OVERSEAS_BY_POSTCODE[pc[:3]][0]
    return (default_region or country or "").upper() or None


# Regions whose numbers, once reduced to digits, need none of parse()'s general machinery (the
# national prefix is a plain "0", or there is none): the fast path below builds the number directly.
_TRUNK_ZERO_REGIONS = {
    "FR": 33,
    "BE": 32,
    "NL": 31,
    "DE": 49,
    "RE": 262,
    "GP": 590,
    "MQ": 596,
    "GF": 594,
    "YT": 262,
}
_NO_PREFIX_REGIONS = {"ES": 34, "PT": 351}
_FAST_COUNTRY_CODES = {33, 32, 31, 49, 39, 34, 351, 262, 590, 596, 594}


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()  # isdigit alone admits "²" and "٣", which int() mangles


def _fast_digits(key: str, parse_region: str | None) -> tuple[int, str] | None:
    """(country code, national significant number) `phonenumbers.parse` would find, for the plain
    spellings of our 7 countries' numbers; None for anything else (parse() then decides). parse()
    was half of the import's CPU per row, most of it generic work (extensions, vanity letters,
    carrier codes) that digits-only keys do not need. tests/contacts/test_phones.py checks the two
    agree. An Italian fixed line keeps its leading 0 in the national significant number."""
    if key.startswith("+"):
        digits = key[1:]
        if not _ascii_digits(digits) or len(digits) < 7:
            return None
        for size in (2, 3, 1):
            code = int(digits[:size])
            if code in _FAST_COUNTRY_CODES:
                national = digits[size:]
                if not 4 <= len(national) <= 14 or national.startswith("00"):
                    return None
                if national.startswith("0") and code != 39:
                    return None  # "+33 06…" is a misspelling that parse() has rules for
                return code, national
        return None
    if parse_region is None or not _ascii_digits(key) or key.startswith("00"):
        return None
    if parse_region in _TRUNK_ZERO_REGIONS:
        if key.startswith("0") and 5 <= len(key) <= 15:
            return _TRUNK_ZERO_REGIONS[parse_region], key[1:]
        return None
    if parse_region == "IT":
        # No trunk prefix: the 0 of a fixed line is part of the number.
        return (39, key) if 6 <= len(key) <= 12 else None
    if parse_region in _NO_PREFIX_REGIONS:
        if not key.startswith("0") and 4 <= len(key) <= 14:
            return _NO_PREFIX_REGIONS[parse_region], key
        return None
    return None


def fast_time_zones(country_code: int, e164: str, pn_type: int) -> tuple[str, ...]:
    """`phonenumbers.timezone.time_zones_for_number` for a number of known type, from its E.164
    string: the same longest-prefix look-up in the same data, without building a PhoneNumber."""
    if phonenumbers.is_number_type_geographical(pn_type, country_code):
        digits = e164[1:]
    else:
        digits = str(country_code)
    data = pn_timezone.TIMEZONE_DATA
    for size in range(min(pn_timezone.TIMEZONE_LONGEST_PREFIX, len(digits)), 0, -1):
        zones = data.get(digits[:size])
        if zones is not None:
            return zones
    return (pn_timezone.UNKNOWN_TIMEZONE,)


# The number types `_number_type_helper` tests before fixed line and mobile, in its order.
_ORDERED_TYPES = (
    ("premium_rate", PhoneNumberType.PREMIUM_RATE),
    ("toll_free", PhoneNumberType.TOLL_FREE),
    ("shared_cost", PhoneNumberType.SHARED_COST),
    ("voip", PhoneNumberType.VOIP),
    ("personal_number", PhoneNumberType.PERSONAL_NUMBER),
    ("pager", PhoneNumberType.PAGER),
    ("uan", PhoneNumberType.UAN),
    ("voicemail", PhoneNumberType.VOICEMAIL),
)


def _desc_matcher(desc) -> tuple[frozenset, object] | None:
    """(possible lengths, compiled full-match) of a PhoneNumberDesc, or None where phonenumbers'
    `_is_number_matching_desc` can never match (no desc, or an empty pattern)."""
    if desc is None or not desc.national_number_pattern:
        return None
    return frozenset(desc.possible_length or ()), re.compile(desc.national_number_pattern).fullmatch


@lru_cache(maxsize=64)
def _type_tables(country_code: int) -> tuple:
    """Per region of a calling code, in phonenumbers' order: the metadata `number_type` and
    `region_code_for_number` read, compiled once. phonenumbers re-looks up and re-compiles (through
    its own cache) every pattern for every number: two thirds of a row's CPU in an import, measured."""
    tables = []
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code, ()):
        md = phonenumbers.PhoneMetadata.metadata_for_region(region.upper(), None)
        if md is None:
            continue
        tables.append(
            (
                region,
                re.compile(md.leading_digits).match if md.leading_digits is not None else None,
                _desc_matcher(md.general_desc),
                _ordered_by_length(md),
                _desc_matcher(md.fixed_line),
                _desc_matcher(md.mobile),
                bool(md.same_mobile_and_fixed_line_pattern),
            )
        )
    return tuple(tables)


def _ordered_by_length(md) -> dict[int, tuple[object, tuple[int, ...]]]:
    """For each length a national number can have, one regex: the alternation, in phonenumbers'
    order, of the patterns of the _ORDERED_TYPES that admit that length, each in a group of its
    own. `fullmatch` then returns the first type that matches, as the eight tests in a row would,
    in one call instead of eight."""
    descs = [(kind, m) for name, kind in _ORDERED_TYPES if (m := _desc_matcher(getattr(md, name)))]
    table: dict[int, tuple[object, tuple[int, ...]]] = {}
    for length in range(1, 18):
        admitted = [(kind, m[1].__self__.pattern) for kind, m in descs if not m[0] or length in m[0]]
        if admitted:
            combined = re.compile("|".join(f"({pattern})" for _, pattern in admitted))
            # Metadata patterns use only (?:…) groups: group n is the n-th type. Checked, so
            # that a capturing group in some future metadata cannot shift the types.
            if combined.groups != len(admitted):
                raise RuntimeError("phonenumbers metadata with capturing groups: see _ordered_by_length")
            table[length] = (combined.fullmatch, tuple(kind for kind, _ in admitted))
    return table


def _matches(matcher, nsn: str, length: int) -> bool:
    if matcher is None:
        return False
    lengths, fullmatch = matcher
    return (not lengths or length in lengths) and fullmatch(nsn) is not None


def _type_of(table: tuple, nsn: str) -> int:
    """`phonenumbers._number_type_helper` on precompiled patterns (same tests, same order)."""
    _, _, general, ordered, fixed, mobile, same = table
    length = len(nsn)
    if not _matches(general, nsn, length):
        return PhoneNumberType.UNKNOWN
    entry = ordered.get(length)
    if entry is not None:
        found = entry[0](nsn)
        if found is not None:
            return entry[1][found.lastindex - 1]
    if _matches(fixed, nsn, length):
        if same or _matches(mobile, nsn, length):
            return PhoneNumberType.FIXED_LINE_OR_MOBILE
        return PhoneNumberType.FIXED_LINE
    if not same and _matches(mobile, nsn, length):
        return PhoneNumberType.MOBILE
    return PhoneNumberType.UNKNOWN


def fast_region_and_type(country_code: int, nsn: str) -> tuple[str | None, int]:
    """(`region_code_for_number`, `number_type`) of the number whose national significant number
    is `nsn` (an Italian fixed line keeps its leading 0), as phonenumbers computes them; tests/contacts/test_phones.py checks
    the two agree on every type of our countries' numbers."""
    tables = _type_tables(country_code)
    if not tables:
        return None, PhoneNumberType.UNKNOWN
    if len(tables) == 1:
        return tables[0][0], _type_of(tables[0], nsn)
    # region_code_for_number: the first region whose leading digits match or, without leading
    # digits, whose patterns give the number a type.
    for table in tables:
        leading = table[1]
        if leading is not None:
            if leading(nsn):
                return table[0], _type_of(table, nsn)
        else:
            kind = _type_of(table, nsn)
            if kind != PhoneNumberType.UNKNOWN:
                return table[0], kind
    return None, PhoneNumberType.UNKNOWN


def cache_key(raw: str) -> str:
    """The spelling-independent form of a raw number: "06 12 34 56 78", "06.12.34.56.78" and
    "0033 6 12 34 56 78" share one parse. Letters are kept so that junk stays junk."""
    if raw.isdigit() and not raw.startswith("00"):
        return raw  # already bare: skip the two substitutions (a third of the rows of a file)
    key = _SEPARATORS.sub("", _TRUNK_ZERO.sub("", raw)) if "(" in raw else _SEPARATORS.sub("", raw)
    if key.startswith("00") and key[2:3].isdigit() and key[2:3] != "0":
        key = "+" + key[2:]
    return key


@lru_cache(maxsize=131_072)
def _parse(key: str, parse_region: str | None) -> _Parsed | tuple[str, str]:
    """Parse a `cache_key`; a rejection is (reason, message template with {raw})."""
    if not key:
        return ("missing", "no phone number")
    # Short codes (112, 3949, 118 218…) are emergency or service numbers, never a prospect's line.
    bare = key.lstrip("+")
    if bare.isdigit() and len(bare) <= 6 and not key.startswith("+") and parse_region:
        try:
            short = phonenumbers.parse(bare, parse_region)
        except phonenumbers.NumberParseException:
            short = None
        if short is not None and (
            shortnumberinfo.is_emergency_number(bare, parse_region)
            or shortnumberinfo.is_valid_short_number_for_region(short, parse_region)
        ):
            return ("emergency_or_short", "{raw} is an emergency or short number")
    fast = _fast_digits(key, parse_region)
    if fast is not None:
        # number_type() is what is_valid_number() computes (a valid number is one whose type is
        # known for its region): calling both would match the number against the metadata twice.
        country_code, nsn = fast
        region, pn_type = fast_region_and_type(country_code, nsn)
        e164 = f"+{country_code}{nsn}"
    else:
        start = _NUMBER_START.search(key)
        if start is not None and _LETTER.search(key, start.start()):
            return ("unparseable", "{raw} is not a phone number: it holds letters")
        try:
            number = phonenumbers.parse(key, parse_region)
        except phonenumbers.NumberParseException as exc:
            if exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE and not parse_region:
                return ("unparseable", "{raw} has no international prefix and no default country")
            return ("unparseable", "{raw} is not a phone number")
        country_code = number.country_code
        pn_type = phonenumbers.number_type(number)
    if pn_type == PhoneNumberType.UNKNOWN:
        if parse_region and bare.isdigit() and shortnumberinfo.is_emergency_number(bare, parse_region):
            return ("emergency_or_short", "{raw} is an emergency number")
        return ("invalid", "{raw} is not a valid number")
    if pn_type in _REJECTED_TYPES:
        return _REJECTED_TYPES[pn_type]
    if fast is None:
        region = phonenumbers.region_code_for_number(number)
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if not region or len(region) > REGION_MAX_LENGTH:
            return ("invalid", "{raw} is not the number of a country (a non-geographic number)")
    if len(e164) > E164_MAX_LENGTH:  # both paths: German numbers reach 17 digits through either
        return ("invalid", f"{{raw}} is longer than E.164 allows ({E164_MAX_LENGTH - 1} digits)")
    return _Parsed(
        e164, region or "", _TYPE_MAP[pn_type], _known_zones(fast_time_zones(country_code, e164, pn_type))
    )


@lru_cache(maxsize=1024)
def _known_zones(zones: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(z for z in zones if z != pn_timezone.UNKNOWN_TIMEZONE))


def normalise_number(
    raw: str,
    *,
    default_region: str | None,
    postcode: str = "",
    region: str = "",
    country: str = "",
) -> NormalisedNumber | NumberRejection:
    """Parse, validate and place one raw number; reject what must not be dialled, with a reason.

    Time zone: the number's own zone when phonenumbers gives one; otherwise the prospect's address
    (postcode, else `holidays` subdivision `region`) when it matches the number's region; otherwise
    the region's main zone, keeping every candidate so callability can require all of them open.
    """
    key = cache_key(raw or "")
    if len(key) > MAX_KEY_LENGTH:
        shown = repr(raw.strip()[:MAX_KEY_LENGTH] + "…")
        return NumberRejection("unparseable", f"{shown} is too long to be a phone number")
    parsed = _parse(key, parse_region_for(default_region, country, postcode))
    if type(parsed) is tuple:
        reason, template = parsed
        return NumberRejection(reason, template.format(raw=repr((raw or "").strip())))
    zones = parsed.zones
    if parsed.region in SINGLE_ZONE_REGIONS:
        zone = REGION_MAIN_ZONE[parsed.region]
        return NormalisedNumber(parsed.e164, parsed.region, parsed.number_type, True, zone, (zone,))
    if len(zones) == 1:
        return NormalisedNumber(parsed.e164, parsed.region, parsed.number_type, True, zones[0], zones)
    address_region, address_zone = _address_zone(country or parsed.region, postcode, region)
    if address_zone and (address_region == parsed.region or address_zone in zones):
        return NormalisedNumber(
            parsed.e164, parsed.region, parsed.number_type, True, address_zone, (address_zone,)
        )
    main = REGION_MAIN_ZONE.get(parsed.region) or (zones[0] if zones else "UTC")
    candidates = zones or (main,)
    return NormalisedNumber(parsed.e164, parsed.region, parsed.number_type, True, main, candidates)


def clear_cache() -> None:
    _parse.cache_clear()
