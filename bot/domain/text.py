"""Normalisation of what users type, and Persian-aware formatting of what the bot shows."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_decimal
from persiantools import characters, digits

# Zero-width and bidi controls that phone keyboards and copy-paste leave behind.  ZWNJ (U+200C)
# is part of Persian spelling ("می‌خواهم"), so it is kept inside words and only trimmed at ends.
_INVISIBLE = re.compile("[\u200b\u200d\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\u00ad]")
_LATIN_DIGITS = re.compile(r"[0-9]+")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")


def normalize(text: str | None) -> str:
    """Returns user input with Latin digits, Persian ی/ک, no invisible controls, trimmed."""
    if not text:
        return ""
    text = _INVISIBLE.sub("", text)
    text = characters.ar_to_fa(text)
    text = digits.fa_to_en(digits.ar_to_fa(text))
    text = _SPACES.sub(" ", text)
    return text.strip(" \n\r\u200c")


# Full-width digits (U+FF10…U+FF19) come from East Asian keyboards and from IDs copied out of
# some PDFs.  Only identifiers fold them: a count or a year typed that way stays refused.
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def fold_full_width_digits(text: str) -> str:
    """Returns ``text`` with full-width digits as Latin ones."""
    return text.translate(_FULL_WIDTH_DIGITS)


# Thousands separators people type in an id (Latin and Arabic commas, the Arabic thousands
# sign, apostrophes, thin and no-break spaces): dropped only between digits.
_ID_SEPARATORS = re.compile(r"(?<=\d)[,\u066c\u060c'\u2019 \u00a0\u202f\u2009](?=\d)")
_ID_SIGNS = "#\uff03\u2116"  # #, full-width #, №


def parse_id(text: str | None) -> int | None:
    """A record id as people type it: «۱٬۰۲۳», «1,023», «#۱۰۲۳», «١٠٢٣» → 1023; None for
    anything that is not a whole positive number."""
    value = fold_full_width_digits(normalize(text)).lstrip(_ID_SIGNS).strip()
    value = _ID_SEPARATORS.sub("", value)
    if not re.fullmatch(r"\d{1,12}", value):
        return None
    return int(value)


def only_digits(text: str, *, ignore: str = " -_/.") -> str | None:
    """Returns the digits of ``text`` when everything else is an ignorable separator."""
    text = normalize(text)
    for ch in ignore:
        text = text.replace(ch, "")
    # str.isdigit() also accepts ² or full-width digits, which int() then rejects.
    return text if _LATIN_DIGITS.fullmatch(text) else None


def localize_digits(text: str, lang: str) -> str:
    """Shows Latin digits as Persian digits for Persian readers."""
    return digits.en_to_fa(text) if lang == "fa" else text


def rounded(value: float | int, decimals: int = 0) -> Decimal:
    """The one rounding rule of every figure Khooshe shows, in messages and in workbooks: half
    away from zero on the decimal digits as printed (12.45 → 12.5; a float's binary
    representation, or Babel's default half-to-even, would make it 12.4 in one place and 12.5 in
    another)."""
    return Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def number(value: float | int, lang: str, *, grouping: bool = True, decimals: int = 0) -> str:
    """Formats a number with the locale's separators and digits, rounded by ``rounded``."""
    pattern = "#,##0" if grouping else "0"
    if decimals:
        pattern += "." + "#" * decimals
    formatted = format_decimal(rounded(value, decimals), format=pattern, locale=lang, numbering_system="default")
    return localize_digits(formatted, lang)


def year(value: int, lang: str) -> str:
    """Formats a calendar year without grouping (۱۴۰۴, not ۱٬۴۰۴)."""
    return localize_digits(str(value), lang)
