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

from bot.domain.questionnaire.model import NONE_OPTION, Question
from bot.domain.text import normalize
from bot.i18n import N_

MSG_WHOLE_NUMBER = N_("Please type a whole number between {low} and {high}.")
MSG_SHARES_TOTAL = N_("The three shares add up to {total}%; they must add up to 100%.")
MSG_SHARES_FORMAT = N_(
    "Please type three numbers: domestic, indirect export and direct export, e.g. 70 20 10."
)
MSG_YEAR = N_("Please type a Solar Hijri year between {low} and {high}, e.g. 1398.")
MSG_GREGORIAN_YEAR = N_(
    "That looks like a Gregorian year; please type the Solar Hijri year (between {low} and {high})."
)
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

_PERCENT_SIGNS = "%\u066a"  # % and the Arabic percent sign
_INTEGER = re.compile(r"\d+")
_PERCENT = re.compile(r"[%\u066a]? ?(\d+) ?[%\u066a]?")  # one optional sign, before or after
_SHARE_SEPARATORS = re.compile(r"[\s,\u060c;/+|\-\u2013\u2014]+")  # spaces, commas (Latin and Arabic), ; / + | and dashes
_AND = "\u0648"  # the Persian word for "and", as in "70 and 20 and 10"
_ARABIC_COMMA = "\u060c"


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
        low, high = question.range
        match = (_PERCENT if kind == "percent" else _INTEGER).fullmatch(cleaned)
        if not match:
            raise InvalidAnswer(MSG_WHOLE_NUMBER, low=low, high=high)
        value = int(match.group(1) if kind == "percent" else cleaned)
        if not low <= value <= high:
            raise InvalidAnswer(MSG_WHOLE_NUMBER, low=low, high=high)
        return value
    if kind == "shares":
        return _parse_shares(cleaned)
    if kind == "year_or_none":
        return _parse_year(question, cleaned, current_year)
    raise TypeError(f"question {question.id}: a {kind} question is answered with buttons")


def _parse_text(question: Question, text: str) -> str:
    cleaned = normalize(text)
    if not cleaned:
        raise InvalidAnswer(MSG_EMPTY)
    limit = question.max_length or 0
    if len(cleaned) > limit:
        raise InvalidAnswer(MSG_TOO_LONG, limit=limit)
    return cleaned


def _parse_shares(cleaned: str) -> list[int]:
    for sign in _PERCENT_SIGNS:
        cleaned = cleaned.replace(sign, " ")
    tokens = [t for t in _SHARE_SEPARATORS.split(cleaned) if t and t != _AND]
    if len(tokens) != 3 or not all(_INTEGER.fullmatch(t) for t in tokens):
        raise InvalidAnswer(MSG_SHARES_FORMAT)
    values = [int(t) for t in tokens]
    total = sum(values)
    if total != 100:
        raise InvalidAnswer(MSG_SHARES_TOTAL, total=total)
    return values


def _parse_year(question: Question, cleaned: str, current_year: int) -> int | str:
    low = question.min_year or 0
    if question.has_option(NONE_OPTION):
        option = question.option(NONE_OPTION)
        if cleaned.casefold() in {NONE_OPTION, option.fa.casefold(), option.en.casefold()}:
            return NONE_OPTION
    if _INTEGER.fullmatch(cleaned) and GREGORIAN_YEARS[0] <= int(cleaned) <= GREGORIAN_YEARS[1]:
        raise InvalidAnswer(MSG_GREGORIAN_YEAR, low=low, high=current_year)
    if not _INTEGER.fullmatch(cleaned) or not low <= int(cleaned) <= current_year:
        raise InvalidAnswer(MSG_YEAR, low=low, high=current_year)
    return int(cleaned)


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
    """The stored value when "done" is pressed on a multi question; nothing chosen is refused."""
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
