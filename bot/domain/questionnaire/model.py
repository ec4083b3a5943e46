"""The questionnaire as data: frozen pydantic models, validated when a version file is loaded.

A broken file is rejected with a message naming the question and the field, for example
``question T4: options: points must not decrease along a ladder`` (see ``loader.py``).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from itertools import pairwise
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    PrivateAttr,
    field_validator,
    model_validator,
)

#: Question types.  "Choice" types are answered with buttons, "typed" types with a message.
QUESTION_TYPES = ("yesno", "single", "ladder", "multi", "percent", "shares", "year_or_none", "count", "text")
CHOICE_TYPES = frozenset({"yesno", "single", "ladder", "multi"})
TYPED_TYPES = frozenset({"percent", "count", "shares", "year_or_none", "text"})
#: Option ids a yes/no question may use (``yes`` and ``no`` are mandatory).
YESNO_OPTIONS = ("yes", "no", "in_process", "dont_know")
#: The option id of the "none" button of a year_or_none question (also the stored value).
NONE_OPTION = "none"
#: Placeholders question texts may contain; the caller fills them in with ``str.format``.
PLACEHOLDERS = frozenset({"fiscal_year"})
#: ISIC sections (rev. 4), the vocabulary of ``Question.sectors``.
ISIC_SECTIONS = frozenset("ABCDEFGHIJKLMNOPQRSTU")
#: Why an answer may be refused (``Question.refuse``); each has a translated message in answers.py.
REFUSAL_REASONS = frozenset({"exports_reported"})

_FROZEN = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


def _placeholders(text: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:  # an unbalanced brace
        raise ValueError(f"bad placeholder syntax ({exc})") from None


class LocalText(BaseModel):
    """A text in both languages; Persian is the original."""

    model_config = _FROZEN

    fa: str
    en: str

    @field_validator("fa", "en")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        if not value:
            raise ValueError("must not be empty")
        return value

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.fa


class Option(BaseModel):
    """A button.  ``points`` is None for unscored questions and for an ``excluded`` option."""

    model_config = _FROZEN

    id: str
    fa: str
    en: str
    points: float | None = None
    #: multi only: the "none" option; choosing it clears the others, and vice versa.
    exclusive: bool = False
    #: single only: choosing it leaves the question out of the dimension mean ("not applicable").
    excluded: bool = False

    @field_validator("id", "fa", "en")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        if not value:
            raise ValueError("must not be empty")
        return value

    @field_validator("points")
    @classmethod
    def _in_range(cls, value: float | None) -> float | None:
        if value is not None and not 0 <= value <= 100:
            raise ValueError("must be between 0 and 100")
        return value

    def label(self, lang: str) -> str:
        return self.en if lang == "en" else self.fa


class Part(BaseModel):
    """One of the three shares of a ``shares`` question; its score is ``sum(factor * value)``."""

    model_config = _FROZEN

    id: str
    fa: str
    en: str
    factor: float = 0

    def label(self, lang: str) -> str:
        return self.en if lang == "en" else self.fa


class Condition(BaseModel):
    """A test on the stored answer to an earlier question (``skip_if``, ``refuse.when``).

    Either ``answer_in`` (a choice question: the answer is, or for a multi includes, one of the
    options) or a bound on a number (``at_most``, ``at_least``): a percent or count value, or for
    a shares question the sum of the named ``parts``.  No answer never satisfies a condition.
    """

    model_config = _FROZEN

    question: str
    answer_in: tuple[str, ...] | None = None
    parts: tuple[str, ...] | None = None
    at_most: int | None = None
    at_least: int | None = None

    #: positions of ``parts`` in a shares answer; set by the Questionnaire.
    _part_index: tuple[int, ...] = PrivateAttr(default=())

    @model_validator(mode="after")
    def _one_kind(self) -> Condition:
        bounded = self.at_most is not None or self.at_least is not None
        if (self.answer_in is not None) == bounded:
            raise ValueError("give either answer_in or at_most / at_least")
        if self.answer_in is not None and not self.answer_in:
            raise ValueError("answer_in must not be empty")
        if self.parts is not None and not bounded:
            raise ValueError("parts go with at_most / at_least")
        return self

    def _problem(self, source: Question) -> str | None:
        """What makes this condition unusable on ``source``, the question it names."""
        if self.answer_in is not None:
            if source.type not in CHOICE_TYPES:
                return f"answer_in needs a choice question, {source.id} is {source.type}"
            unknown = [o for o in self.answer_in if not source.has_option(o)]
            if unknown:
                return f"{source.id} has no option {unknown[0]!r}"
            return None
        if source.type == "shares":
            if not self.parts:
                return f"{source.id} is a shares question: name the parts to add up"
            ids = [p.id for p in source.parts]
            unknown = [p for p in self.parts if p not in ids]
            if unknown:
                return f"{source.id} has no part {unknown[0]!r}"
            return None
        if source.type not in ("percent", "count"):
            return f"at_most / at_least need a number question, {source.id} is {source.type}"
        if self.parts is not None:
            return f"parts: {source.id} is not a shares question"
        return None

    def holds(self, value: Any) -> bool:
        """Whether the stored answer ``value`` (None: no answer) satisfies the condition."""
        if value is None:
            return False
        if self.answer_in is not None:
            if isinstance(value, list):
                return any(v in self.answer_in for v in value)
            return isinstance(value, str) and value in self.answer_in
        if self._part_index:
            if not isinstance(value, list) or len(value) <= max(self._part_index):
                return False
            picked = [value[i] for i in self._part_index]
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in picked):
                return False
            number = sum(picked)
        elif isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            return False
        if self.at_most is not None and number > self.at_most:
            return False
        return self.at_least is None or number >= self.at_least


class Refusal(BaseModel):
    """Answers refused while a condition holds, e.g. E2 "we don't export" after E1 reported
    exports; ``reason`` picks the message shown (one of ``REFUSAL_REASONS``)."""

    model_config = _FROZEN

    answers: tuple[str, ...]
    when: Condition
    reason: str

    @field_validator("reason")
    @classmethod
    def _known_reason(cls, value: str) -> str:
        if value not in REFUSAL_REASONS:
            raise ValueError(f"unknown reason {value!r} (known: {', '.join(sorted(REFUSAL_REASONS))})")
        return value

    def refuses(self, value: Any, answers: Mapping[str, Any]) -> bool:
        """Whether the answer ``value`` is refused given the earlier ``answers``."""
        chosen = value if isinstance(value, list) else [value]
        return any(v in self.answers for v in chosen) and self.when.holds(answers.get(self.when.question))


class Dimension(BaseModel):
    model_config = _FROZEN

    id: str
    fa: str
    en: str
    #: False for the "problems" section: its questions are asked but never scored.
    scored: bool = True

    def title(self, lang: str) -> str:
        return self.en if lang == "en" else self.fa


class Question(BaseModel):
    model_config = _FROZEN

    id: str
    dimension: str
    type: str
    text: LocalText
    help: LocalText | None = None
    #: scored questions: one line of practical advice for a firm that scored low on it.
    advice: LocalText | None = None
    #: scored questions: what the advice is about, in a few words («نشان استاندارد ملی»), the
    #: heading of an improvement priority (a question's wording reads oddly as one).
    topic: LocalText | None = None
    weight: float = 1
    required: bool = True
    #: ISIC section letters the question applies to; None means every sector.
    sectors: tuple[str, ...] | None = None
    options: tuple[Option, ...] = ()
    #: Copies the options of another question (resolved by the loader before validation).
    options_from: str | None = None
    #: multi: the score cap.
    cap: float | None = None
    #: percent: score = min(100, factor * value).
    factor: float = 1
    #: count / percent: the accepted range of a typed number.
    low: int | None = None
    high: int | None = None
    #: count: steps [threshold, points]; a value scores the points of the highest threshold <= it.
    curve: tuple[tuple[int, float], ...] = ()
    #: shares: the three parts, in the order the user types them.
    parts: tuple[Part, ...] = ()
    #: year_or_none: the earliest accepted year, and points per year of experience (capped at 100).
    min_year: int | None = None
    per_year: float | None = None
    #: text: the maximum length.
    max_length: int | None = None
    #: Not asked when this condition on an earlier answer holds; it then scores as ``implied``
    #: (unlike "not applicable", which leaves the mean).
    skip_if: Condition | None = None
    #: The stored value a skipped question counts as (required when the question is scored).
    implied: str | int | list[str] | None = None
    #: Answers refused while a condition on an earlier answer holds.
    refuse: Refusal | None = None

    # Derived once, so that scoring never re-parses anything.
    _option_index: dict[str, Option] = PrivateAttr(default_factory=dict)
    _points: dict[str, float | None] = PrivateAttr(default_factory=dict)
    _scored: bool = PrivateAttr(default=True)  # set by the Questionnaire (depends on the dimension)

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in QUESTION_TYPES:
            raise ValueError(f"unknown type {value!r} (expected one of {', '.join(QUESTION_TYPES)})")
        return value

    @field_validator("weight")
    @classmethod
    def _positive_weight(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be positive")
        return value

    @field_validator("sectors")
    @classmethod
    def _isic(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("must not be empty (leave it out for every sector)")
        unknown = [s for s in value if s not in ISIC_SECTIONS]
        if unknown:
            raise ValueError(f"unknown ISIC section(s) {', '.join(map(repr, unknown))}")
        return value

    @field_validator("text", "help", "advice")
    @classmethod
    def _known_placeholders(cls, value: LocalText | None) -> LocalText | None:
        if value is not None:
            for lang in ("fa", "en"):
                unknown = _placeholders(getattr(value, lang)) - PLACEHOLDERS
                if unknown:
                    raise ValueError(f"{lang}: unknown placeholder {{{sorted(unknown)[0]}}}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Question:
        problem = self._problem()
        if problem:
            raise ValueError(problem)
        return self

    def _problem(self) -> str | None:  # one rule per line reads best here
        t, options = self.type, self.options
        ids = [o.id for o in options]
        if len(set(ids)) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            return f"options: duplicate option id {dup!r}"
        if t in CHOICE_TYPES and len(options) < 2:
            return f"options: a {t} question needs at least two options"
        if t in ("percent", "count", "shares", "text") and options:
            return f"options: a {t} question has no options"
        if any(o.exclusive for o in options) and t != "multi":
            return "options: only a multi question can have an exclusive option"
        if any(o.excluded for o in options) and t != "single":
            return "options: only a single question can have an excluded option"
        if t != "multi" and self.cap is not None:
            return "cap: only a multi question has a cap"
        if t != "count" and self.curve:
            return "curve: only a count question has a curve"
        if t != "shares" and self.parts:
            return "parts: only a shares question has parts"
        if t == "yesno":
            extra = [i for i in ids if i not in YESNO_OPTIONS]
            if "yes" not in ids or "no" not in ids:
                return "options: a yesno question needs the options 'yes' and 'no'"
            if extra:
                return f"options: unknown yesno option {extra[0]!r} (allowed: {', '.join(YESNO_OPTIONS)})"
        if t == "multi":
            if sum(o.exclusive for o in options) > 1:
                return "options: at most one exclusive option"
            if any(o.exclusive and o.points not in (None, 0) for o in options):
                return "options: an exclusive option is worth 0 points"
        if t == "ladder":
            points = [o.points for o in options]
            if any(p is not None for p in points) and any(b < a for a, b in pairwise(points)
                                                          if a is not None and b is not None):
                return "options: points must not decrease along a ladder"
        if t in ("percent", "count"):
            low = 0 if self.low is None else self.low
            high = (100 if t == "percent" else None) if self.high is None else self.high
            if high is None:
                return "high: a count question needs an upper bound"
            if not 0 <= low < high:
                return "low: must be at least 0 and below high"
            if t == "percent" and high > 100:
                return "high: a percentage is at most 100"
        elif self.low is not None or self.high is not None:
            return "low: only percent and count questions have a range"
        if t == "count" and self.curve:
            thresholds = [c[0] for c in self.curve]
            if any(b <= a for a, b in pairwise(thresholds)):
                return "curve: thresholds must increase"
            if thresholds[0] != (self.low or 0):
                return "curve: the first threshold must be the lowest accepted value"
            if any(not 0 <= c[1] <= 100 for c in self.curve):
                return "curve: points must be between 0 and 100"
        if t == "shares" and len(self.parts) != 3:
            return "parts: a shares question needs exactly three parts"
        if t == "year_or_none":
            if NONE_OPTION not in ids or len(ids) != 1:
                return f"options: a year_or_none question has exactly one option, {NONE_OPTION!r}"
            if self.min_year is None:
                return "min_year: a year_or_none question needs the earliest accepted year"
        elif self.min_year is not None or self.per_year is not None:
            return "min_year: only a year_or_none question has years"
        if t == "text":
            if self.max_length is None or self.max_length < 1:
                return "max_length: a text question needs a positive maximum length"
        elif self.max_length is not None:
            return "max_length: only a text question has a maximum length"
        if self.implied is not None and self.skip_if is None:
            return "implied: only a question with skip_if has an implied answer"
        if self.refuse is not None:
            unknown = [a for a in self.refuse.answers if not self.has_option(a)]
            if unknown:
                return f"refuse: no option {unknown[0]!r} to refuse"
        return None

    def model_post_init(self, context: Any, /) -> None:
        self._option_index = {o.id: o for o in self.options}
        self._points = {o.id: o.points for o in self.options}

    # -- scoring rules that depend on the dimension: checked by the Questionnaire ------------------
    def _scoring_problem(self) -> str | None:
        t = self.type
        if t == "text":
            return "type: a text question cannot be scored (put it in an unscored dimension)"
        if t in ("yesno", "single", "ladder", "multi", "year_or_none"):
            for o in self.options:
                if o.points is None and not o.exclusive and not o.excluded:
                    return f"options: option {o.id!r} needs points"
        if t == "single" and all(o.excluded for o in self.options):
            return "options: every option is excluded"
        if t == "multi" and self.cap is None:
            return "cap: a scored multi question needs a cap"
        if t == "count" and not self.curve:
            return "curve: a scored count question needs a curve"
        if t == "shares" and not any(p.factor for p in self.parts):
            return "parts: at least one part needs a factor"
        if t == "year_or_none" and self.per_year is None:
            return "per_year: a scored year_or_none question needs points per year"
        if self.skip_if is not None:
            if self.implied is None:
                return "implied: a scored question with skip_if needs the answer it scores as"
            # Imported here: answers.py builds on this module.
            from bot.domain.questionnaire.answers import validate_stored

            if not validate_stored(self, self.implied):
                return f"implied: {self.implied!r} is not a valid answer to this question"
        return None

    # -- helpers -------------------------------------------------------------------------------
    @property
    def is_scored(self) -> bool:
        return self._scored

    @property
    def is_typed(self) -> bool:
        """Answered by typing a message (year_or_none also has a "none" button)."""
        return self.type in TYPED_TYPES

    @property
    def range(self) -> tuple[int, int]:
        """The accepted range of a percent or count question."""
        return (self.low or 0, self.high if self.high is not None else 100)

    def applies_to(self, sector: str | None) -> bool:
        """Whether the question is asked of a firm of ``sector`` (an ISIC section letter).

        None (sector unknown) means every question applies.  A longer code such as "C10" is read
        by its first letter.
        """
        if self.sectors is None or sector is None:
            return True
        sector = sector.strip().upper()[:1]
        return sector in self.sectors

    def option(self, oid: str) -> Option:
        """Returns the option ``oid``; raises KeyError for an unknown one."""
        return self._option_index[oid]

    def has_option(self, oid: str) -> bool:
        return oid in self._option_index

    def prompt(self, lang: str, **params: object) -> str:
        """The question text in ``lang`` with placeholders (e.g. ``fiscal_year``) filled in."""
        text = self.text.get(lang)
        return text.format(**params) if params or "{" in text else text

    def help_text(self, lang: str, **params: object) -> str | None:
        if self.help is None:
            return None
        text = self.help.get(lang)
        return text.format(**params) if params or "{" in text else text


class Questionnaire(BaseModel):
    model_config = _FROZEN

    version: int
    dimensions: tuple[Dimension, ...]
    questions: tuple[Question, ...]

    _by_id: dict[str, Question] = PrivateAttr(default_factory=dict)
    _dims: dict[str, Dimension] = PrivateAttr(default_factory=dict)
    _by_sector: dict[str | None, tuple[Question, ...]] = PrivateAttr(default_factory=dict)

    @field_validator("version")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be a positive integer")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Questionnaire:
        dims: dict[str, Dimension] = {}
        for d in self.dimensions:
            if d.id in dims:
                raise ValueError(f"dimension {d.id}: id: duplicate dimension id")
            dims[d.id] = d
        if not any(d.scored for d in self.dimensions):
            raise ValueError("dimensions: at least one dimension must be scored")
        seen: dict[str, Question] = {}
        for q in self.questions:
            if q.id in seen:
                raise ValueError(f"question {q.id}: id: duplicate question id")
            seen[q.id] = q
            if q.dimension not in dims:
                raise ValueError(f"question {q.id}: dimension: unknown dimension {q.dimension!r}")
            if dims[q.dimension].scored:
                problem = q._scoring_problem()
                if problem:
                    raise ValueError(f"question {q.id}: {problem}")
            if q.options_from is not None and q.options_from not in seen:
                raise ValueError(f"question {q.id}: options_from: unknown question {q.options_from!r}")
        self._check_conditions()
        for d in self.dimensions:
            if not any(q.dimension == d.id for q in self.questions):
                raise ValueError(f"dimension {d.id}: questions: the dimension has no question")
        return self

    def _check_conditions(self) -> None:
        """Conditions name known questions, without cycles, and only earlier ones: a question
        is asked in file order, so its condition must already be decided when it comes."""
        by_id = {q.id: q for q in self.questions}
        order = {q.id: i for i, q in enumerate(self.questions)}
        edges: dict[str, list[tuple[str, Condition]]] = {}
        for q in self.questions:
            for field, cond in _conditions(q):
                if cond.question not in by_id:
                    raise ValueError(f"question {q.id}: {field}: unknown question {cond.question!r}")
                edges.setdefault(q.id, []).append((field, cond))
        for q in self.questions:
            cycle = _cycle(q.id, edges)
            if cycle:
                field = edges[q.id][0][0]
                raise ValueError(f"question {q.id}: {field}: the conditions form a cycle ({' → '.join(cycle)})")
        for q in self.questions:
            for field, cond in edges.get(q.id, []):
                if order[cond.question] > order[q.id]:
                    raise ValueError(
                        f"question {q.id}: {field}: {cond.question} comes later; a condition may only "
                        "name an earlier question"
                    )
                problem = cond._problem(by_id[cond.question])
                if problem:
                    raise ValueError(f"question {q.id}: {field}: {problem}")

    def model_post_init(self, context: Any, /) -> None:
        self._dims = {d.id: d for d in self.dimensions}
        self._by_id = {q.id: q for q in self.questions}
        for q in self.questions:  # an unknown dimension is reported by the validator
            dim = self._dims.get(q.dimension)
            q._scored = dim.scored if dim is not None else False
            for _field, cond in _conditions(q):
                source = self._by_id.get(cond.question)
                if source is not None and source.type == "shares" and cond.parts:
                    ids = [p.id for p in source.parts]
                    cond._part_index = tuple(ids.index(p) for p in cond.parts if p in ids)

    def question(self, qid: str) -> Question:
        """Returns the question ``qid``; raises KeyError for an unknown id."""
        return self._by_id[qid]

    def has_question(self, qid: str) -> bool:
        return qid in self._by_id

    def dimension(self, did: str) -> Dimension:
        return self._dims[did]

    @property
    def free_text_ids(self) -> frozenset[str]:
        """The questions answered in the firm's own words: never shared between submissions,
        removed when a firm deletes its data, whatever the words look like."""
        return frozenset(q.id for q in self.questions if q.type == "text")

    @property
    def scored_dimensions(self) -> tuple[Dimension, ...]:
        return tuple(d for d in self.dimensions if d.scored)

    def questions_for(self, sector: str | None) -> list[Question]:
        """The questions a firm of ``sector`` answers, in order (None: every question)."""
        key = None if sector is None else sector.strip().upper()[:1]
        cached = self._by_sector.get(key)
        if cached is None:
            cached = tuple(q for q in self.questions if q.applies_to(key))
            self._by_sector[key] = cached
        return list(cached)

    def skipped(self, sector: str | None, answers: Mapping[str, Any]) -> dict[str, Any]:
        """The questions of a firm of ``sector`` that its ``answers`` skip, each with the value it
        counts as (None for an unscored one).  A condition reads the earlier question's answer,
        or its implied value when that question is itself skipped."""
        effective: dict[str, Any] = {}
        skipped: dict[str, Any] = {}
        for q in self.questions_for(sector):
            value = answers.get(q.id)
            if q.skip_if is not None and q.skip_if.holds(effective.get(q.skip_if.question)):
                skipped[q.id] = value = q.implied
            effective[q.id] = value
        return skipped

    def visible(self, sector: str | None, answers: Mapping[str, Any]) -> list[Question]:
        """The questions a firm of ``sector`` is asked, given its answers so far, in order."""
        skipped = self.skipped(sector, answers)
        return [q for q in self.questions_for(sector) if q.id not in skipped]


def _conditions(question: Question) -> list[tuple[str, Condition]]:
    """(field name, condition) pairs of a question, for validation messages."""
    found = []
    if question.skip_if is not None:
        found.append(("skip_if", question.skip_if))
    if question.refuse is not None:
        found.append(("refuse", question.refuse.when))
    return found


def _cycle(start: str, edges: Mapping[str, list[tuple[str, Condition]]]) -> list[str] | None:
    """A path of condition references from ``start`` back to itself, if there is one."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for _field, cond in edges.get(node, []):
            if cond.question == start:
                return [*path, start]
            if cond.question not in seen:
                seen.add(cond.question)
                stack.append((cond.question, [*path, cond.question]))
    return None
