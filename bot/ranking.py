"""Scoring and ranking a whole round, peer statistics, and the weight-sensitivity check.

``score_round`` works in one transaction:

1. deletes the round's ``scores`` and ``peer_stats`` rows (re-running is idempotent);
2. loads every submitted submission of the round with its firm's sector, estate, cluster and
   province and its packed answers (``submissions.packed``: ``answer_values`` ids written at
   submit time, see migration 0003 and ``SubmissionRepository.submit``) in ONE query whose
   columns SQLite concatenates, so Python decodes a handful of strings and one blob with numpy
   instead of building a tuple per submission; free-text answers come from
   ``submissions.packed_text``, and submissions without a packed copy (older, or changed after
   submitting) from the ``answers`` table;
3. scores them vectorised with numpy.  Each distinct stored answer text (``qid`` + JSON value;
   a few thousand in a round) is scored once with ``bot.domain.scoring.score_question`` - the very
   closures ``score_submission`` uses - and the per-firm arithmetic (dimension means, shares,
   composite, lost points) repeats ``score_submission``'s float operations in the same order,
   so the results are bit-for-bit those of ``bot.domain.scoring.score_submission`` (tests check it);
4. ranks with numpy (one sort per scope, no loop over firms) and stores one ``scores`` row per
   complete submission with its ranks, sizes and percentile in one ``executemany``
   (``weakest`` = ``bot.domain.scoring.weakest(q, result, 3)``);
5. stores peer statistics (median and mean) for every group of at least ``MIN_GROUP`` firms.

Rounding: the composite and the dimension scores are stored rounded to ``DECIMALS`` (6) decimal
places (``numpy.round``), so composites that differ only by float noise (59.4000000001 and 59.4)
tie.  Ranks are standard competition ranks ("1224") by composite, highest first, within the
estate, the cluster (firms in a cluster only), the province and the nation.

Percentile: 100 × (the number of other firms with a strictly lower composite) / (firms − 1): the
share of the other firms the firm did strictly better than.  Firms tied at the top of 4 (90, 80, 80, 70) get
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

from bot.domain.questionnaire import Questionnaire, load_questionnaire
from bot.domain.scoring import MAX_SCORE, score_question
from bot.services.assessment import reference_year
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
_GS = "\x1d"  # between the submissions in the load query

_ANSWERED, _INVALID, _IGNORED = 0, 1, 2

# Everything about the round's submitted submissions in ONE row: SQLite concatenates (in C) the
# firm columns as comma-separated numbers, the sectors and free texts separated by char(29), and
# the packed answer ids into one blob (with the length of each: -1 where there is no packed copy),
# so Python builds a handful of objects instead of one tuple per submission.  The columns come in
# the same scan order, so they stay aligned.
_LOAD_SQL = (
    "SELECT count(*), group_concat(s.firm_id), group_concat(f.estate_id),"
    " group_concat(coalesce(f.cluster_id, -1)), group_concat(f.province_id),"
    " group_concat(f.sector, char(29)), group_concat(coalesce(length(s.packed), -1)),"
    " CAST(group_concat(s.packed, '') AS BLOB), group_concat(coalesce(s.packed_text, ''), char(29))"
    " FROM submissions s JOIN firms f ON f.id = s.firm_id"
    " WHERE s.round_id = ? AND s.status = 'submitted'"
)
# The answers of the submissions without a packed copy (submitted before migration 0003, or
# changed after submitting), packed the same way as packed_text.
_UNPACKED_SQL = (
    "SELECT s.firm_id, (SELECT group_concat(a.qid || char(31) || a.value, char(30)) FROM answers a"
    "   WHERE a.submission_id = s.id)"
    " FROM submissions s WHERE s.round_id = ? AND s.status = 'submitted' AND s.packed IS NULL"
)
_VALUES_SQL = "SELECT id, qid, value FROM answer_values WHERE id IN (SELECT value FROM json_each(?))"
_INSERT_SQL = (
    "INSERT INTO scores (round_id, firm_id, estate_id, cluster_id, province_id, dimensions,"
    " composite, weakest, rank_estate, size_estate, rank_cluster, size_cluster, rank_province,"
    " size_province, rank_nation, size_nation, percentile)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


@dataclass(frozen=True)
class RankingSummary:
    scored: int
    incomplete: int
    seconds: float
    #: submissions with a stored answer that is not a valid value of its question.
    invalid: int = 0
    #: seconds per phase: delete, load, score (decoding, scoring, ranking), write, peers, commit.
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


def split_packed(answers: Sequence[str | None], table: _Codes) -> tuple[np.ndarray, np.ndarray]:
    """(row, code) of every answer in ``answers`` (``qid\\x1fjson`` joined by ``\\x1e`` per row,
    None: no answers), the codes from ``table``."""
    n = len(answers)
    lens = np.fromiter((0 if a is None else a.count(_RS) + 1 for a in answers), np.int64, n)
    packed = [a for a in answers if a is not None]
    keys = _RS.join(packed).split(_RS) if packed else []
    # Number each distinct key by its first occurrence (one dict operation per answer), then
    # resolve only the distinct keys.
    first: dict[str, int] = {}
    occurrence = np.fromiter(map(first.setdefault, keys, count()), np.int64, len(keys))
    lut = np.zeros(len(keys), np.int64)
    lut[np.fromiter(first.values(), np.int64, len(first))] = [table.resolve(k) for k in first]
    return np.repeat(np.arange(n), lens), lut[occurrence]


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
    ``bot.domain.scoring.score_submission`` per submission."""
    table = codes or _Codes(questionnaire, ref_year)
    rows, code = split_packed(answers, table)
    return score_codes(questionnaire, sectors, rows, code, table, weights=weights)


def score_codes(
    questionnaire: Questionnaire,
    sectors: Sequence[str | None],
    rows: np.ndarray,
    code: np.ndarray,
    table: _Codes,
    *,
    weights: Mapping[str, float] | None,
) -> _Scored:
    """Scores n = len(sectors) submissions from their answers given as parallel arrays: the
    submission (row) and the ``table`` code of each answer (at most one per row and question)."""
    questions = questionnaire.questions
    n, nq = len(sectors), len(questions)
    dim_ids = [d.id for d in questionnaire.scored_dimensions]
    raw_w = validate_weights(questionnaire, weights)

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
        # Column by column (repr and join run in C): {"a": <repr>, "b": <repr>}
        pieces: list[Any] = []
        for k, d in enumerate(cols):
            pieces.append(repeat(("{" if k == 0 else ", ") + json.dumps(dim_ids[d]) + ": "))
            pieces.append(map(repr, dims[idx, d].tolist()))
        pieces.append(repeat("}"))
        texts = map("".join, zip(*pieces)) if cols else repeat("{}", len(idx))
        for i, text in zip(idx.tolist(), texts):
            out[i] = text
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


def group_ranks(values: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Standard competition ranks ("1224", highest value first) of ``values`` within the groups
    ``ids``, and the size of each firm's group.  Rows with a negative id (no group) get 0 for
    both."""
    n = len(values)
    rank = np.zeros(n, np.int64)
    size = np.zeros(n, np.int64)
    member = np.flatnonzero(ids >= 0)
    if not len(member):
        return rank, size
    keys, groups = -values[member], ids[member]
    order = np.lexsort((keys, groups))
    k, g = keys[order], groups[order]
    new_group = np.r_[True, g[1:] != g[:-1]]
    new_value = new_group | np.r_[True, k[1:] != k[:-1]]
    pos = np.arange(len(k))
    group_start = np.maximum.accumulate(np.where(new_group, pos, 0))
    value_start = np.maximum.accumulate(np.where(new_value, pos, 0))
    starts = np.flatnonzero(new_group)
    sizes = np.diff(np.r_[starts, len(k)])
    rank[member[order]] = value_start - group_start + 1
    size[member[order]] = np.repeat(sizes, sizes)
    return rank, size


def percentiles(values: np.ndarray) -> np.ndarray:
    """100 × (the number of other values strictly lower) / (n − 1); 100 when n = 1."""
    n = len(values)
    if n <= 1:
        return np.full(n, 100.0)
    lower = np.searchsorted(np.sort(values), values, side="left")
    return 100.0 * lower / (n - 1)


def _nullable(values: np.ndarray, present: np.ndarray) -> list[Any]:
    out = values.astype(object)
    out[~present] = None
    return out.tolist()


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
            (n, *columns) = await cur.fetchone()
        if n:
            firm_col, estate_col, cluster_col, province_col, sector_col, len_col, blob, text_col = columns
            firm_ids, estates, clusters, provinces, lens = (
                np.array(c.split(","), np.int64)
                for c in (firm_col, estate_col, cluster_col, province_col, len_col)
            )
            sectors: list[str | None] = sector_col.split(_GS)
            texts: list[str | None] = [t or None for t in text_col.split(_GS)]
        else:
            firm_ids = estates = clusters = provinces = lens = np.zeros(0, np.int64)
            sectors, texts, blob = [], [], b""
        del columns
        has_blob = lens >= 0
        unpacked: dict[int, str | None] = {}
        if not has_blob.all():
            async with conn.execute(_UNPACKED_SQL, (round_id,)) as cur:
                unpacked = dict(await cur.fetchall())
        # The packed ids of every answer (4-byte little-endian), decoded at once.
        lens = np.where(has_blob, lens, 0) // 4
        ids = np.frombuffer(blob or b"", "<u4")
        ordered = np.sort(ids)  # (np.unique hashes; a plain sort of 2.6M ids is 3x faster)
        used = ordered[np.r_[True, ordered[1:] != ordered[:-1]]] if len(ordered) else ordered
        del ordered
        dictionary: list[Any] = []
        if len(used):
            async with conn.execute(_VALUES_SQL, (json.dumps(used.tolist()),)) as cur:
                dictionary = list(await cur.fetchall())
        t = lap("load", t)

        table = _Codes(questionnaire, ref_year)
        if len(used):
            lut = np.zeros(int(used[-1]) + 1, np.int64)
            for vid, qid, value in dictionary:
                lut[vid] = table.resolve(qid + _US + value)
            if len(dictionary) != len(used):
                raise RuntimeError(f"round {round_id}: packed answers name unknown answer_values ids")
            code_parts = [lut[ids]]
        else:
            code_parts = [np.zeros(0, np.int64)]
        row_parts = [np.repeat(np.arange(n), lens)]
        # Free text kept with the submission, and the submissions without a packed copy.
        extra = [
            text if packed else unpacked.get(firm)
            for text, packed, firm in zip(texts, has_blob.tolist(), firm_ids.tolist())
        ] if texts.count(None) != n or unpacked else []
        if extra:
            extra_rows, extra_codes = split_packed(extra, table)
            row_parts.append(extra_rows)
            code_parts.append(extra_codes)
        del ids, blob, texts, unpacked, extra
        result = score_codes(
            questionnaire, sectors, np.concatenate(row_parts), np.concatenate(code_parts), table,
            weights=weights,
        )
        dim_ids = [d.id for d in questionnaire.scored_dimensions]
        ok = np.flatnonzero(result.ok)
        dims = round_scores(result.dims[ok])
        composite = round_scores(result.composite[ok])
        dim_json = _dimension_json(dim_ids, dims)
        weak_json = _weakest_json(questionnaire, result.weakest[ok])
        groups = {
            "estate": estates[ok],
            "cluster": clusters[ok],  # -1: not in a cluster
            "province": provinces[ok],
            "nation": np.zeros(len(ok), np.int64),
        }
        ranks = {scope: group_ranks(composite, ids) for scope, ids in groups.items()}
        in_cluster = groups["cluster"] >= 0
        t = lap("score", t)

        await conn.executemany(
            _INSERT_SQL,
            zip(
                repeat(round_id), firm_ids[ok].tolist(), groups["estate"].tolist(),
                _nullable(groups["cluster"], in_cluster), groups["province"].tolist(),
                dim_json, composite.tolist(), weak_json,
                ranks["estate"][0].tolist(), ranks["estate"][1].tolist(),
                _nullable(ranks["cluster"][0], in_cluster), _nullable(ranks["cluster"][1], in_cluster),
                ranks["province"][0].tolist(), ranks["province"][1].tolist(),
                ranks["nation"][0].tolist(), ranks["nation"][1].tolist(),
                percentiles(composite).tolist(),
            ),
        )
        t = lap("write", t)

        metrics = ["composite", *dim_ids]
        values = np.column_stack([composite, dims]) if len(ok) else np.zeros((0, len(metrics)))
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
        scored=len(ok), incomplete=int(result.incomplete.sum()), seconds=seconds,
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
