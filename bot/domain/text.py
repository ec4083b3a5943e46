"""Normalisation of what users type, and Persian-aware formatting of what the bot shows."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

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
# sign, the Persian keyboard's decimal sign next to it, a full stop, apostrophes, thin and
# no-break spaces): dropped only between digits and before a group of exactly three, so
# «۱٬۰۲۳» is 1023 but a slip such as «12,5» is no id at all (never the wrong person's: 125).
_ID_SEPARATORS = re.compile(r"(?<=\d)[,.\u066b\u066c\u060c'\u2019 \u00a0\u202f\u2009](?=\d{3}(?!\d))")
_ID_SIGNS = "#\uff03\u2116"  # #, full-width #, №


def parse_id(text: str | None) -> int | None:
    """A record id as people type it: «۱٬۰۲۳», «1,023», «1.023», «#۱۰۲۳», «١٠٢٣» → 1023; None
    for anything that is not a whole positive number (a separator must stand before three
    digits: «12,5» is refused)."""
    value = fold_full_width_digits(normalize(text)).lstrip(_ID_SIGNS).strip()
    value = _ID_SEPARATORS.sub("", value)
    if not re.fullmatch(r"\d{1,12}", value):
        return None
    return int(value)


def local_phone(phone: str) -> str:
    """An Iranian mobile number as people write it at home: «+989121234567» → «09121234567»
    (a Latin "+" in a right-to-left line would jump to its other end); others unchanged."""
    digits = re.sub(r"\D", "", phone)
    if len(digits) == 12 and digits.startswith("98"):
        return "0" + digits[2:]
    return phone


def only_digits(text: str, *, ignore: str = " -_/.") -> str | None:
    """Returns the digits of ``text`` when everything else is an ignorable separator."""
    text = normalize(text)
    for ch in ignore:
        text = text.replace(ch, "")
    # str.isdigit() also accepts ² or full-width digits, which int() then rejects.
    return text if _LATIN_DIGITS.fullmatch(text) else None


#: A code written with Latin letters and digits («ISO 9001», «ISO-14001»): its digits stay Latin
#: in Persian text too, as on the buttons and certificates.
_CODE = re.compile(r"\b[A-Z]{2,}[ \-]?\d+")


def localize_digits(text: str, lang: str) -> str:
    """Shows Latin digits as Persian digits for Persian readers, except in codes such as
    «ISO 9001»."""
    if lang != "fa":
        return text
    out, pos = [], 0
    for code in _CODE.finditer(text):
        out += [digits.en_to_fa(text[pos:code.start()]), code.group()]
        pos = code.end()
    out.append(digits.en_to_fa(text[pos:]))
    return "".join(out)


def rounded(value: float | int, decimals: int = 0) -> Decimal:
    """The one rounding rule of every figure Khooshe shows, in messages and in workbooks: half
    away from zero on the decimal digits as printed (12.45 → 12.5; a float's binary
    representation, or Babel's default half-to-even, would make it 12.4 in one place and 12.5 in
    another)."""
    return Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


# The decimal and group separators of each language, as CLDR (Babel) gives them with the
# language's default digits. Babel's ``format_decimal`` loaded the language's whole CLDR data
# on its first call, time-zone and territory names included: +7 MB of RSS for Persian and +3 MB
# for English that stayed for good (bench/memory.py), for the two characters used here.
_SEPARATORS = {"fa": ("\u066b", "\u066c"), "en": (".", ",")}


def number(value: float | int, lang: str, *, grouping: bool = True, decimals: int = 0) -> str:
    """Formats a number with the locale's separators and digits, rounded by ``rounded``; up to
    ``decimals`` decimal digits, trailing zeros dropped (what Babel's ``#,##0.##`` gives)."""
    decimal_sign, group_sign = _SEPARATORS.get(lang, _SEPARATORS["en"])
    exact = rounded(value, decimals)
    whole, _, fraction = f"{abs(exact):f}".partition(".")
    if grouping:
        whole = f"{int(whole):,}".replace(",", group_sign)
    fraction = fraction.rstrip("0")
    formatted = ("-" if exact.is_signed() else "") + whole + (decimal_sign + fraction if fraction else "")
    return localize_digits(formatted, lang)


def year(value: int, lang: str) -> str:
    """Formats a calendar year without grouping (۱۴۰۴, not ۱٬۴۰۴)."""
    return localize_digits(str(value), lang)


# --- finding a place by what people type -------------------------------------------------------

# Harakat, superscript alef, small high marks and tatweel: decoration, never part of a name.
_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
# Letters written more than one way in names of places: Arabic forms and hamza carriers
# (آ أ إ ٱ → ا, ي ى ې ئ → ی, ك ڪ → ک, ة ۀ ە ھ → ه, ؤ → و).
_LETTER_FORMS = str.maketrans({
    "\u0622": "\u0627", "\u0623": "\u0627", "\u0625": "\u0627", "\u0671": "\u0627",
    "\u064a": "\u06cc", "\u0649": "\u06cc", "\u06d0": "\u06cc", "\u0626": "\u06cc",
    "\u0643": "\u06a9", "\u06aa": "\u06a9",
    "\u0629": "\u0647", "\u06c0": "\u0647", "\u06d5": "\u0647", "\u06be": "\u0647",
    "\u0624": "\u0648",
})
# Anything but letters and digits (spaces, ZWNJ, dashes, brackets) separates words.
_NOT_WORD = re.compile(r"[\W_]+")
#: Words that every estate's name carries («شهرک صنعتی …», «ناحیه صنعتی …»), so they tell none
#: apart: a search ignores them.  شهرک, ناحیه, صنعتی:
GENERIC_PLACE_WORDS = frozenset({
    "\u0634\u0647\u0631\u06a9", "\u0646\u0627\u062d\u06cc\u0647", "\u0635\u0646\u0639\u062a\u06cc",
})


def search_key(text: str | None) -> str:
    """The words of a place's name as a search compares them: «شهرك صنعتي عباس آباد» and
    «عبّاس‌آباد» both give ``عباس اباد``.  Arabic letter forms, hamza carriers, diacritics and
    tatweel are folded, digits of any script become Latin, Latin letters lose their case,
    spaces and ZWNJ both separate words, and the generic words (GENERIC_PLACE_WORDS) are dropped."""
    folded = _DIACRITICS.sub("", normalize(text)).translate(_LETTER_FORMS).casefold()
    return " ".join(w for w in _NOT_WORD.split(folded) if w and w not in GENERIC_PLACE_WORDS)


def key_matches(query_key: str, name_key: str) -> bool:
    """Whether a name (its ``search_key``) holds every word of a query's key, wherever the
    name splits its own words: «عباس اباد» and «عباساباد» both find ``عباس اباد``."""
    name = name_key.replace(" ", "")
    return all(word in name for word in query_key.split())


# --- Persian alphabetical order ----------------------------------------------------------------

# ء ا ب پ ت ث ج چ ح خ د ذ ر ز ژ س ش ص ض ط ظ ع غ ف ق ک گ ل م ن و ه ی
_PERSIAN_ALPHABET = (
    "\u0621\u0627\u0628\u067e\u062a\u062b\u062c\u0686\u062d\u062e\u062f\u0630\u0631\u0632\u0698\u0633\u0634\u0635\u0636\u0637\u0638\u0639\u063a\u0641\u0642\u06a9\u06af\u0644\u0645\u0646\u0648\u0647\u06cc"
)
# Each form of a letter sorts with its letter; the number breaks ties (آب after اب).
_LETTER_OF = {ch: (ch, 0) for ch in _PERSIAN_ALPHABET} | {
    "\u0622": ("\u0627", 1), "\u0623": ("\u0627", 2), "\u0625": ("\u0627", 3), "\u0671": ("\u0627", 4),
    "\u064a": ("\u06cc", 1), "\u0649": ("\u06cc", 2), "\u0626": ("\u06cc", 3), "\u06d0": ("\u06cc", 4),
    "\u0643": ("\u06a9", 1), "\u06aa": ("\u06a9", 2),
    "\u0629": ("\u0647", 1), "\u06c0": ("\u0647", 2), "\u06d5": ("\u0647", 3), "\u06be": ("\u0647", 4),
    "\u0624": ("\u0648", 1),
}
_RANK = {ch: i for i, ch in enumerate(_PERSIAN_ALPHABET)}
_DIGIT_RUN = re.compile(r"\d+")
# Classes of a sort key's elements, in the order they sort: separators, numbers, Persian
# letters, Latin (and other) letters.
_SPACE, _NUMBER, _PERSIAN, _OTHER = range(4)


def persian_sort_key(text: str) -> tuple[tuple[tuple[int, int], ...], tuple[int, ...], str]:
    """A key that sorts names in Persian alphabetical order (ا ب پ ت … ک گ … و ه ی), not by
    code point: Arabic letter forms sort with their Persian letter (آ with ا, ي with ی, ك with
    ک), diacritics, tatweel and ZWNJ are ignored, a number sorts by its value in any script
    («شماره ۲» before «شماره ۱۰»), and Persian names come before Latin ones."""
    plain = _DIACRITICS.sub("", digits.ar_to_fa(text)).replace("\u200c", "")
    plain = digits.fa_to_en(plain)
    primary: list[tuple[int, int]] = []
    ties: list[int] = []
    position = 0
    for run in _DIGIT_RUN.finditer(plain):
        _letters(plain[position:run.start()], primary, ties)
        primary.append((_NUMBER, int(run.group())))
        position = run.end()
    _letters(plain[position:], primary, ties)
    return tuple(primary), tuple(ties), text


def _letters(text: str, primary: list[tuple[int, int]], ties: list[int]) -> None:
    for ch in text:
        if ch in _LETTER_OF:
            letter, tie = _LETTER_OF[ch]
            primary.append((_PERSIAN, _RANK[letter]))
            ties.append(tie)
        elif ch.isspace() or not ch.isalnum():
            if primary and primary[-1] != (_SPACE, 0):
                primary.append((_SPACE, 0))
        else:
            folded = ch.casefold()
            primary.append((_OTHER, ord(folded[0])))
            ties.append(0 if folded == ch else 1)
