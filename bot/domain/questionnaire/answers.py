"""Turning what a firm types or presses into a stored answer value, and back into text.

Stored values are JSON-serialisable, per question type:

=============  ==============================================================
yesno, single, the option id (``str``)
ladder
multi          a non-empty list of option ids, in file order; an exclusive
               option ("none") only alone
percent, count ``int``
shares         ``[domestic, indirect, direct]``: three ints totalling 100
year_or_none   an ``int`` Solar Hijri year, or the ``str`` ``"none"``
text           ``str``
=============  ==============================================================

Bad input raises ``InvalidAnswer(msgid, **params)``: ``msgid`` is an English message marked with
``N_()``, translated and filled in by the caller (params are raw ints; the caller localises digits).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.domain.number_words import numbers_in_words
from bot.domain.questionnaire.model import NONE_OPTION, Question
from bot.domain.text import normalize
from bot.i18n import N_

MSG_WHOLE_NUMBER = N_("Please send one number between {low} and {high}, like {example}.")
MSG_ONE_NUMBER = N_("Please send just one number between {low} and {high}, not two.")
MSG_SHARES_TOTAL = N_("The three shares add up to {total}%; they must add up to 100%.")
MSG_SHARES_FORMAT = N_(
    "Please type three numbers: domestic, indirect export and direct export, e.g. 70 20 10 "
    "(or just 100 if all sales were domestic)."
)
MSG_YEAR = N_("Please type a Solar Hijri year between {low} and {high}, e.g. 1398.")
MSG_GREGORIAN_YEAR = N_(
    "That looks like a Gregorian year; please type the Solar Hijri year (between {low} and {high})."
)
MSG_TEXT = N_("Please type your answer as a text message.")
MSG_BUTTONS = N_("Please answer with the buttons of the question above.")
GREGORIAN_YEARS = (1800, 2100)
MSG_TOO_LONG = N_("Please keep it under {limit} characters.")
MSG_EMPTY = N_("Please type your answer.")
MSG_CHOOSE = N_("Please choose one of the buttons.")
MSG_AT_LEAST_ONE = N_("Please choose at least one option, then press Done.")
#: Why an answer is refused (``Question.refuse.reason`` in the questionnaire file).
REFUSALS = {
    "exports_reported": N_(
        "You reported exports in the split of your sales, so please type the year you started "
        "exporting (e.g. 1398)."
    ),
}

_INTEGER = re.compile(r"\d+")
# One number as people type it, digits already Latin (normalize): "25", "-5", "1,200" or
# "۱٬۲۰۰" (thousands), "12.5" or "۱۲٫۵" (a decimal, refused: answers are whole numbers).
_NUMBER = re.compile(r"(-)?(\d+(?:[.,\u066b\u066c]\d+)*)")
# In shares, commas separate the three numbers ("70,20,10"); only a point makes a decimal.
_SHARE_NUMBER = re.compile(r"\d+(?:[.\u066b]\d+)?")
_THOUSANDS = re.compile(r"\d{1,3}(?:[,\u066c]\d{3})+")
_ARABIC_COMMA = "\u060c"
#: The examples the "one number" message gives: a share for percentages, a few for counts.
_EXAMPLES = {"percent": 25, "count": 3}

# Yes and no as people type them, folded like option labels (see _fold): Persian «بله», «بلی»,
# «آره», «اره», «آری» / «خیر», «نه», «نخیر» (escaped: no Persian literals in code), and English.
# They are matched against a question's own option labels, never against option ids.
_YES_WORDS = frozenset({
    "\u0628\u0644\u0647", "\u0628\u0644\u06cc", "\u0622\u0631\u0647", "\u0627\u0631\u0647",
    "\u0622\u0631\u06cc", "yes", "y", "yeah", "yep",
})
_NO_WORDS = frozenset({
    "\u062e\u06cc\u0631", "\u0646\u0647", "\u0646\u062e\u06cc\u0631", "no", "n", "nope",
})
_FOLD_DROP = re.compile(r"[\s\u200c.!?\u061f,\u060c\u061b;:\-_()«»\"'\u2019]+")


class InvalidAnswer(ValueError):
    """Input that cannot be an answer; show ``translator(msgid, **params)`` and ask again."""

    def __init__(self, msgid: str, **params: Any) -> None:
        super().__init__(msgid.format(**params) if params else msgid)
        self.msgid = msgid
        self.params = params


# -- typed answers ----------------------------------------------------------------------------


def parse_typed(question: Question, text: str, *, current_year: int) -> Any:
    """Parses a typed answer to a percent, count, shares, year_or_none or text question.

    ``current_year`` is the current Solar Hijri year, the latest year accepted for year_or_none.
    """
    kind = question.type
    if kind == "text":
        return _parse_text(question, text)
    cleaned = normalize(text)
    if kind in ("percent", "count"):
        return _parse_number(question, cleaned)
    if kind == "shares":
        return _parse_shares(cleaned)
    if kind == "year_or_none":
        return _parse_year(question, cleaned, current_year)
    raise TypeError(f"question {question.id}: a {kind} question is answered with buttons")


def _number_message(question: Question) -> InvalidAnswer:
    low, high = question.range
    example = min(max(_EXAMPLES.get(question.type, low), low), high)
    return InvalidAnswer(MSG_WHOLE_NUMBER, low=low, high=high, example=example)


def _numbers(cleaned: str) -> list[re.Match[str]]:
    return list(_NUMBER.finditer(cleaned))


def _whole(match: re.Match[str]) -> int | None:
    """The whole number a match of _NUMBER stands for, or None for a decimal."""
    digits = match.group(2)
    if not digits.isdigit():
        if not _THOUSANDS.fullmatch(digits):
            return None
        digits = re.sub(r"\D", "", digits)
    value = int(digits)
    return -value if match.group(1) else value


def _spelled(cleaned: str) -> list[int]:
    """The numbers written in words where no digit was typed («سی», «بیست و پنج نفر»)."""
    return numbers_in_words(cleaned) or []


def single_number(text: str) -> int | None:
    """The one whole number in ``text``, words and units around it allowed («۲۵ نفر», "about
    20", «سی نفر»); None when there is none, more than one, or a decimal."""
    cleaned = normalize(text)
    found = _numbers(cleaned)
    if not found:
        spelled = _spelled(cleaned)
        return spelled[0] if len(spelled) == 1 else None
    return _whole(found[0]) if len(found) == 1 else None


def _parse_number(question: Question, cleaned: str) -> int:
    """One whole number, with any words or units around it: «۲۵ نفر», «حدود ۳۰٪», "about 20",
    "30%". No number, a decimal or a number out of range is refused; two numbers (a range such
    as «۲۰ تا ۳۰») get their own message."""
    low, high = question.range
    found = _numbers(cleaned)
    if not found:
        spelled = _spelled(cleaned)  # «سی», «هیچ», «بیست و پنج نفر»
        if len(spelled) > 1:
            raise InvalidAnswer(MSG_ONE_NUMBER, low=low, high=high)
        if spelled and low <= spelled[0] <= high:
            return spelled[0]
        raise _number_message(question)
    if len(found) > 1:
        raise InvalidAnswer(MSG_ONE_NUMBER, low=low, high=high)
    value = _whole(found[0])
    if value is None or not low <= value <= high:
        raise _number_message(question)
    return value


def expectation(question: Question, *, current_year: int) -> InvalidAnswer:
    """What ``question`` needs, as the one short line shown when something else arrives (a
    sticker, a photo, text where buttons are expected)."""
    kind = question.type
    if kind in ("percent", "count"):
        return _number_message(question)
    if kind == "shares":
        return InvalidAnswer(MSG_SHARES_FORMAT)
    if kind == "year_or_none":
        return InvalidAnswer(MSG_YEAR, low=question.min_year or 0, high=current_year)
    if kind == "text":
        return InvalidAnswer(MSG_TEXT)
    return InvalidAnswer(MSG_BUTTONS)


def _parse_text(question: Question, text: str) -> str:
    cleaned = normalize(text)
    if not cleaned:
        raise InvalidAnswer(MSG_EMPTY)
    limit = question.max_length or 0
    if len(cleaned) > limit:
        raise InvalidAnswer(MSG_TOO_LONG, limit=limit)
    return cleaned


def _parse_shares(cleaned: str) -> list[int]:
    """Three whole numbers in any separators or words («۷۰ ۲۰ ۱۰», "70% / 20% / 10%"), or a
    single 100: all sales domestic."""
    # Dashes here separate shares ("70-20-10"), so no number is read as negative.
    found = _SHARE_NUMBER.findall(cleaned)
    if not all(token.isdigit() for token in found):
        raise InvalidAnswer(MSG_SHARES_FORMAT)  # a decimal
    values = [int(token) for token in found]
    if values == [100]:
        return [100, 0, 0]
    if len(values) != 3:
        raise InvalidAnswer(MSG_SHARES_FORMAT)
    total = sum(values)
    if total != 100:
        raise InvalidAnswer(MSG_SHARES_TOTAL, total=total)
    return values


def two_digit_year(value: int, current_year: int) -> int:
    """The Solar Hijri year a two-digit year means.

    The rule: the year in the current Solar Hijri century, unless that lies in the future, then
    the year in the century before. In 1405: «۰۲» → 1402, «۹۵» → 1395, «۰۵» → 1405, «۰۶» →
    1306. ``current_year`` comes from the app's Clock (the caller converts its now), never the
    wall clock, so the pivot moves with the calendar and tests pin it.
    """
    century = current_year - current_year % 100
    year = century + value
    return year if year <= current_year else year - 100


def _parse_year(question: Question, cleaned: str, current_year: int) -> int | str:
    low = question.min_year or 0
    if question.has_option(NONE_OPTION):
        option = question.option(NONE_OPTION)
        if _fold(cleaned) in {NONE_OPTION, _fold(option.fa), _fold(option.en)}:
            return NONE_OPTION
    found = _numbers(cleaned)
    digits = found[0].group(2) if len(found) == 1 and not found[0].group(1) else ""
    if not digits.isdigit() or len(digits) not in (2, 4):
        raise InvalidAnswer(MSG_YEAR, low=low, high=current_year)
    value = two_digit_year(int(digits), current_year) if len(digits) == 2 else int(digits)
    if GREGORIAN_YEARS[0] <= value <= GREGORIAN_YEARS[1]:
        raise InvalidAnswer(MSG_GREGORIAN_YEAR, low=low, high=current_year)
    if not low <= value <= current_year:
        raise InvalidAnswer(MSG_YEAR, low=low, high=current_year)
    return value


def _fold(text: str) -> str:
    """``text`` as typed answers are compared with option labels: normalised (Persian ی and ک,
    Latin digits), without spaces, ZWNJ or punctuation, case-folded."""
    return _FOLD_DROP.sub("", normalize(text)).casefold()


def typed_choice(question: Question, text: str) -> str | None:
    """The option a typed text picks on a one-choice button question, or None.

    An option's own label typed (Persian or English; spaces, ZWNJ and punctuation aside) picks
    it on any such question («صفحه گسترده» on T5). On a yes/no-like question, where one
    option's label is a yes word and another's a no word (T1 «بله»/«خیر», Q1 «بله»/«در حال
    اخذ»/«خیر»/«نمی‌دانم»), the yes and no words pick those too («آره» → the option labelled
    «بله»)."""
    if question.type not in ("yesno", "single", "ladder"):
        return None
    typed = _fold(text)
    if not typed:
        return None
    labels = [(o.id, {_fold(o.fa), _fold(o.en)}) for o in question.options]
    for oid, folded in labels:
        if typed in folded:
            return oid
    yes = next((oid for oid, folded in labels if folded & _YES_WORDS), None)
    no = next((oid for oid, folded in labels if folded & _NO_WORDS), None)
    if yes is None or no is None:
        return None
    if typed in _YES_WORDS:
        return yes
    if typed in _NO_WORDS:
        return no
    return None


def check_refusal(question: Question, value: Any, answers: Mapping[str, Any]) -> None:
    """Raises InvalidAnswer when the questionnaire refuses ``value`` given the earlier
    ``answers`` (E2 "we don't export" after E1 reported exports)."""
    rule = question.refuse
    if rule is not None and rule.refuses(value, answers):
        raise InvalidAnswer(REFUSALS[rule.reason])


# -- buttons ----------------------------------------------------------------------------------


def choose(question: Question, option_id: str) -> str:
    """The stored value of pressing ``option_id`` on a yesno, single, ladder or year_or_none question."""
    if question.type not in ("yesno", "single", "ladder", "year_or_none"):
        raise TypeError(f"question {question.id}: a {question.type} question has no single choice")
    if not question.has_option(option_id):
        raise InvalidAnswer(MSG_CHOOSE)
    return option_id


def toggle(question: Question, current: list[str], option_id: str) -> list[str]:
    """Toggles ``option_id`` on a multi question; returns the new selection in file order.

    Choosing the exclusive option ("none") clears the others; choosing another clears "none".
    """
    if question.type != "multi":
        raise TypeError(f"question {question.id}: only a multi question toggles options")
    if not question.has_option(option_id):
        raise InvalidAnswer(MSG_CHOOSE)
    selected = {oid for oid in current if question.has_option(oid)}
    if option_id in selected:
        selected.discard(option_id)
    elif question.option(option_id).exclusive:
        selected = {option_id}
    else:
        selected = {oid for oid in selected if not question.option(oid).exclusive}
        selected.add(option_id)
    return [o.id for o in question.options if o.id in selected]


def finish_multi(question: Question, current: list[str]) -> list[str]:
    """The stored value when "done" is pressed on a multi question; nothing chosen is refused
    (an accidental tap must not record "none of these")."""
    value = [o.id for o in question.options if o.id in set(current)]
    if not value:
        raise InvalidAnswer(MSG_AT_LEAST_ONE)
    return value


# -- stored values ----------------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_stored(question: Question, value: Any, *, current_year: int | None = None) -> bool:
    """Whether ``value`` is a well-formed stored answer to ``question``."""
    kind = question.type
    if kind in ("yesno", "single", "ladder"):
        return isinstance(value, str) and question.has_option(value)
    if kind == "multi":
        if not isinstance(value, list) or not value:
            return False
        if not all(isinstance(v, str) and question.has_option(v) for v in value):
            return False
        if value != [o.id for o in question.options if o.id in set(value)]:
            return False  # duplicates or out of order
        return len(value) == 1 or not any(question.option(v).exclusive for v in value)
    if kind in ("percent", "count"):
        low, high = question.range
        return _is_int(value) and low <= value <= high
    if kind == "shares":
        return (
            isinstance(value, (list, tuple))
            and len(value) == 3
            and all(_is_int(v) and 0 <= v <= 100 for v in value)
            and sum(value) == 100
        )
    if kind == "year_or_none":
        if value == NONE_OPTION:
            return True
        high = current_year if current_year is not None else 9999
        return _is_int(value) and (question.min_year or 0) <= value <= high
    if kind == "text":
        return isinstance(value, str) and 0 < len(value) <= (question.max_length or 0)
    return False


def display(question: Question, value: Any, lang: str, *, limit: int = 60) -> str:
    """A short text of a stored answer for a review screen (Latin digits; the caller localises)."""
    kind = question.type
    percent = "\u066a" if lang == "fa" else "%"
    if kind in ("yesno", "single", "ladder"):
        return question.option(value).label(lang)
    if kind == "multi":
        separator = f"{_ARABIC_COMMA} " if lang == "fa" else ", "
        return separator.join(question.option(v).label(lang) for v in value)
    if kind == "percent":
        return f"{value}{percent}"
    if kind == "count":
        return str(value)
    if kind == "shares":
        return " / ".join(f"{v}{percent}" for v in value)
    if kind == "year_or_none":
        return question.option(NONE_OPTION).label(lang) if value == NONE_OPTION else str(value)
    if kind == "text":
        text = str(value).replace("\n", " ")
        return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"
    return str(value)
