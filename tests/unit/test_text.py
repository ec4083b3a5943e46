"""Normalising what users type and formatting numbers for Persian and English readers."""

from __future__ import annotations

import pytest

from bot.domain.text import localize_digits, normalize, number, only_digits, parse_id, year

ZWNJ = "\u200c"


def test_arabic_yeh_and_kaf_become_persian() -> None:
    assert normalize("علي كرمانشاهي") == "علی کرمانشاهی"


def test_persian_and_arabic_digits_become_latin() -> None:
    assert normalize("۱۲۳۴۵۶۷۸۹۰") == "1234567890"
    assert normalize("١٢٣٤٥٦٧٨٩٠") == "1234567890"
    assert normalize("کد ۰۲۱-٣٣") == "کد 021-33"


@pytest.mark.parametrize(
    "control", ["\u200b", "\u200d", "\u200e", "\u200f", "\u202a", "\u202b", "\u202c",
                "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\ufeff", "\u00ad"]
)
def test_invisible_controls_are_stripped(control: str) -> None:
    assert normalize(f"{control}شهرک{control} صنعتی{control}") == "شهرک صنعتی"


def test_zwnj_is_kept_inside_words() -> None:
    word = f"می{ZWNJ}خواهم"
    assert normalize(word) == word
    assert normalize(f"شمس{ZWNJ}آباد و عباس{ZWNJ}آباد") == f"شمس{ZWNJ}آباد و عباس{ZWNJ}آباد"


def test_zwnj_is_trimmed_at_the_ends() -> None:
    assert normalize(f"{ZWNJ}می{ZWNJ}خواهم{ZWNJ}") == f"می{ZWNJ}خواهم"


def test_whitespace_is_collapsed_and_trimmed() -> None:
    assert normalize("  شهرک \t\u00a0 صنعتی\u2009\u2009البرز  ") == "شهرک صنعتی البرز"


@pytest.mark.parametrize("empty", [None, "", "   ", "\u200f\u200b", ZWNJ])
def test_empty_and_invisible_only_input_normalizes_to_empty(empty: str | None) -> None:
    assert normalize(empty) == ""


def test_normalize_is_idempotent() -> None:
    text = "\u200f  علي   ۱۲ ك\u200bتاب  "
    once = normalize(text)
    assert once == "علی 12 کتاب"
    assert normalize(once) == once


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("۰۹۱۲ ۳۴۵ ۶۷۸۹", "09123456789"),
        ("0912-345-6789", "09123456789"),
        ("١٤٠٤/٠٧/١٥", "14040715"),
        ("12.5", "125"),
        ("42", "42"),
    ],
)
def test_only_digits_drops_separators(text: str, expected: str) -> None:
    assert only_digits(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "12a3", "۱۲x", "-", "+98912"])
def test_only_digits_refuses_anything_else(text: str) -> None:
    assert only_digits(text) is None


def test_only_digits_custom_ignore_set() -> None:
    assert only_digits("12/34", ignore=" -") is None
    assert only_digits("12 34", ignore=" -") == "1234"


def test_localize_digits() -> None:
    assert localize_digits("1404/07/15", "fa") == "۱۴۰۴/۰۷/۱۵"
    assert localize_digits("1404/07/15", "en") == "1404/07/15"
    assert localize_digits("no digits", "fa") == "no digits"


def test_number_persian_uses_persian_digits_and_separators() -> None:
    text = number(1234567, "fa")
    assert text == "۱٬۲۳۴٬۵۶۷"
    assert not any(ch in "0123456789," for ch in text)


def test_number_english() -> None:
    assert number(1234567, "en") == "1,234,567"
    assert number(1234567, "en", grouping=False) == "1234567"


def test_number_without_grouping_in_persian() -> None:
    assert number(1234567, "fa", grouping=False) == "۱۲۳۴۵۶۷"


def test_number_decimals() -> None:
    assert number(3.14159, "en", decimals=2) == "3.14"
    assert number(3.14159, "fa", decimals=2) == "۳٫۱۴"
    assert number(72.0, "en", decimals=1) == "72"  # optional decimals are dropped
    assert number(72.5, "fa", decimals=1) == "۷۲٫۵"


def test_number_zero() -> None:
    assert number(0, "fa") == "۰"
    assert number(0, "en") == "0"


def test_year_has_no_grouping() -> None:
    assert year(1404, "fa") == "۱۴۰۴"
    assert year(1404, "en") == "1404"


@pytest.mark.parametrize("text", ["²", "12³", "５０", "१२"])
def test_only_digits_refuses_other_digit_forms(text: str) -> None:
    """Callers int() the result (employees, founding year, national ID): superscripts,
    full-width and Devanagari digits are not digits to us, so the text is not a number."""
    assert only_digits(text) is None


@pytest.mark.parametrize(("typed", "expected"), [
    ("1023", 1023), ("۱۰۲۳", 1023), ("١٠٢٣", 1023), ("#۱۰۲۳", 1023), ("1,023", 1023),
    ("۱٬۰۲۳", 1023), ("۱،۰۲۳", 1023), ("١٬٠٢٣", 1023), ("＃１２", 12), (" 7 ", 7),
])
def test_ids_are_read_as_people_type_them(typed: str, expected: int) -> None:
    assert parse_id(typed) == expected


@pytest.mark.parametrize("typed", ["", "abc", "-3", "1.5", ",12", "12,", "1,,023", "۱۲الف", None])
def test_what_is_not_an_id_is_refused(typed: str | None) -> None:
    assert parse_id(typed) is None


def test_a_half_rounds_away_from_zero_as_printed() -> None:
    # 12.45 is stored as 12.4499999…; half-to-even (Babel's default) or round() would show 12.4
    assert number(12.45, "en", decimals=1) == "12.5"


def test_a_whole_number_half_rounds_up() -> None:
    assert number(2.5, "en") == "3"


def test_codes_keep_their_latin_digits_in_persian_text() -> None:
    assert localize_digits("ISO 9001 و ISO-14001، ۳ گواهی و 45 نفر", "fa") == "ISO 9001 و ISO-14001، ۳ گواهی و ۴۵ نفر"
