"""The legal-entity national ID (شناسه ملی) and a person's national code (کد ملی): shape, check
digit and the digit systems users type; the business licence number's shape."""

from __future__ import annotations

import pytest

from bot.domain.national_id import (
    check_digit,
    code_check_digit,
    code_shape_problem,
    parse_licence,
    parse_national_code,
    parse_national_id,
    shape_problem,
)

VALID = ["10380284790", "10320894878", "14007654327"]
INVALID = ["10380284792", "10380285692", "09748208301", "11111111111", "00000000000"]

PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
ARABIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.mark.parametrize("nid", VALID)
def test_known_valid_ids_are_accepted(nid: str) -> None:
    assert parse_national_id(nid) == nid


@pytest.mark.parametrize("nid", VALID)
def test_check_digit_of_valid_ids(nid: str) -> None:
    assert check_digit(nid[:10]) == int(nid[10])


@pytest.mark.parametrize("nid", INVALID)
def test_known_invalid_ids_are_rejected(nid: str) -> None:
    assert parse_national_id(nid) is None


@pytest.mark.parametrize("nid", VALID)
def test_every_other_last_digit_is_rejected(nid: str) -> None:
    for wrong in "0123456789":
        if wrong != nid[10]:
            assert parse_national_id(nid[:10] + wrong) is None


def test_check_digit_remainder_ten_becomes_zero() -> None:
    # Find a prefix whose weighted sum leaves remainder 10; its check digit must be 0.
    coefficients = (29, 27, 23, 19, 17)
    for n in range(1000000000, 1000100000):
        prefix = str(n)
        shift = int(prefix[9]) + 2
        total = sum((shift + int(d)) * coefficients[i % 5] for i, d in enumerate(prefix))
        if total % 11 == 10:
            assert check_digit(prefix) == 0
            break
    else:  # pragma: no cover - the range always holds one
        pytest.fail("no prefix with remainder 10 found")


@pytest.mark.parametrize("nid", VALID)
def test_persian_digits_are_accepted(nid: str) -> None:
    assert parse_national_id(nid.translate(PERSIAN)) == nid


@pytest.mark.parametrize("nid", VALID)
def test_arabic_indic_digits_are_accepted(nid: str) -> None:
    assert parse_national_id(nid.translate(ARABIC)) == nid


def test_mixed_digit_systems_are_accepted() -> None:
    mixed = "103" + "8028".translate(PERSIAN) + "4790".translate(ARABIC)
    assert parse_national_id(mixed) == "10380284790"


@pytest.mark.parametrize(
    "text",
    ["1038 0284 790", "103-802-847-90", "  10380284790  ", "۱۰۳۸-۰۲۸۴-۷۹۰", "1038_0284_790"],
)
def test_spaces_and_dashes_are_ignored(text: str) -> None:
    assert parse_national_id(text) == "10380284790"


@pytest.mark.parametrize(
    "text", ["", "abc", "1038028479", "103802847900", "1038028479O", "10380.284790"]
)
def test_malformed_input_is_rejected(text: str) -> None:
    assert parse_national_id(text) is None


def test_zero_middle_block_is_rejected_even_with_matching_check_digit() -> None:
    prefix = "1230000004"
    nid = prefix + str(check_digit(prefix))
    assert parse_national_id(nid) is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("10380284790", None),
        ("10380284792", None),  # shaped like an ID, merely a wrong check digit
        ("۱۰۳۸۰۲۸۴۷۹۰", None),
        ("1038-0284-790", None),
        ("1038028479", "length"),
        ("103802847900", "length"),
        ("", "letters"),
        ("abc", "letters"),
        ("1038o284790", "letters"),
    ],
)
def test_shape_problem(text: str, problem: str | None) -> None:
    assert shape_problem(text) == problem


@pytest.mark.parametrize(
    "text",
    [
        "1038028479²",  # a superscript two
        "¹⁰³⁸⁰²⁸⁴⁷⁹⁰",
        "१०३८०२८४७९०",  # Devanagari digits
    ],
)
def test_odd_unicode_digits_are_refused_not_crashed_on(text: str) -> None:
    """Only Latin, Persian, Arabic and full-width digits count: other digit forms (which
    str.isdigit() accepts and int() may not) make the ID invalid, and nothing raises."""
    assert parse_national_id(text) is None
    assert shape_problem(text) == "letters"


def test_full_width_digits_are_read_as_digits() -> None:
    """Some keyboards and copy-paste give full-width digits; the ID they spell is the ID."""
    assert parse_national_id("１０３８０２８４７９０") == "10380284790"


def test_full_width_digits_with_a_wrong_check_digit_are_refused_for_the_check_digit() -> None:
    assert parse_national_id("１０３８０２８４７９２") is None
    assert shape_problem("１０３８０２８４７９２") is None


# --- a person's national code (کد ملی) and the business licence number -------------------------

VALID_CODES = ["0499370899", "0084575948", "1234567891", "0012345679"]
INVALID_CODES = ["0499370898", "0084575941", "1234567890", "1111111111", "0000000000"]


@pytest.mark.parametrize("code", VALID_CODES)
def test_check_digit_of_valid_national_codes(code: str) -> None:
    assert code_check_digit(code[:9]) == int(code[9])


@pytest.mark.parametrize("code", VALID_CODES)
def test_valid_national_codes_are_accepted(code: str) -> None:
    assert parse_national_code(code) == code


@pytest.mark.parametrize("code", INVALID_CODES)
def test_invalid_national_codes_are_refused(code: str) -> None:
    assert parse_national_code(code) is None


def test_a_remainder_under_two_is_the_check_digit_itself() -> None:
    # Weights 10 down to 2: «000000006» sums to 6×2 = 12 ≡ 1 (mod 11), so the digit is 1;
    # «000000012» sums to 1×3 + 2×2 = 7, so the digit is 11 − 7 = 4.
    assert code_check_digit("000000006") == 1
    assert code_check_digit("000000012") == 4


def test_a_national_code_in_persian_digits_with_dashes_is_accepted() -> None:
    assert parse_national_code("۰۴۹-۹۳۷۰۸۹-۹") == "0499370899"


def test_a_national_code_with_letters_or_the_wrong_length_says_why() -> None:
    assert (code_shape_problem("04993x0899"), code_shape_problem("049937089"), code_shape_problem("0499370899")) == (
        "letters", "length", None)


def test_an_11_digit_legal_id_is_not_a_national_code() -> None:
    assert parse_national_code("10380284790") is None


def test_a_licence_number_keeps_slash_and_dash_and_drops_spaces() -> None:
    assert parse_licence(" ۱۲۳۴۵ / ۶۷۸ ") == "12345/678"


def test_a_licence_number_without_digits_or_with_other_signs_is_refused() -> None:
    assert (parse_licence("ABCD"), parse_licence("12#45"), parse_licence("1")) == (None, None, None)
