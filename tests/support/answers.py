"""Random, valid answers to a questionnaire, as the answer repository stores them: the ranking
tests and the benchmarks (bench/ranking.py, bench/stalls.py) fill rounds with them."""

from __future__ import annotations

import random
from typing import Any

from bot.domain.questionnaire import NONE_OPTION, Question, Questionnaire


def random_answer(question: Question, rng: random.Random, ref_year: int) -> Any:
    """A random value as AnswerRepository stores it (before JSON encoding) for ``question``."""
    kind = question.type
    if kind in ("yesno", "single", "ladder"):
        return rng.choice(question.options).id
    if kind == "multi":
        exclusive = [o.id for o in question.options if o.exclusive]
        others = [o.id for o in question.options if not o.exclusive]
        if exclusive and rng.random() < 0.2:
            return exclusive[:1]
        picked = set(rng.sample(others, rng.randint(1, min(4, len(others)))))
        return [o for o in others if o in picked]
    if kind in ("percent", "count"):
        low, high = question.range
        if kind == "count":
            high = min(high, 12)
        return rng.randint(low, high)
    if kind == "shares":
        a = rng.randint(0, 100)
        b = rng.randint(0, 100 - a)
        return [a, b, 100 - a - b]
    if kind == "year_or_none":
        if rng.random() < 0.4:
            return NONE_OPTION
        return rng.randint(ref_year - 12, ref_year + 1)
    if kind == "text":
        return rng.choice(["برق مرتب قطع می‌شود.", "نقدینگی کم است.", "Customs delays."])
    raise ValueError(f"unknown question type {kind}")


def random_answers(
    questionnaire: Questionnaire, sector: str, rng: random.Random, ref_year: int,
    *, skip: float = 0.0,
) -> dict[str, Any]:
    """Answers to every question that applies to ``sector`` (the optional P3 half the time);
    with ``skip`` > 0, each question is left unanswered with that probability."""
    answers = {}
    for q in questionnaire.questions_for(sector):
        if not q.required and rng.random() < 0.5:
            continue
        if skip and rng.random() < skip:
            continue
        answers[q.id] = random_answer(q, rng, ref_year)
    return answers
