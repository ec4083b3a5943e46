"""The legal-entity national ID (شناسه ملی): 11 digits, the last a check digit."""

from __future__ import annotations

from bot.domain.text import fold_full_width_digits, only_digits

_COEFFICIENTS = (29, 27, 23, 19, 17)


def check_digit(first_ten: str) -> int:
    """Computes the check digit from the first ten digits (ISIPO/ILENC rule)."""
    shift = int(first_ten[9]) + 2
    total = sum((shift + int(d)) * _COEFFICIENTS[i % 5] for i, d in enumerate(first_ten))
    remainder = total % 11
    return 0 if remainder == 10 else remainder


def parse_national_id(text: str) -> str | None:
    """Returns the ID as 11 Latin digits, or None when it is not a valid one.

    Persian, Arabic, full-width and Latin digits are accepted; spaces and dashes are ignored.
    """
    digits = only_digits(fold_full_width_digits(text), ignore=" -_")
    if digits is None or len(digits) != 11:
        return None
    if int(digits[3:9]) == 0:
        return None
    return digits if check_digit(digits[:10]) == int(digits[10]) else None


def shape_problem(text: str) -> str | None:
    """Says why the input is not even shaped like an ID: 'letters', 'length' or None."""
    digits = only_digits(fold_full_width_digits(text), ignore=" -_")
    if digits is None:
        return "letters"
    if len(digits) != 11:
        return "length"
    return None
