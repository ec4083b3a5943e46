"""Scoring and ranking a whole round, peer statistics, and the weight-sensitivity check.

``score_round`` works in one transaction:

1. deletes the round's ``scores`` and ``peer_stats`` rows (re-running is idempotent);
2. loads every submitted submission of the round with its firm's sector, estate, cluster and
   province and all its answers, in ONE query (the answers of a submission come packed in one
   ``group_concat`` string, so Python builds 100k rows rather than 2.6M);
3. scores them vectorised with numpy.  Each distinct stored answer text (``qid`` + JSON value;
   a few thousand in a round) is scored once with ``bot.scoring.score_question`` - the very
   closures ``score_submission`` uses - and the per-firm arithmetic (dimension means, shares,
   composite, lost points) repeats ``score_submission``'s float operations in the same order,
   so the results are bit-for-bit those of ``bot.scoring.score_submission`` (tests check it);
4. stores one ``scores`` row per complete submission (``weakest`` = ``bot.scoring.weakest(q,
   result, 3)``);
5. ranks in SQL with window functions (one ``UPDATE … FROM (SELECT … RANK() OVER …)``);
6. stores peer statistics (median and mean) for every group of at least ``MIN_GROUP`` firms.

Rounding: the composite and the dimension scores are stored rounded to ``DECIMALS`` (6) decimal
places (``numpy.round``), so composites that differ only by float noise (59.4000000001 and 59.4)
tie.  Ranks are standard competition ranks ("1224") by composite, highest first, within the
estate, the cluster (firms in a cluster only), the province and the nation.

Percentile: ``100 × PERCENT_RANK()`` over the national composites in ascending order, that is
100 × (the number of other firms with a strictly lower composite) / (firms − 1): the share of the
other firms the firm did strictly better than.  Firms tied at the top of 4 (90, 80, 80, 70) get
100, 33.3, 33.3, 0.  A firm alone in the round gets 100.

A submission with a required, applicable question unanswered is not scored (``incomplete``), nor
one whose weights leave no dimension with a positive weight; one with a stored answer that is not
a valid value of its question (``score_submission`` would raise) is skipped and counted as
``invalid``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import count, repeat
from typing import Any

import numpy as np

from bot.assessment import reference_year
from bot.questionnaire import Questionnaire, load_questionnaire
from bot.scoring import MAX_SCORE, score_question
from storage.database import Database

log = logging.getLogger(__name__)

#: Peer statistics are stored only for groups of at least this many firms (with a value).
MIN_GROUP = 5
#: Decimal places of the stored composite and dimension scores.
DECIMALS = 6
#: How many "weakest" questions each firm gets.
WEAKEST = 3
SCOPES = ("estate", "cluster", "province", "nation")

_RS = "\x1e"  # between the answers of one submission
_US = "\x1f"  # between a question id and its stored value

_ANSWERED, _INVALID, _IGNORED = 0, 1, 2

_LOAD_SQL = (
    "SELECT s.firm_id, f.sector, f.estate_id, f.cluster_id, f.province_id,"
    " (SELECT group_concat(a.qid || char(31) || a.value, char(30)) FROM answers a"
    "   WHERE a.submission_id = s.id)"
    " FROM submissions s JOIN firms f ON f.id = s.firm_id"
    " WHERE s.round_id = ? AND s.status = 'submitted' ORDER BY s.firm_id"
)

_RANK_SQL = """
UPDATE scores SET
    rank_estate = r.rank_estate, size_estate = r.size_estate,
    rank_cluster = r.rank_cluster, size_cluster = r.size_cluster,
    rank_province = r.rank_province, size_province = r.size_province,
    rank_nation = r.rank_nation, size_nation = r.size_nation,
    percentile = CASE WHEN r.size_nation = 1 THEN 100.0
                      ELSE 100.0 * (r.size_nation - r.at_least) / (r.size_nation - 1) END
FROM (
    SELECT firm_id,
        RANK() OVER (PARTITION BY estate_id ORDER BY composite DESC) AS rank_estate,
        COUNT(*) OVER (PARTITION BY estate_id) AS size_estate,
        CASE WHEN cluster_id IS NOT NULL
             THEN RANK() OVER (PARTITION BY cluster_id ORDER BY composite DESC) END AS rank_cluster,
        CASE WHEN cluster_id IS NOT NULL
             THEN COUNT(*) OVER (PARTITION BY cluster_id) END AS size_cluster,
        RANK() OVER (PARTITION BY province_id ORDER BY composite DESC) AS rank_province,
        COUNT(*) OVER (PARTITION BY province_id) AS size_province,
        RANK() OVER (ORDER BY composite DESC) AS rank_nation,
        -- the default frame (RANGE … CURRENT ROW) counts the firms with a composite >= this one
        COUNT(*) OVER (ORDER BY composite DESC) AS at_least,
        COUNT(*) OVER () AS size_nation
    FROM scores WHERE round_id = :round
) AS r
WHERE scores.round_id = :round AND scores.firm_id = r.firm_id
"""


@dataclass(frozen=True)
class RankingSummary:
    scored: int
    incomplete: int
    seconds: float
    #: submissions with a stored answer that is not a valid value of its question.
    invalid: int = 0
    #: seconds per phase: delete, load, score, write, rank, peers, commit.
    timings: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Sensitivity:
    """How national ranks move when the composite uses other dimension weights."""

    firms: int
    #: firms whose national rank changes.
    changed: int
    #: the largest absolute change of a national rank.
    max_shift: int
    #: the mean absolute change of the national rank over all firms.
    mean_shift: float
    base_weights: dict[str, float]
    weights: dict[str, float]


def round_scores(values: Any) -> Any:
    """The stored form of a score: rounded to ``DECIMALS`` places (as numpy rounds)."""
    return np.round(values, DECIMALS)


def validate_weights(questionnaire: Questionnaire, weights: Mapping[str, Any] | None) -> dict[str, float]:
    """Checks dimension weights and returns them for every scored dimension (a dimension left
    out weighs 0; None means equal weights).  Raises ValueError with a clear message."""
    dims = [d.id for d in questionnaire.scored_dimensions]
    if weights is None:
        return {d: 1.0 for d in dims}
    if not isinstance(weights, Mapping) or not weights:
        raise ValueError(f"weights: give a weight for at least one of {', '.join(dims)}")
    unknown = sorted(set(weights) - set(dims))
    if unknown:
        raise ValueError(f"weights: unknown dimension {unknown[0]!r} (known: {', '.join(dims)})")
    result = {}
    for d in dims:
        w = weights.get(d, 0.0)
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not np.isfinite(w):
            raise ValueError(f"weights: {d}: {w!r} is not a number")
        if w < 0:
            raise ValueError(f"weights: {d}: must not be negative")
        result[d] = float(w)
    if sum(result.values()) <= 0:
        raise ValueError("weights: at least one dimension needs a positive weight")
    return result


# ---------------------------------------------------------------------------------------------
# Vectorised scoring


class _Codes:
    """Each distinct stored answer ``qid\\x1fjson`` -> a small integer, with what it scores."""

    def __init__(self, questionnaire: Questionnaire, ref_year: int) -> None:
        self.questionnaire = questionnaire
        self.ref_year = ref_year
        self.column = {q.id: i for i, q in enumerate(questionnaire.questions)}
        self.codes: dict[str, int] = {}
        self.col: list[int] = []
        self.kind: list[int] = []
        self.points: list[float] = []

    def resolve(self, key: str) -> int:
        code = self.codes.get(key)
        if code is not None:
            return code
        qid, _, text = key.partition(_US)
        col, kind, points = self.column.get(qid, -1), _IGNORED, np.nan
        if col >= 0:
            question = self.questionnaire.questions[col]
            try:
                value = json.loads(text)
            except ValueError:
                value, kind = None, _INVALID
            if value is not None:  # a stored JSON null is no answer (score_submission skips it)
                kind = _ANSWERED
                if question.is_scored:
                    try:
                        score = score_question(question, value, reference_year=self.ref_year)
                    except (ValueError, TypeError):
                        kind = _INVALID
                    else:
                        points = np.nan if score is None else score
        code = len(self.col)
        self.codes[key] = code
        self.col.append(max(col, 0))
        self.kind.append(kind)
        self.points.append(points)
        return code


@dataclass
class _Scored:
    """The vectorised results for the n loaded submissions."""

    ok: np.ndarray  # bool (n,): scored
    incomplete: np.ndarray  # bool (n,)
    invalid: np.ndarray  # bool (n,)
    dims: np.ndarray  # (n, D) dimension scores, NaN where the firm has none
    composite: np.ndarray  # (n,) NaN where not scored
    weakest: np.ndarray  # (n, WEAKEST) question columns, -1 for none
    question_scores: np.ndarray  # (n, Q) NaN where not scored


def score_answers(
    questionnaire: Questionnaire,
    sectors: Sequence[str | None],
    answers: Sequence[str | None],
    *,
    ref_year: int,
    weights: Mapping[str, float] | None,
    codes: _Codes | None = None,
) -> _Scored:
    """Scores n submissions at once.  ``answers[i]`` packs submission i's answers as
    ``qid\\x1fjson`` joined by ``\\x1e`` (None: no answers).  Bit-for-bit equal to
    ``bot.scoring.score_submission`` per submission."""
    table = codes or _Codes(questionnaire, ref_year)
    questions = questionnaire.questions
    n, nq = len(sectors), len(questions)
    dim_ids = [d.id for d in questionnaire.scored_dimensions]
    raw_w = validate_weights(questionnaire, weights)

    lens = np.fromiter((0 if a is None else a.count(_RS) + 1 for a in answers), np.int64, n)
    packed = [a for a in answers if a is not None]
    keys = _RS.join(packed).split(_RS) if packed else []
    # Number each distinct key by its first occurrence (one dict operation per answer), then
    # resolve only the distinct keys.
    first: dict[str, int] = {}
    occurrence = np.fromiter(map(first.setdefault, keys, count()), np.int64, len(keys))
    lut = np.zeros(len(keys), np.int64)
    lut[np.fromiter(first.values(), np.int64, len(first))] = [table.resolve(k) for k in first]
    code = lut[occurrence]
    rows = np.repeat(np.arange(n), lens)
    kind = np.asarray(table.kind, np.int8)[code]
    col = np.asarray(table.col, np.int64)[code]
    pts = np.asarray(table.points, np.float64)[code]

    answered = np.zeros((n, nq), bool)
    bad = np.zeros((n, nq), bool)
    scores = np.full((n, nq), np.nan)
    cell = rows * nq + col  # flat index into the (n, nq) matrices
    keep = kind == _ANSWERED
    answered.ravel()[cell[keep]] = True
    scores.ravel()[cell[keep]] = pts[keep]
    bad.ravel()[cell[kind == _INVALID]] = True

    # Which questions apply to each firm's sector (by distinct sector text).
    sector_index = {s: i for i, s in enumerate(dict.fromkeys(sectors))}
    table_rows = [[q.applies_to(s) for q in questions] for s in sector_index]
    sec = np.fromiter(map(sector_index.__getitem__, sectors), np.int64, n)
    applies = np.asarray(table_rows, bool).reshape(-1, nq)[sec]
    answered &= applies
    bad &= applies
    scores[~applies] = np.nan

    required = np.array([q.required for q in questions], bool)
    invalid = bad.any(axis=1)
    incomplete = (required & applies & ~answered).any(axis=1) & ~invalid

    # Dimension means, accumulated question by question in questionnaire order exactly as
    # score_submission does (so the floats are identical).
    nd = len(dim_ids)
    sums = np.zeros((n, nd))
    totals = np.zeros((n, nd))
    dim_col = np.full(nq, -1)
    qweight = np.zeros(nq)
    for j, q in enumerate(questions):
        if not q.is_scored:
            continue
        d = dim_ids.index(q.dimension)
        dim_col[j], qweight[j] = d, float(q.weight)
        s = scores[:, j]
        has = ~np.isnan(s)
        sums[:, d] = np.where(has, sums[:, d] + qweight[j] * s, sums[:, d])
        totals[:, d] = np.where(has, totals[:, d] + qweight[j], totals[:, d])
    present = totals != 0
    with np.errstate(invalid="ignore", divide="ignore"):
        dims = np.where(present, sums / np.where(present, totals, 1.0), np.nan)
        wsum = np.zeros(n)
        for d, did in enumerate(dim_ids):
            wsum = np.where(present[:, d], wsum + raw_w[did], wsum)
        has_shares = wsum > 0
        share = np.zeros((n, nd))
        composite = np.zeros(n)
        for d, did in enumerate(dim_ids):
            share[:, d] = np.where(present[:, d] & has_shares, raw_w[did] / np.where(has_shares, wsum, 1.0), 0.0)
            composite = np.where(present[:, d], composite + dims[:, d] * share[:, d], composite)
    unweighted = ~has_shares & ~incomplete & ~invalid
    ok = ~incomplete & ~invalid & has_shares
    composite = np.where(ok, composite, np.nan)
    incomplete = incomplete | unweighted

    # Lost composite points per question: (100 - score) × weight / dimension total × share.
    weakest = np.full((n, WEAKEST), -1, np.int64)
    scored_cols = np.flatnonzero(dim_col >= 0)
    if n and len(scored_cols):
        dc = dim_col[scored_cols]
        with np.errstate(invalid="ignore", divide="ignore"):
            lost = (MAX_SCORE - scores[:, scored_cols]) * qweight[scored_cols] / totals[:, dc] * share[:, dc]
        lost = np.where(np.isnan(lost), -np.inf, lost)
        everyone = np.arange(n)
        for k in range(WEAKEST):
            j = np.argmax(lost, axis=1)  # the first maximum: ties keep questionnaire order
            best = lost[everyone, j]
            weakest[:, k] = np.where(best > 0, scored_cols[j], -1)
            if k:
                weakest[:, k] = np.where(weakest[:, k - 1] < 0, -1, weakest[:, k])
            lost[everyone, j] = -np.inf
    return _Scored(ok, incomplete, invalid, dims, composite, weakest, scores)


def _dimension_json(dim_ids: Sequence[str], dims: np.ndarray) -> list[str]:
    """``{"tech":59.4,…}`` per row, leaving out NaN (json.dumps would give the same text)."""
    out: list[str] = [""] * len(dims)
    present = ~np.isnan(dims)
    pattern = present @ (1 << np.arange(len(dim_ids)))
    for p in np.unique(pattern).tolist():
        idx = np.flatnonzero(pattern == p)
        cols = [d for d in range(len(dim_ids)) if p >> d & 1]
        template = "{" + ", ".join(f"{json.dumps(dim_ids[d])}: %r" for d in cols) + "}"
        for i, values in zip(idx.tolist(), dims[np.ix_(idx, cols)].tolist()):
            out[i] = template % tuple(values)
    return out


def _weakest_json(questionnaire: Questionnaire, weakest: np.ndarray) -> list[str]:
    nq = len(questionnaire.questions)
    base = nq + 1
    combined = np.zeros(len(weakest), np.int64)
    for k in range(weakest.shape[1]):
        combined = combined * base + (weakest[:, k] + 1)
    uniq, inverse = np.unique(combined, return_inverse=True)
    texts = []
    for c in uniq.tolist():
        cols = []
        for _ in range(weakest.shape[1]):
            c, r = divmod(c, base)
            cols.append(r - 1)
        texts.append(json.dumps([questionnaire.questions[j].id for j in reversed(cols) if j >= 0]))
    return np.asarray(texts, dtype=object)[inverse].tolist() if len(uniq) else []


def _peer_rows(
    round_id: int,
    metrics: Sequence[str],
    values: np.ndarray,
    groups: Mapping[str, np.ndarray],
) -> list[tuple[Any, ...]]:
    """(round, scope, scope id, metric, n, median, mean) for each group with >= MIN_GROUP values.

    ``values`` (n × metrics) holds rounded scores (NaN: none); ``groups[scope]`` the group id of
    each firm (-1: not in a group of that scope).  One sort per scope, no loop over firms.
    """
    shift = 27  # scores are <= 100, so round(value × 1e6) < 2**27
    empty = (1 << shift) - 1
    out: list[tuple[Any, ...]] = []
    for scope, ids in groups.items():
        member = ids >= 0
        if not member.any():
            continue
        uniq, g = np.unique(ids[member], return_inverse=True)
        v = values[member]
        valid = ~np.isnan(v)
        ints = np.where(valid, np.rint(np.where(valid, v, 0) * 10**DECIMALS), empty).astype(np.int64)
        ordered = np.sort((g[:, None].astype(np.int64) << shift) | ints, axis=0) & empty
        sizes = np.bincount(g, minlength=len(uniq))
        start = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        for k, metric in enumerate(metrics):
            cnt = np.bincount(g[valid[:, k]], minlength=len(uniq))
            keep = np.flatnonzero(cnt >= MIN_GROUP)
            if not len(keep):
                continue
            c, s0 = cnt[keep], start[keep]
            lo = ordered[s0 + (c - 1) // 2, k] / 10**DECIMALS
            hi = ordered[s0 + c // 2, k] / 10**DECIMALS
            median = round_scores((lo + hi) / 2)
            total = np.bincount(g[valid[:, k]], weights=v[valid[:, k], k], minlength=len(uniq))
            mean = round_scores(total[keep] / c)
            out.extend(
                (round_id, scope, sid, metric, nn, med, mn)
                for sid, nn, med, mn in zip(
                    uniq[keep].tolist(), c.tolist(), median.tolist(), mean.tolist()
                )
            )
    return out


# ---------------------------------------------------------------------------------------------
# The round


async def score_round(db: Database, round_id: int) -> RankingSummary:
    """Scores, ranks and summarises every submitted assessment of the round (see the module
    docstring); replaces what an earlier run stored.  Raises ValueError for an unknown round
    or invalid round weights."""
    started = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        timings[name] = now - since
        return now

    async with db.transaction() as repo:
        t = time.perf_counter()
        round_ = await repo.rounds.get(round_id)
        if round_ is None:
            raise ValueError(f"no round {round_id}")
        questionnaire = load_questionnaire(round_.questionnaire_version)
        weights = validate_weights(questionnaire, round_.weights)
        ref_year = reference_year(round_)
        conn = repo.conn
        await conn.execute("DELETE FROM scores WHERE round_id = ?", (round_id,))
        await conn.execute("DELETE FROM peer_stats WHERE round_id = ?", (round_id,))
        t = lap("delete", t)

        async with conn.execute(_LOAD_SQL, (round_id,)) as cur:
            rows = await cur.fetchall()
        firm_ids, sectors, estates, clusters, provinces, packed = (
            list(c) for c in zip(*rows)
        ) if rows else ([], [], [], [], [], [])
        del rows
        t = lap("load", t)

        result = score_answers(questionnaire, sectors, packed, ref_year=ref_year, weights=weights)
        del packed
        dim_ids = [d.id for d in questionnaire.scored_dimensions]
        ok = np.flatnonzero(result.ok)
        dims = round_scores(result.dims[ok])
        composite = round_scores(result.composite[ok])
        dim_json = _dimension_json(dim_ids, dims)
        weak_json = _weakest_json(questionnaire, result.weakest[ok])
        ok_list = ok.tolist()
        t = lap("score", t)

        await conn.executemany(
            "INSERT INTO scores (round_id, firm_id, estate_id, cluster_id, province_id,"
            " dimensions, composite, weakest) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            zip(
                repeat(round_id), [firm_ids[i] for i in ok_list], [estates[i] for i in ok_list],
                [clusters[i] for i in ok_list], [provinces[i] for i in ok_list],
                dim_json, composite.tolist(), weak_json,
            ),
        )
        t = lap("write", t)

        await conn.execute(_RANK_SQL, {"round": round_id})
        t = lap("rank", t)

        groups = {
            "estate": np.asarray([estates[i] for i in ok_list], np.int64),
            "cluster": np.asarray([-1 if clusters[i] is None else clusters[i] for i in ok_list], np.int64),
            "province": np.asarray([provinces[i] for i in ok_list], np.int64),
            "nation": np.zeros(len(ok_list), np.int64),
        }
        metrics = ["composite", *dim_ids]
        values = np.column_stack([composite, dims]) if len(ok_list) else np.zeros((0, len(metrics)))
        peers = _peer_rows(round_id, metrics, values, groups)
        await conn.executemany(
            "INSERT INTO peer_stats (round_id, scope, scope_id, metric, n, median, mean)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            peers,
        )
        await conn.execute(
            "UPDATE rounds SET scored_at = ? WHERE id = ?", (datetime.now(UTC).isoformat(), round_id)
        )
        t = lap("peers", t)
    lap("commit", t)
    seconds = time.perf_counter() - started
    invalid = int(result.invalid.sum())
    if invalid:
        log.warning("round %s: %d submissions with invalid stored answers were not scored", round_id, invalid)
    summary = RankingSummary(
        scored=len(ok_list), incomplete=int(result.incomplete.sum()), seconds=seconds,
        invalid=invalid, timings=timings,
    )
    log.info("round %s scored: %s", round_id, summary)
    return summary


# ---------------------------------------------------------------------------------------------
# Weight sensitivity


def competition_ranks(values: np.ndarray) -> np.ndarray:
    """Standard competition ranks ("1224"), highest value first."""
    keys = -np.asarray(values, np.float64)
    return np.searchsorted(np.sort(keys), keys, side="left") + 1


def weighted_composites(dims: np.ndarray, weights: Sequence[float]) -> np.ndarray:
    """The composite of each row of ``dims`` (NaN: the firm has no such dimension) under
    ``weights``: the weighted mean of the present dimensions, rounded like stored composites;
    -inf where no present dimension has a positive weight (ranked last)."""
    w = np.asarray(weights, np.float64)
    present = ~np.isnan(dims)
    wp = np.where(present, w, 0.0)
    total = wp.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        comp = np.where(present, dims, 0.0) @ w / total
    return np.where(total > 0, round_scores(comp), -np.inf)


def sensitivity(
    dims: np.ndarray,
    dimension_ids: Sequence[str],
    base_weights: Mapping[str, float],
    weights: Mapping[str, float],
) -> Sensitivity:
    """Compares national competition ranks under ``base_weights`` and ``weights`` (both full
    maps over ``dimension_ids``), from the same dimension scores ``dims`` (n × dimensions)."""
    before = competition_ranks(weighted_composites(dims, [base_weights[d] for d in dimension_ids]))
    after = competition_ranks(weighted_composites(dims, [weights[d] for d in dimension_ids]))
    shift = np.abs(after - before)
    n = len(shift)
    return Sensitivity(
        firms=n,
        changed=int(np.count_nonzero(shift)),
        max_shift=int(shift.max()) if n else 0,
        mean_shift=float(shift.mean()) if n else 0.0,
        base_weights=dict(base_weights),
        weights=dict(weights),
    )


async def weight_sensitivity(db: Database, round_id: int, weights: Mapping[str, float]) -> Sensitivity:
    """How the national ranks of a scored round would change under other dimension weights.

    Both rankings are recomputed from the stored (rounded) dimension scores - the round's own
    weights (equal when it has none) against ``weights`` - so identical weights change nothing.
    Raises ValueError for an unknown round or bad weights (unknown dimension, negative, not a
    number, all zero).
    """
    async with db.read() as repo:
        round_ = await repo.rounds.get(round_id)
        if round_ is None:
            raise ValueError(f"no round {round_id}")
        questionnaire = load_questionnaire(round_.questionnaire_version)
        alternative = validate_weights(questionnaire, weights)
        base = validate_weights(questionnaire, round_.weights)
        dim_ids = list(base)
        columns = ", ".join(f"json_extract(dimensions, '$.\"{d}\"')" for d in dim_ids)
        async with repo.conn.execute(
            f"SELECT {columns} FROM scores WHERE round_id = ? ORDER BY firm_id", (round_id,)
        ) as cur:
            rows = await cur.fetchall()
    dims = np.array([tuple(r) for r in rows], dtype=np.float64).reshape(-1, len(dim_ids))
    return sensitivity(dims, dim_ids, base, alternative)
