"""Issue 3: phone normalisation, callable types, time zones from the number or the address."""

import pytest

from contacts.models import PhoneNumber
from contacts.services import phones
from contacts.services.phones import NormalisedNumber, NumberRejection, derive_region, normalise_number


@pytest.mark.parametrize(
    "raw",
    [
        "06 12 34 56 78",
        "06.12.34.56.78",
        "06-12-34-56-78",
        "0612345678",
        "+33 6 12 34 56 78",
        "+33 (0)6 12 34 56 78",
        "0033 6 12 34 56 78",
        "  +33612345678 ",
    ],
)
def test_french_spellings_normalise_to_one_e164(raw):
    result = normalise_number(raw, default_region="FR")
    assert result == NormalisedNumber(
        e164="+33612345678",
        region="FR",
        number_type=PhoneNumber.Type.MOBILE,
        is_valid=True,
        time_zone="Europe/Paris",
        time_zone_candidates=("Europe/Paris",),
    )


@pytest.mark.parametrize(
    ("raw", "region", "e164", "number_type", "zone"),
    [
        ("0470 12 34 56", "BE", "+32470123456", "mobile", "Europe/Brussels"),
        ("02 234 56 78", "BE", "+3222345678", "fixed_line", "Europe/Brussels"),
        ("06 12345678", "NL", "+31612345678", "mobile", "Europe/Amsterdam"),
        ("0151 23456789", "DE", "+4915123456789", "mobile", "Europe/Berlin"),
        ("030 123456", "DE", "+4930123456", "fixed_line", "Europe/Berlin"),
        ("312 345 6789", "IT", "+393123456789", "mobile", "Europe/Rome"),
        ("06 1234 5678", "IT", "+390612345678", "fixed_line", "Europe/Rome"),
        ("912 34 56 78", "ES", "+34912345678", "fixed_line", "Europe/Madrid"),
        ("21 234 5678", "PT", "+351212345678", "fixed_line", "Europe/Lisbon"),
    ],
)
def test_seven_countries_national_formats(raw, region, e164, number_type, zone):
    result = normalise_number(raw, default_region=region)
    assert isinstance(result, NormalisedNumber)
    assert (result.e164, result.region, result.number_type, result.time_zone) == (
        e164,
        region,
        number_type,
        zone,
    )


def test_international_number_ignores_the_default_region():
    result = normalise_number("+32 470 12 34 56", default_region="FR")
    assert (result.e164, result.region) == ("+32470123456", "BE")


# Time zones -------------------------------------------------------------------------------------


def test_reunion_number_written_nationally_with_a_reunion_address():
    result = normalise_number("0692 12 34 56", default_region="FR", country="FR", postcode="97400")
    assert (result.e164, result.region, result.time_zone, result.time_zone_candidates) == (
        "+262692123456",
        "RE",
        "Indian/Reunion",
        ("Indian/Reunion",),
    )


def test_reunion_number_alone_is_reunion_not_mayotte():
    # phonenumbers gives +262 692 both Indian/Mayotte and Indian/Reunion; the region settles it.
    result = normalise_number("+262 692 12 34 56", default_region="FR")
    assert (result.time_zone, result.time_zone_candidates) == ("Indian/Reunion", ("Indian/Reunion",))


def test_guadeloupe_address():
    result = normalise_number("0690 12 34 56", default_region="FR", country="FR", postcode="97110")
    assert (result.e164, result.time_zone) == ("+590690123456", "America/Guadeloupe")


def test_spanish_mobile_without_address_keeps_both_zones():
    result = normalise_number("612 34 56 78", default_region="ES")
    assert (result.time_zone, result.time_zone_candidates) == (
        "Europe/Madrid",
        ("Atlantic/Canary", "Europe/Madrid"),
    )


@pytest.mark.parametrize("postcode", ["35001", "38001"])
def test_spanish_mobile_with_canary_postcode_is_canary(postcode):
    result = normalise_number("612345678", default_region="ES", country="ES", postcode=postcode)
    assert (result.time_zone, result.time_zone_candidates) == ("Atlantic/Canary", ("Atlantic/Canary",))


def test_spanish_mobile_with_canary_region_but_no_postcode():
    result = normalise_number("612345678", default_region="ES", country="ES", region="CN")
    assert result.time_zone == "Atlantic/Canary"


def test_spanish_mobile_with_madrid_postcode_is_madrid():
    result = normalise_number("612345678", default_region="ES", country="ES", postcode="28001")
    assert (result.time_zone, result.time_zone_candidates) == ("Europe/Madrid", ("Europe/Madrid",))


def test_canary_fixed_line_is_canary_from_the_number_alone():
    result = normalise_number("928 12 34 56", default_region="ES")
    assert (result.time_zone, result.time_zone_candidates) == ("Atlantic/Canary", ("Atlantic/Canary",))


def test_portuguese_mobile_azores_postcode():
    result = normalise_number("912 345 678", default_region="PT", country="PT", postcode="9500-123")
    assert (result.time_zone, result.time_zone_candidates) == ("Atlantic/Azores", ("Atlantic/Azores",))


def test_portuguese_mobile_madeira_postcode():
    result = normalise_number("912 345 678", default_region="PT", country="PT", postcode="9000-123")
    assert result.time_zone == "Atlantic/Madeira"


def test_portuguese_mobile_without_address_keeps_azores_candidate():
    result = normalise_number("912 345 678", default_region="PT")
    assert (result.time_zone, result.time_zone_candidates) == (
        "Europe/Lisbon",
        ("Atlantic/Azores", "Europe/Lisbon"),
    )


def test_azores_fixed_line_from_the_number():
    result = normalise_number("296 123 456", default_region="PT")
    assert result.time_zone == "Atlantic/Azores"


def test_alsace_is_paris():
    result = normalise_number("03 88 12 34 56", default_region="FR", country="FR", postcode="67000")
    assert (result.time_zone, result.time_zone_candidates) == ("Europe/Paris", ("Europe/Paris",))
    assert derive_region("FR", "67000") == "6AE"


# Rejections -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "reason"),
    [
        ("", "FR", "missing"),
        ("   ", "FR", "missing"),
        ("not a number", "FR", "unparseable"),
        ("612345678", None, "unparseable"),
        ("06 12", "FR", "invalid"),
        ("+33 1 23", "FR", "invalid"),
        ("0891 12 34 56", "FR", "premium_rate"),
        ("0899 12 34 56", "FR", "premium_rate"),
        ("0900 123 45", "BE", "premium_rate"),
        ("0884 01 23 45", "FR", "shared_cost"),
        ("901 12 34 56", "ES", "shared_cost"),
        ("112", "FR", "emergency_or_short"),
        ("15", "FR", "emergency_or_short"),
        ("3949", "FR", "emergency_or_short"),
        ("110", "DE", "emergency_or_short"),
        ("+49 164 12345", "FR", "not_callable_type"),  # pager
        ("0177 991234567", "DE", "not_callable_type"),  # voicemail access
        ("06 62345678", "NL", "not_callable_type"),  # pager
    ],
)
def test_rejections_have_stable_reasons(raw, region, reason):
    result = normalise_number(raw, default_region=region)
    assert isinstance(result, NumberRejection)
    assert result.reason == reason
    assert result.reason in phones.REJECTION_REASONS
    assert result.message


def test_no_prefix_and_no_default_country_message():
    assert normalise_number("612345678", default_region=None) == NumberRejection(
        "unparseable", "'612345678' has no international prefix and no default country"
    )


# Regions ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "postcode", "expected"),
    [
        ("FR", "67000", "6AE"),
        ("FR", "68100", "6AE"),
        ("FR", "57000", "57"),
        ("FR", "75011", ""),
        ("FR", "97400", "974"),
        ("FR", "97110", "971"),
        ("FR", "97600", "976"),
        ("ES", "35001", "CN"),
        ("ES", "38001", "CN"),
        ("ES", "28001", "MD"),
        ("ES", "08001", "CT"),
        ("PT", "9500-123", "20"),
        ("PT", "9000-123", "30"),
        ("PT", "1000-001", ""),
        ("DE", "80331", ""),
        ("IT", "20121", ""),
        ("FR", "", ""),
        ("fr", "67 000", "6AE"),
    ],
)
def test_derive_region(country, postcode, expected):
    assert derive_region(country, postcode) == expected


def test_derived_regions_are_holidays_subdivisions():
    import holidays

    assert {"57", "6AE", "971", "974", "976"} <= set(holidays.FR.subdivisions)
    assert {"CN", "MD", "CT"} <= set(holidays.ES.subdivisions)
    assert {"20", "30"} <= set(holidays.PT.subdivisions)


def test_parsing_is_memoised_across_spellings():
    phones.clear_cache()
    normalise_number("06 12 34 56 78", default_region="FR")
    normalise_number("06.12.34.56.78", default_region="FR")
    normalise_number("06 12 34 56 78", default_region="FR")
    info = phones._parse.cache_info()
    assert (info.misses, info.hits) == (1, 2)


def test_fast_path_agrees_with_phonenumbers_parse():
    """The digits-only fast path must give what phonenumbers.parse gives: same E.164, type and
    region for valid numbers, invalid for invalid ones, on every dirty spelling of the demo file."""
    import random

    import phonenumbers
    from phonenumbers import PhoneNumberType

    from contacts.demo.prospects import _dirty, _NumberSource

    def signature(number):
        kind = phonenumbers.number_type(number)
        if kind == PhoneNumberType.UNKNOWN:
            return ("invalid",)
        return (phonenumbers.format_number(number, 0), kind, phonenumbers.region_code_for_number(number))

    rng = random.Random(3)
    checked = 0
    for region in ["FR", "BE", "NL", "DE", "IT", "ES", "PT", "RE"]:
        for kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE):
            source = _NumberSource(region, kind, rng)
            for _ in range(150):
                raw = _dirty(source.next(), rng)
                for spelling in (raw, raw[:-3], raw + "1"):
                    key = phones.cache_key(spelling)
                    fast = _fast_parse(key, region)
                    if fast is None:
                        continue
                    checked += 1
                    assert signature(fast) == signature(phonenumbers.parse(key, region)), (spelling, region)
    assert checked > 4000


def test_precompiled_types_agree_with_phonenumbers():
    """`fast_region_and_type` must give `region_code_for_number` and `number_type` exactly, for
    every calling code the fast parse builds: random national numbers of every length, biased to
    the leading digits each type of each region starts with so that every type is reached."""
    import random

    import phonenumbers
    from phonenumbers import PhoneNumberType
    from phonenumbers import timezone as pn_timezone

    rng = random.Random(11)
    seen_types: set[int] = set()
    checked = 0
    for code in sorted(phones._FAST_COUNTRY_CODES):
        prefixes = {""}
        for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[code]:
            md = phonenumbers.PhoneMetadata.metadata_for_region(region)
            for kind in PhoneNumberType.values():
                example = phonenumbers.example_number_for_type(region, kind)
                if example is not None:
                    nsn = phonenumbers.national_significant_number(example)
                    prefixes.update(nsn[:n] for n in range(1, 5))
            assert md is not None
        for prefix in sorted(prefixes):
            for length in range(max(len(prefix), 4), 14):
                for _ in range(12):
                    nsn = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix)))
                    if nsn.startswith("00") or (nsn.startswith("0") and code != 39):
                        continue
                    number = phonenumbers.PhoneNumber(
                        country_code=code, national_number=int(nsn), italian_leading_zero=nsn.startswith("0")
                    )
                    expected = (phonenumbers.region_code_for_number(number), phonenumbers.number_type(number))
                    assert phones.fast_region_and_type(code, nsn) == expected, (code, nsn)
                    if expected[1] != PhoneNumberType.UNKNOWN:
                        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                        assert e164 == f"+{code}{nsn}"
                        assert phones.fast_time_zones(code, e164, expected[1]) == tuple(
                            pn_timezone.time_zones_for_number(number)
                        ), (code, nsn)
                    seen_types.add(expected[1])
                    checked += 1
    assert checked > 30_000
    # Every type the import treats differently was compared, rejected ones included.
    assert {
        PhoneNumberType.MOBILE,
        PhoneNumberType.FIXED_LINE,
        PhoneNumberType.PREMIUM_RATE,
        PhoneNumberType.SHARED_COST,
        PhoneNumberType.TOLL_FREE,
        PhoneNumberType.VOIP,
        PhoneNumberType.UNKNOWN,
    } <= seen_types


def _fast_parse(key: str, region: str):
    """`phones._fast_digits` as the PhoneNumber phonenumbers.parse would return, to compare them."""
    import phonenumbers

    found = phones._fast_digits(key, region)
    if found is None:
        return None
    code, nsn = found
    return phonenumbers.PhoneNumber(
        country_code=code, national_number=int(nsn), italian_leading_zero=nsn.startswith("0") or None
    )


# What the stored columns and the dialler can take ------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("+49301234567890123", None),  # phonenumbers: a valid DE fixed line of 17 digits
        ("0301234567890123", "DE"),  # the same length in national form, through the fast path
        ("030123456789012", "DE"),
    ],
)
def test_a_number_longer_than_e164_is_refused(raw, region):
    assert normalise_number(raw, default_region=region) == NumberRejection(
        "invalid", f"{raw!r} is longer than E.164 allows (15 digits)"
    )


def test_a_non_geographic_number_is_refused_it_has_no_country():
    assert normalise_number("+800 1234 5678", default_region="FR") == NumberRejection(
        "invalid", "'+800 1234 5678' is not the number of a country (a non-geographic number)"
    )


@pytest.mark.parametrize(
    "raw", ["0612ABCDEF", "+33 6 HELLO 123", "06 12 34 56 78 ext 12", "06 12 34 56 78 x12"]
)
def test_letters_are_never_read_as_keypad_digits(raw):
    assert normalise_number(raw, default_region="FR") == NumberRejection(
        "unparseable", f"{raw!r} is not a phone number: it holds letters"
    )


@pytest.mark.parametrize("raw", ["Tel 06 12 34 56 78", "tél. : 06 12 34 56 78", "Mobile +33 6 12 34 56 78"])
def test_a_label_before_the_number_is_skipped_as_before(raw):
    # Refused as "letters" for a while (found by review): only letters from the first digit on are.
    assert normalise_number(raw, default_region="FR").e164 == "+33612345678"


def test_an_over_long_cell_is_refused_without_being_parsed_or_cached():
    phones.clear_cache()
    raw = "06" * 500_000
    assert normalise_number(raw, default_region="FR") == NumberRejection(
        "unparseable", f"{raw[:64] + '…'!r} is too long to be a phone number"
    )
    assert phones._parse.cache_info().currsize == 0
