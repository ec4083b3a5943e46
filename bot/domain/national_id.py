"""The legal-entity national ID (شناسه ملی): 11 digits, the last a check digit; and, for firms
that have none (sole proprietorships), the owner's national code (کد ملی: 10 digits, the last a
check digit) with the business licence number."""

from __future__ import annotations

from bot.domain.text import fold_full_width_digits, normalize, only_digits

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


# --- a person's national code (کد ملی), for sole proprietorships without a legal-entity ID ------


def code_check_digit(first_nine: str) -> int:
    """The check digit of a personal national code from its first nine digits: the digits
    weighted 10 down to 2, summed, modulo 11; a remainder under 2 is the digit itself, else 11
    minus it."""
    remainder = sum(int(d) * (10 - i) for i, d in enumerate(first_nine)) % 11
    return remainder if remainder < 2 else 11 - remainder


def parse_national_code(text: str) -> str | None:
    """Returns a person's national code as 10 Latin digits, or None when it is not a valid one.

    Digits of any script are accepted, spaces and dashes ignored.  A code of one repeated digit
    (such as 1111111111) passes the check digit but is never issued, and is refused."""
    digits = only_digits(fold_full_width_digits(text), ignore=" -_")
    if digits is None or len(digits) != 10 or len(set(digits)) == 1:
        return None
    return digits if code_check_digit(digits[:9]) == int(digits[9]) else None


def code_shape_problem(text: str) -> str | None:
    """Why the input is not even shaped like a national code: 'letters', 'length' or None."""
    digits = only_digits(fold_full_width_digits(text), ignore=" -_")
    if digits is None:
        return "letters"
    if len(digits) != 10:
        return "length"
    return None


#: A business licence number (شماره پروانه بهره‌برداری / جواز کسب): digits and letters, with
#: «/» and «-» as the issuers write them; this many characters once spaces are taken out.
LICENCE_LENGTH = (3, 30)


def parse_licence(text: str) -> str | None:
    """The licence number as stored (Latin digits, no spaces, «/» and «-» kept), or None when
    it has characters no licence number has, or too few or too many."""
    folded = fold_full_width_digits(normalize(text))
    compact = "".join(folded.split()).replace("\u200c", "")
    low, high = LICENCE_LENGTH
    if not low <= len(compact) <= high:
        return None
    if not all(c.isalnum() or c in "/-" for c in compact) or not any(c.isdigit() for c in compact):
        return None
    return compact.upper()
