"""Whole numbers written in words («سی», «بیست و پنج نفر», «صد و بیست», "thirty"), for typed answers.

The words are data (``number_words.toml``). A number is a run of number words, with «و» / "and"
between its parts; other words around it (units, «حدود») are ignored as they are around digits.
"""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path
from typing import NamedTuple

_TOKEN = re.compile(r"[^\s\u200c\-]+")


class _Words(NamedTuple):
    units: dict[str, int]
    tens: dict[str, int]
    hundreds: dict[str, int]
    scales: dict[str, int]
    compound_only: dict[str, int]
    joiners: frozenset[str]
    plural_marks: frozenset[str]


@cache
def _words() -> _Words:
    data = tomllib.loads((Path(__file__).with_name("number_words.toml")).read_text(encoding="utf-8"))
    return _Words(data["units"], data["tens"], data["hundreds"], data["scales"], data["compound_only"],
                  frozenset(data["joiners"]["words"]), frozenset(data["plural_marks"]["words"]))


def _value(word: str, words: _Words) -> int | None:
    for table in (words.units, words.tens, words.hundreds, words.scales, words.compound_only):
        if word in table:
            return table[word]
    return None


def numbers_in_words(text: str) -> list[int] | None:
    """The numbers written in words in ``text`` (already normalised), one per separate run of
    number words; None when the text has no number word or a run does not read as one number
    («بیست سی»)."""
    words = _words()
    tokens = [token.casefold() for token in _TOKEN.findall(text)]
    runs: list[list[str]] = []
    current: list[str] = []
    for i, token in enumerate(tokens):
        if token in words.plural_marks and current:
            return None  # «ده‌ها»: "tens of", not ten
        if _value(token, words) is not None:
            current.append(token)
        elif token in words.joiners and current and i + 1 < len(tokens) and _value(tokens[i + 1], words) is not None:
            continue  # «بیست و پنج»: the joiner belongs to the number
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    if not runs:
        return None
    values = [_read(run, words) for run in runs]
    if any(value is None for value in values):
        return None
    return [value for value in values if value is not None]


def _read(run: list[str], words: _Words) -> int | None:
    """One run of number words as a number, read left to right: thousands, hundreds, tens, units,
    each at most once per group (no «بیست سی»); «نه» only after another part («بیست و نه»)."""
    if len(run) == 1 and run[0] in words.compound_only:
        return None
    total, group, last_rank = 0, 0, 4  # ranks: 3 hundreds, 2 tens, 1 units
    for word in run:
        if word in words.scales:
            total += (group or 1) * words.scales[word]
            group, last_rank = 0, 4
            continue
        if word in words.hundreds:
            rank, value = 3, words.hundreds[word]
            if value == 100 and 0 < group < 10 and last_rank == 1:  # «سه صد», "three hundred"
                group, last_rank = group * 100, 3
                continue
        elif word in words.tens:
            rank, value = 2, words.tens[word]
        else:
            rank = 1
            value = words.units.get(word, words.compound_only.get(word, 0))
            if value >= 10 and last_rank <= 2:
                return None  # «بیست یازده»
        if rank >= last_rank:
            return None
        group += value
        last_rank = rank
    return total + group
