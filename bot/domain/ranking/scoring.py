"""Vectorised scoring of a round's coded answers, bit-for-bit equal to ``score_submission``.

Each distinct stored answer (question id + JSON value; a few thousand in a round) gets a small
integer code from ``AnswerCodes`` and is scored once with the compiled scorer of its question
(``bot.domain.scoring.question_scorer``) - the very closures ``score_submission`` uses.  The
per-firm arithmetic (dimension means, shares, composite, lost points) then repeats
``score_submission``'s float operations in the same order on whole arrays, so the results are
bit-for-bit those of ``bot.domain.scoring.score_submission`` (tests check it).  The matrices are
laid out question by question (questions × firms), so every step of the question loop reads
contiguous memory.

A submission with a required, applicable question unanswered is ``incomplete`` (not scored), as
is one whose weights leave no dimension with a positive weight; one with a stored answer that is
not a valid value of its question (``score_submission`` would raise) is ``invalid``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.domain.questionnaire import Questionnaire
from bot.domain.questionnaire.model import Condition
from bot.domain.ranking.weights import validate_weights
from bot.domain.scoring import MAX_SCORE, Scorer, question_scorer

#: How many "weakest" questions each firm gets (``bot.domain.scoring.weakest(q, result, 3)``).
WEAKEST = 3
#: Firms per block when the weakest questions are picked.
WEAKEST_BLOCK = 8192

ANSWERED, INVALID, IGNORED = 0, 1, 2

#: ``json.loads`` of a str without its per-call argument checks (thousands of calls per round).
_decode = json.JSONDecoder().decode

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class AnswerCodes:
    """Numbers each distinct stored answer (question id, JSON value) with a small integer and
    keeps what it scores: its question's column, its kind (answered, invalid, ignored) and its
    points (NaN: answered but not scored)."""

    def __init__(self, questionnaire: Questionnaire, ref_year: int) -> None:
        self.questionnaire = questionnaire
        self.ref_year = ref_year
        self._column = {q.id: i for i, q in enumerate(questionnaire.questions)}
        # Looked up once per question: a question's own checks (pydantic attribute access) cost
        # more than scoring the answer, and a round has thousands of distinct answers.
        self._scorers = [question_scorer(q) for q in questionnaire.questions]
        self._codes: dict[tuple[str, str], int] = {}
        self.col: list[int] = []
        self.kind: list[int] = []
        self.points: list[float] = []
        #: the decoded answers (None unless answered), for the skip rules' conditions.
        self.values: list[Any] = []

    def scorer(self, col: int) -> Scorer | None:
        """The compiled scorer of the question in column ``col`` (None: not scored)."""
        return self._scorers[col]

    def __len__(self) -> int:
        return len(self.col)

    def resolve(self, qid: str, text: str) -> int:
        """The code of the stored answer ``text`` (JSON) to question ``qid``."""
        key = (qid, text)
        code = self._codes.get(key)
        if code is not None:
            return code
        col, kind, points = self._column.get(qid, -1), IGNORED, np.nan
        value: Any = None
        if col >= 0:
            try:
                value = _decode(text)
            except ValueError:
                value, kind = None, INVALID
            if value is not None:  # a stored JSON null is no answer (score_submission skips it)
                kind = ANSWERED
                scorer = self._scorers[col]
                if scorer is not None:
                    try:
                        score = scorer(value, self.ref_year)
                    except (ValueError, TypeError):
                        kind = INVALID
                    else:
                        points = np.nan if score is None else score
        code = len(self.col)
        self._codes[key] = code
        self.col.append(max(col, 0))
        self.kind.append(kind)
        self.points.append(points)
        self.values.append(value if kind == ANSWERED else None)
        return code

    def holding(self, condition: Condition, col: int) -> BoolArray:
        """Per code: whether it is an answer to column ``col`` that satisfies ``condition``."""
        return np.fromiter(
            (c == col and k == ANSWERED and condition.holds(v)
             for c, k, v in zip(self.col, self.kind, self.values, strict=True)),
            bool, len(self.col),
        )

    def resolve_all(self, values: Sequence[tuple[str, str]]) -> IntArray:
        """The codes of (question id, JSON value) pairs."""
        return np.fromiter((self.resolve(q, v) for q, v in values), np.int64, len(values))


@dataclass(frozen=True)
class Scored:
    """The vectorised results for n submissions (rows in the order given)."""

    ok: BoolArray  # (n,): scored
    incomplete: BoolArray  # (n,)
    invalid: BoolArray  # (n,)
    dims: FloatArray  # (n, D) dimension scores, NaN where the firm has none
    composite: FloatArray  # (n,) NaN where not scored
    weakest: IntArray  # (n, WEAKEST) question columns, -1 for none
    question_scores: FloatArray  # (n, Q) NaN where not scored


def score_answers(
    questionnaire: Questionnaire,
    sectors: Sequence[str | None],
    answers: Sequence[Mapping[str, str]],
    *,
    ref_year: int,
    weights: Mapping[str, float] | None,
) -> Scored:
    """Scores n submissions at once; ``answers[i]`` maps question ids to stored JSON values.
    Bit-for-bit equal to ``bot.domain.scoring.score_submission`` per submission."""
    table = AnswerCodes(questionnaire, ref_year)
    rows = np.repeat(np.arange(len(answers)), [len(a) for a in answers]).astype(np.int64)
    pairs = [item for a in answers for item in a.items()]
    return score_codes(questionnaire, sectors, rows, table.resolve_all(pairs), table, weights=weights)


def score_codes(
    questionnaire: Questionnaire,
    sectors: Sequence[str | None],
    rows: IntArray,
    code: IntArray,
    table: AnswerCodes,
    *,
    weights: Mapping[str, float] | None,
) -> Scored:
    """Scores n = len(sectors) submissions from their answers given as parallel arrays: the
    submission (row) and the ``table`` code of each answer (at most one per row and question)."""
    questions = questionnaire.questions
    n, nq = len(sectors), len(questions)
    dim_ids = [d.id for d in questionnaire.scored_dimensions]
    raw_w = validate_weights(questionnaire, weights)

    # Question by question (nq × n): row j holds every firm's answer to question j; row nq
    # takes the answers to unknown questions (ignored).  state: 0 none, 1 answered, 2 invalid.
    kinds = np.asarray(table.kind, np.int8)
    code_row = np.where(kinds == IGNORED, nq, np.asarray(table.col, np.int64))
    code_state = np.select([kinds == ANSWERED, kinds == INVALID], [1, 2], 0).astype(np.int8)
    index = np.dtype(np.int32 if (nq + 1) * n < 2**31 else np.int64)
    cell = code_row.astype(index)[code] * np.asarray(n, index) + rows.astype(index)
    state = np.zeros((nq + 1, n), np.int8)
    state.ravel()[cell] = code_state[code]
    scores = np.full((nq + 1, n), np.nan)
    scores.ravel()[cell] = np.asarray(table.points, np.float64)[code]  # NaN unless scored
    scores = scores[:nq]

    # Which questions apply to each firm's sector (by distinct sector text); None: all firms.
    sector_index = {s: i for i, s in enumerate(dict.fromkeys(sectors))}
    sec = np.fromiter(map(sector_index.__getitem__, sectors), np.int64, n)
    applies: list[BoolArray | None] = []
    for q in questions:
        flags = [q.applies_to(s) for s in sector_index]
        applies.append(None if all(flags) else np.asarray(flags, bool)[sec])

    skipped = _skipped(questionnaire, state, code, cell, table, applies, n)

    # Per question, in questionnaire order: validity, completeness, and the dimension means
    # accumulated exactly as score_submission does (so the floats are identical).
    nd = len(dim_ids)
    invalid = np.zeros(n, bool)
    missing = np.zeros(n, bool)
    sums = np.zeros((nd, n))
    totals = np.zeros((nd, n))
    dim_col = np.full(nq, -1)
    qweight = np.zeros(nq)
    scored_q = [q.is_scored for q in questions]
    for j, q in enumerate(questions):
        ap = applies[j]
        answered = state[j] == 1
        bad = state[j] == 2
        if ap is not None:
            answered &= ap
            bad &= ap
            scores[j][~ap] = np.nan
        sk = skipped.get(j)
        if sk is not None:  # scores its implied answer; what is stored does not count
            answered |= sk
            bad &= ~sk
            scorer = table.scorer(j)
            implied = q.implied
            points = np.nan if scorer is None or implied is None else scorer(implied, table.ref_year)
            scores[j][sk] = np.nan if points is None else points
        invalid |= bad
        if q.required:
            missing |= ~answered if ap is None else ~answered & ap
        if not scored_q[j]:
            continue
        d = dim_ids.index(q.dimension)
        dim_col[j], qweight[j] = d, float(q.weight)
        s = scores[j]
        has = ~np.isnan(s)
        np.add(sums[d], qweight[j] * s, out=sums[d], where=has)
        np.add(totals[d], qweight[j], out=totals[d], where=has)
    incomplete = missing & ~invalid
    present = totals != 0
    with np.errstate(invalid="ignore", divide="ignore"):
        dims = np.where(present, sums / np.where(present, totals, 1.0), np.nan)
        wsum = np.zeros(n)
        for d, did in enumerate(dim_ids):
            np.add(wsum, raw_w[did], out=wsum, where=present[d])
        has_shares = wsum > 0
        share = np.zeros((nd, n))
        composite = np.zeros(n)
        divisor = np.where(has_shares, wsum, 1.0)
        for d, did in enumerate(dim_ids):
            share[d] = np.where(present[d] & has_shares, raw_w[did] / divisor, 0.0)
            np.add(composite, dims[d] * share[d], out=composite, where=present[d])
    unweighted = ~has_shares & ~incomplete & ~invalid
    ok = ~incomplete & ~invalid & has_shares
    composite = np.where(ok, composite, np.nan)
    incomplete = incomplete | unweighted

    return Scored(
        ok, incomplete, invalid, np.ascontiguousarray(dims.T), composite,
        _weakest(scores, totals, share, dim_col, qweight, n), scores.T,
    )


def _skipped(
    questionnaire: Questionnaire, state: npt.NDArray[np.int8], code: IntArray, cell: npt.NDArray[np.integer[Any]],
    table: AnswerCodes, applies: Sequence[BoolArray | None], n: int,
) -> dict[int, BoolArray]:
    """Per question column with a skip rule, the firms it skips (where the question applies).

    As ``score_submission``: a rule reads the earlier question's stored answer where that
    question applies and is answered, or its implied answer where it is itself skipped."""
    questions = questionnaire.questions
    rules = [(j, q) for j, q in enumerate(questions) if q.skip_if is not None]
    if not rules or not n:
        return {}
    column = {q.id: j for j, q in enumerate(questions)}
    nq = len(questions)
    codes = np.full((nq + 1, n), -1, np.int64)
    codes.ravel()[cell] = code
    skipped: dict[int, BoolArray] = {}
    for j, q in rules:
        condition = q.skip_if
        assert condition is not None
        cs = column[condition.question]
        flags = table.holding(condition, cs)
        source = codes[cs]
        hit = (source >= 0) & (state[cs] == 1)
        if len(flags):
            hit &= flags[np.maximum(source, 0)]
        ap_source = applies[cs]
        if ap_source is not None:
            hit &= ap_source
        if cs in skipped:
            hit = np.where(skipped[cs], condition.holds(questions[cs].implied), hit)
        ap = applies[j]
        skipped[j] = hit if ap is None else hit & ap
    return skipped


def _weakest(
    scores: FloatArray, totals: FloatArray, share: FloatArray, dim_col: IntArray,
    qweight: FloatArray, n: int,
) -> IntArray:
    """The WEAKEST question columns that cost each firm the most composite points (> 0), most
    first, ties in questionnaire order; -1 where there are fewer.  Lost points per question:
    (100 - score) × weight / dimension total × share, as ``bot.domain.scoring.lost_points``."""
    weakest = np.full((n, WEAKEST), -1, np.int64)
    scored_cols = np.flatnonzero(dim_col >= 0)
    if not n or not len(scored_cols):
        return weakest
    columns = scored_cols.tolist()
    dimension = [int(dim_col[j]) for j in columns]
    # A block of firms at a time, so the (questions x firms) matrix and its transpose stay in
    # the CPU's cache instead of going through memory twice.
    lost = np.empty((len(columns), min(WEAKEST_BLOCK, n)))
    with np.errstate(invalid="ignore", divide="ignore"):
        for a in range(0, n, WEAKEST_BLOCK):
            b = min(a + WEAKEST_BLOCK, n)
            part = lost[:, :b - a]
            for k, j in enumerate(columns):
                d = dimension[k]
                np.multiply((MAX_SCORE - scores[j, a:b]) * qweight[j] / totals[d, a:b], share[d, a:b], out=part[k])
            # Only lost points > 0 name a question: NaN (not scored) and the rest count as 0, in
            # one pass.  Once a row's best is 0, so is every later pick: no more weak questions.
            np.fmax(part, 0.0, out=part)
            by_firm = np.ascontiguousarray(part.T)  # (firms, scored)
            rows = np.arange(b - a)
            for k in range(WEAKEST):
                j = np.argmax(by_firm, axis=1)  # the first maximum: ties keep questionnaire order
                weakest[a:b, k] = np.where(by_firm[rows, j] > 0, scored_cols[j], -1)
                if k + 1 < WEAKEST:
                    by_firm[rows, j] = 0.0
    return weakest
