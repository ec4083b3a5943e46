"""Scoring a self-assessment: 0–100 per question, per dimension, and a weighted composite.

Rules (QUESTIONNAIRE.md): a dimension score is the weighted mean (question weights) of the scores
of its questions that apply to the firm; a question that does not apply to the firm's sector, or
answered "not applicable" (an ``excluded`` option), is left out of the mean, never counted as zero.
A question skipped by its rule (``skip_if``, version 2) is not missing and scores its ``implied``
answer, whatever may be stored for it.
The composite is the weighted mean of the dimension scores, with the round's weights (default
equal).  A submission with a required, applicable question unanswered is not scored (no composite).

Pure functions without I/O.  Each questionnaire is compiled once (per sector) into plain Python
tuples and closures, cached by identity, so scoring a submission touches no pydantic model: about
20 µs, so a ranking of 100,000 firms takes a couple of seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.domain.questionnaire.model import NONE_OPTION, Question, Questionnaire

MAX_SCORE = 100.0


@dataclass(frozen=True, slots=True)
class SubmissionScore:
    #: dimension id -> 0–100, for the scored dimensions with at least one scored answer.
    dimensions: dict[str, float]
    #: weighted mean of ``dimensions``; None when the submission is incomplete.
    composite: float | None
    complete: bool
    #: required questions that apply to the firm but have no answer, in questionnaire order.
    missing: list[str]
    #: question id -> 0–100, for every answered, applicable, scored, not-excluded question.
    question_scores: dict[str, float]
    #: dimension id -> the sum of the weights of its questions in ``question_scores``.
    weight_totals: dict[str, float] = field(default_factory=dict)
    #: dimension id -> the normalised dimension weight used for the composite (sums to 1).
    dimension_shares: dict[str, float] = field(default_factory=dict)


Scorer = Callable[[Any, int], "float | None"]


def _compile(question: Question) -> Scorer:
    """A plain function ``(value, reference_year) -> score`` for one question (no model access)."""
    qid, kind = question.id, question.type
    points = {o.id: (None if o.excluded else float(o.points or 0.0)) for o in question.options}

    def invalid(value: Any) -> ValueError:
        return ValueError(f"question {qid}: invalid answer {value!r}")

    if kind in ("yesno", "single", "ladder"):

        def choice(value: Any, reference_year: int) -> float | None:
            try:
                return points[value]
            except (KeyError, TypeError):
                raise invalid(value) from None

        return choice
    if kind == "multi":
        cap = float(question.cap if question.cap is not None else MAX_SCORE)
        # Only single questions have excluded options, so every option here is worth points.
        worth = {o.id: float(o.points or 0.0) for o in question.options}

        def multi(value: Any, reference_year: int) -> float | None:
            try:
                return min(cap, sum(worth[v] for v in value))
            except (KeyError, TypeError):
                raise invalid(value) from None

        return multi
    if kind == "percent":
        factor = float(question.factor)

        def percent(value: Any, reference_year: int) -> float | None:
            if not isinstance(value, int):
                raise invalid(value)
            return min(MAX_SCORE, factor * value)

        return percent
    if kind == "count":
        steps = tuple((threshold, float(p)) for threshold, p in reversed(question.curve))

        def count(value: Any, reference_year: int) -> float | None:
            if not isinstance(value, int):
                raise invalid(value)
            for threshold, p in steps:
                if value >= threshold:
                    return p
            return 0.0

        return count
    if kind == "shares":
        f1, f2, f3 = (float(p.factor) for p in question.parts)

        def shares(value: Any, reference_year: int) -> float | None:
            try:
                a, b, c = value
            except (TypeError, ValueError):
                raise invalid(value) from None
            total: float = f1 * a + f2 * b + f3 * c
            return min(MAX_SCORE, total)

        return shares
    if kind == "year_or_none":
        none_points = points.get(NONE_OPTION) or 0.0
        per_year = float(question.per_year or 0.0)

        def year(value: Any, reference_year: int) -> float | None:
            if value == NONE_OPTION:
                return none_points
            if not isinstance(value, int):
                raise invalid(value)
            return min(MAX_SCORE, max(0.0, per_year * (reference_year - value)))

        return year
    return lambda value, reference_year: None  # text: never scored


#: A skip rule as scoring needs it: (the earlier question's id, the test on its answer, the value
#: the skipped question counts as).
Skip = tuple[str, Callable[[Any], bool], Any]


@dataclass(frozen=True, slots=True)
class _Plan:
    #: (question id, dimension id, weight, required, scorer or None when unscored, skip rule or
    #: None), in order.
    steps: tuple[tuple[str, str, float, bool, Scorer | None, Skip | None], ...]
    scored_dimensions: tuple[str, ...]
    #: the questions some skip rule reads (their answers are remembered while scoring).
    sources: frozenset[str] = frozenset()


# Compiled once per question / questionnaire (keyed by identity; the entry keeps the object alive
# so that its id cannot be reused).
_SCORERS: dict[int, tuple[Question, Scorer]] = {}
_PLANS: dict[tuple[int, str | None], tuple[Questionnaire, _Plan]] = {}


def _scorer(question: Question) -> Scorer:
    entry = _SCORERS.get(id(question))
    if entry is None or entry[0] is not question:
        entry = (question, _compile(question))
        _SCORERS[id(question)] = entry
    return entry[1]


def _plan(questionnaire: Questionnaire, sector: str | None) -> _Plan:
    key = (id(questionnaire), None if sector is None else sector.strip().upper()[:1])
    entry = _PLANS.get(key)
    if entry is None or entry[0] is not questionnaire:
        questions = questionnaire.questions_for(key[1])
        steps = tuple(
            (q.id, q.dimension, float(q.weight), q.required, _scorer(q) if q.is_scored else None,
             None if q.skip_if is None else (q.skip_if.question, q.skip_if.holds, q.implied))
            for q in questions
        )
        dims = tuple(d.id for d in questionnaire.scored_dimensions)
        sources = frozenset(q.skip_if.question for q in questions if q.skip_if is not None)
        entry = (questionnaire, _Plan(steps, dims, sources))
        _PLANS[key] = entry
    return entry[1]


def question_scorer(question: Question) -> Scorer | None:
    """The compiled scorer of ``question`` (None when it is not scored): ``scorer(value,
    reference_year)`` is ``score_question`` for a value that is not None, with no sector check.
    For callers that score many answers to the same questions (the round scorer), so the
    question's checks are not paid per answer."""
    return _scorer(question) if question.is_scored else None


def score_question(
    question: Question, value: Any, *, reference_year: int, sector: str | None = None
) -> float | None:
    """The 0–100 score of one answer; None when it does not count: an unscored question, an
    ``excluded`` option ("not applicable"), no answer, or (when ``sector`` is given) a question
    that does not apply to the firm's sector.

    ``reference_year`` is the Solar Hijri year the round refers to (for years of exporting).
    Raises ValueError for a value that is not a valid stored answer to this question.
    """
    if value is None or not question.is_scored:
        return None
    if sector is not None and not question.applies_to(sector):
        return None
    return _scorer(question)(value, reference_year)


def _dimension_shares(
    scored: tuple[str, ...], present: Mapping[str, float], weights: Mapping[str, float] | None
) -> dict[str, float]:
    if weights is None:
        raw = {d: 1.0 for d in scored}
    else:
        unknown = set(weights) - set(scored)
        if unknown:
            raise ValueError(f"weights: unknown dimension {sorted(unknown)[0]!r}")
        if any(w < 0 for w in weights.values()):
            raise ValueError("weights: must not be negative")
        raw = {d: float(weights.get(d, 0.0)) for d in scored}  # a dimension left out weighs 0
        if sum(raw.values()) <= 0:
            raise ValueError("weights: at least one dimension needs a positive weight")
    raw = {d: w for d, w in raw.items() if d in present}
    total = sum(raw.values())
    if total <= 0:
        return {}
    return {d: w / total for d, w in raw.items()}


def score_submission(
    questionnaire: Questionnaire,
    answers: Mapping[str, Any],
    *,
    sector: str | None,
    reference_year: int,
    weights: Mapping[str, float] | None = None,
) -> SubmissionScore:
    """Scores one firm's answers (question id -> stored value).

    ``weights`` maps dimension ids to the round's weights (None: equal; a dimension left out
    weighs 0).  Dimension scores are computed even for an incomplete submission (from what was
    answered), but ``composite`` is then None.
    """
    plan = _plan(questionnaire, sector)
    sums: dict[str, float] = {}
    totals: dict[str, float] = {}
    question_scores: dict[str, float] = {}
    missing: list[str] = []
    sources = plan.sources
    # The answer each skip rule reads: the stored one, or the implied one of a skipped question.
    effective: dict[str, Any] = {}
    for qid, dim, weight, required, scorer, skip in plan.steps:
        value = answers.get(qid)
        if skip is not None and skip[1](effective.get(skip[0])):
            value = skip[2]  # skipped: whatever is stored (an older answer) does not count
            if qid in sources:
                effective[qid] = value
            if value is None:
                continue
        else:
            if qid in sources:
                effective[qid] = value
            if value is None:
                if required:
                    missing.append(qid)
                continue
        if scorer is None:
            continue
        score = scorer(value, reference_year)
        if score is None:
            continue
        question_scores[qid] = score
        sums[dim] = sums.get(dim, 0.0) + weight * score
        totals[dim] = totals.get(dim, 0.0) + weight
    dimensions = {d: sums[d] / totals[d] for d in plan.scored_dimensions if totals.get(d)}
    shares = _dimension_shares(plan.scored_dimensions, dimensions, weights)
    complete = not missing
    composite = sum(dimensions[d] * s for d, s in shares.items()) if complete and shares else None
    return SubmissionScore(
        dimensions=dimensions,
        composite=composite,
        complete=complete,
        missing=missing,
        question_scores=question_scores,
        weight_totals=totals,
        dimension_shares=shares,
    )


def lost_points(questionnaire: Questionnaire, submission: SubmissionScore) -> dict[str, float]:
    """Per scored question, the composite points lost against a full score, largest first.

    ``(100 - score) × question weight / dimension weight total × dimension share``: how much the
    composite would rise if that answer were the best one.  Ties keep questionnaire order.
    """
    lost: dict[str, float] = {}
    for qid, score in submission.question_scores.items():
        question = questionnaire.question(qid)
        dim = question.dimension
        share = submission.dimension_shares.get(dim, 0.0)
        total = submission.weight_totals.get(dim, 0.0)
        lost[qid] = (MAX_SCORE - score) * question.weight / total * share if total else 0.0
    order = {q.id: i for i, q in enumerate(questionnaire.questions)}
    return dict(sorted(lost.items(), key=lambda item: (-item[1], order[item[0]])))


def weakest(questionnaire: Questionnaire, submission: SubmissionScore, n: int = 3) -> list[str]:
    """The ids of the ``n`` questions that cost the firm the most composite points (if any)."""
    return [qid for qid, lost in lost_points(questionnaire, submission).items() if lost > 0][:n]
