"""The SQL of scoring and ranking a round: loading its submissions, writing and publishing its
``scores`` and ``peer_stats`` rows, and reading dimension scores back for the sensitivity check.

Methods return plain data (numpy arrays, lists, ``PackedRound``) for ``bot.domain.ranking``; the
use cases are in ``bot.services.ranking``.  Nothing here commits: the transaction belongs to the
caller.

Writing a round's results is split so that no transaction is long and no reader ever sees a
half-written round (migration 0009): a run takes a new generation number (``new_generation``),
writes its rows under it into ``score_rows`` a chunk per short transaction (``write``), and
``publish`` makes that generation the one the ``scores`` view shows (one tiny transaction);
``prune`` then deletes the older generations a chunk at a time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from itertools import repeat
from typing import Any

import numpy as np
import numpy.typing as npt

from storage.packed_answers import GS, RS, US, PackedRound
from storage.repositories.base import Repository, stamp

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: ``rounds.submitted_changes`` (migration 0012: bumped by every change to one of the round's
#: submitted submissions): if it moved between loading and publishing, the scores are stale.
Fingerprint = int

# Everything about the round's submitted submissions in ONE row: SQLite concatenates (in C) the
# firm columns as comma-separated numbers, the sectors and free texts separated by GS, and
# the packed answer ids into one blob (with the length of each: -1 where there is no packed copy),
# so Python builds a handful of objects instead of one tuple per submission.  The columns come in
# the same scan order, so they stay aligned.  (See storage/packed_answers.py.)  The separators
# are literals, not char(29): an argument of group_concat is evaluated for every row, and the
# function calls cost a sixth of the statement.
_LOAD_SQL = (
    "SELECT (SELECT submitted_changes FROM rounds WHERE id = ?1), count(*), total(s.packed IS NULL),"
    " group_concat(s.firm_id), group_concat(f.estate_id),"
    " group_concat(coalesce(f.cluster_id, -1)), group_concat(f.province_id),"
    f" group_concat(f.sector, '{GS}'), group_concat(coalesce(length(s.packed), -1)),"
    f" CAST(group_concat(s.packed, '') AS BLOB), group_concat(coalesce(s.packed_text, ''), '{GS}')"
    " FROM submissions s JOIN firms f ON f.id = s.firm_id"
    " WHERE s.round_id = ?1 AND s.status = 'submitted'"
)
_FINGERPRINT_SQL = "SELECT submitted_changes FROM rounds WHERE id = ?"
# The answers of the submissions without a packed copy (submitted before migration 0003, or
# changed after submitting), packed the same way as packed_text.
_UNPACKED_SQL = (
    f"SELECT s.firm_id, (SELECT group_concat(a.qid || '{US}' || a.value, '{RS}') FROM answers a"
    "   WHERE a.submission_id = s.id)"
    " FROM submissions s WHERE s.round_id = ? AND s.status = 'submitted' AND s.packed IS NULL"
)
_VALUES_SQL = "SELECT id, qid, value FROM answer_values WHERE id IN (SELECT value FROM json_each(?))"
SCORE_COLUMNS = (
    "round_id", "firm_id", "estate_id", "cluster_id", "province_id", "dimensions", "composite",
    "weakest", "rank_estate", "size_estate", "rank_cluster", "size_cluster", "rank_province",
    "size_province", "rank_nation", "size_nation", "percentile",
)
_COLUMNS = ", ".join(SCORE_COLUMNS)
#: The columns of a written row: SCORE_COLUMNS without the two that are the same on every row
#: (round_id, size_nation), which the statement adds; cluster_id is -1 and rank_cluster and
#: size_cluster 0 for a firm in no cluster, which the statement turns into NULL.  (Fewer values
#: to bind per row, and no Python None to make: binding is most of the writing time.)
WRITE_COLUMNS = tuple(c for c in SCORE_COLUMNS if c not in ("round_id", "size_nation"))
_PARAM = {c: f"?{i}" for i, c in enumerate(WRITE_COLUMNS, start=1)}
_VALUES = {
    **_PARAM,
    "cluster_id": f"CASE WHEN {_PARAM['cluster_id']} >= 0 THEN {_PARAM['cluster_id']} END",
    "rank_cluster": f"CASE WHEN {_PARAM['cluster_id']} >= 0 THEN {_PARAM['rank_cluster']} END",
    "size_cluster": f"CASE WHEN {_PARAM['cluster_id']} >= 0 THEN {_PARAM['size_cluster']} END",
}
#: Rows deleted per ``prune`` call (5,000: about 3.5 ms of write lock).
PRUNE_CHUNK = 5_000


class RankingRepository(Repository):
    __slots__ = ()

    async def load(self, round_id: int) -> tuple[PackedRound, Fingerprint]:
        """The round's submitted submissions with their firms' groups and packed answers, in
        one statement (one snapshot), and their fingerprint."""
        async with self.conn.execute(_LOAD_SQL, (round_id,)) as cur:
            row = await cur.fetchone()
        assert row is not None
        changes, n, unpacked_count, *columns = tuple(row)
        fingerprint: Fingerprint = int(changes or 0)
        unpacked: dict[int, str | None] = {}
        if unpacked_count:
            async with self.conn.execute(_UNPACKED_SQL, (round_id,)) as cur:
                unpacked = {r[0]: r[1] for r in await cur.fetchall()}
        if not n:
            columns = ["", "", "", "", "", "", b"", ""]
        firms, estates, clusters, provinces, sectors, lengths, blob, texts = columns
        packed = PackedRound(
            count=int(n), firm_ids=firms, estate_ids=estates, cluster_ids=clusters,
            province_ids=provinces, sectors=sectors, lengths=lengths, blob=blob or b"",
            texts=texts, unpacked=unpacked,
        )
        return packed, fingerprint

    async def answer_values(self, ids: Sequence[int] | npt.NDArray[Any]) -> list[tuple[int, str, str]]:
        """(id, question id, stored JSON value) of these ``answer_values`` ids."""
        id_list = ids.tolist() if isinstance(ids, np.ndarray) else list(ids)
        if not id_list:
            return []
        async with self.conn.execute(_VALUES_SQL, (json.dumps(id_list),)) as cur:
            return [(r[0], r[1], r[2]) for r in await cur.fetchall()]

    async def all_answer_values(self, limit: int) -> list[tuple[int, str, str]] | None:
        """Every ``answer_values`` row (id, question id, stored JSON value), or None when there
        are more than ``limit``."""
        async with self.conn.execute("SELECT count(*) FROM answer_values") as cur:
            row = await cur.fetchone()
        if row is None or row[0] > limit:
            return None
        async with self.conn.execute("SELECT id, qid, value FROM answer_values") as cur:
            return [(r[0], r[1], r[2]) for r in await cur.fetchall()]

    async def new_generation(self, round_id: int) -> int:
        """A generation number no other run of the round has used."""
        async with self.conn.execute(
            "UPDATE rounds SET score_generations = score_generations + 1 WHERE id = ?"
            " RETURNING score_generations", (round_id,),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            raise ValueError(f"no round {round_id}")
        return int(row[0])

    async def write(
        self, round_id: int, generation: int, size_nation: int, rows: Iterable[Sequence[Any]],
    ) -> int:
        """Adds rows (columns as WRITE_COLUMNS) to the round's ``generation``; ``size_nation``:
        how many firms are ranked.  ``rows`` may be a lazy iterator (``rows_to_write``): it is
        consumed in the connection's thread.  Returns how many rows it added."""
        constants = {"round_id": str(int(round_id)), "size_nation": str(int(size_nation))}
        values = ", ".join(constants.get(c) or _VALUES[c] for c in SCORE_COLUMNS)
        async with self.conn.executemany(
            f"INSERT INTO score_rows (generation, {_COLUMNS}) VALUES ({int(generation)}, {values})", rows
        ) as cur:
            return cur.rowcount

    async def fingerprint(self, round_id: int) -> Fingerprint:
        async with self.conn.execute(_FINGERPRINT_SQL, (round_id,)) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row is not None else 0

    async def publish(
        self, round_id: int, generation: int,
        peers: Sequence[tuple[str, int, str, int, float, float]],
    ) -> bool:
        """Makes ``generation`` the round's visible results, replaces its ``peer_stats`` with
        ``peers`` (scope, scope id, metric, n, median, mean) and marks the round scored now.
        Returns False (and changes nothing) when a later run has already published."""
        conn = self.conn
        async with conn.execute("SELECT score_generation FROM rounds WHERE id = ?", (round_id,)) as cur:
            row = await cur.fetchone()
        if row is None:
            raise ValueError(f"no round {round_id}")
        if row[0] is not None and row[0] > generation:
            return False
        await conn.execute("DELETE FROM peer_stats WHERE round_id = ?", (round_id,))
        await conn.executemany(
            "INSERT INTO peer_stats (round_id, scope, scope_id, metric, n, median, mean)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            ((round_id, *p) for p in peers),
        )
        await conn.execute(
            "UPDATE rounds SET score_generation = ?, scored_at = ? WHERE id = ?",
            (generation, stamp(), round_id),
        )
        return True

    async def prune(self, round_id: int, below: int, limit: int = PRUNE_CHUNK) -> int:
        """Deletes up to ``limit`` rows of the round's generations older than ``below`` that are
        not the published one (a run's leftovers, or results it replaced); returns how many."""
        return await self._delete_unpublished(round_id, "<", below, limit)

    async def discard(self, round_id: int, generation: int, limit: int = PRUNE_CHUNK) -> int:
        """Deletes up to ``limit`` rows of an unpublished ``generation`` (a run that gave up)."""
        return await self._delete_unpublished(round_id, "=", generation, limit)

    async def _delete_unpublished(self, round_id: int, op: str, generation: int, limit: int) -> int:
        """Deletes up to ``limit`` rows of the round's unpublished generations that compare to
        ``generation`` with ``op``, lowest generation and firm first: per generation, a range
        of the primary key (found by stepping ``limit`` entries along it), which costs a third
        less than deleting a list of rowids."""
        assert op in ("<", "=")
        deleted = 0
        while deleted < limit:
            async with self.conn.execute(
                f"SELECT generation FROM score_rows WHERE round_id = ?1 AND generation {op} ?2"
                " AND generation IS NOT (SELECT score_generation FROM rounds WHERE id = ?1)"
                " ORDER BY generation LIMIT 1",
                (round_id, generation),
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                break
            target = int(row[0])
            async with self.conn.execute(
                "SELECT firm_id FROM score_rows WHERE round_id = ? AND generation = ?"
                " ORDER BY firm_id LIMIT 1 OFFSET ?",
                (round_id, target, limit - deleted - 1),
            ) as cur:
                last = await cur.fetchone()
            bound, args = ("", ()) if last is None else (" AND firm_id <= ?", (last[0],))
            async with self.conn.execute(
                f"DELETE FROM score_rows WHERE round_id = ? AND generation = ?{bound}",
                (round_id, target, *args),
            ) as cur:
                deleted += cur.rowcount
        return deleted

    async def dimension_scores(self, round_id: int, dimension_ids: Sequence[str]) -> FloatArray:
        """The stored dimension scores of the round's firms (n × dimensions, by firm id; NaN
        where a firm has none)."""
        columns = ", ".join(f"json_extract(dimensions, '$.\"{d}\"')" for d in dimension_ids)
        async with self.conn.execute(
            f"SELECT {columns} FROM scores WHERE round_id = ? ORDER BY firm_id", (round_id,)
        ) as cur:
            rows = await cur.fetchall()
        dims: FloatArray = np.array([tuple(r) for r in rows], dtype=np.float64)
        return dims.reshape(-1, len(dimension_ids))


# ---------------------------------------------------------------------------------------------
# Encoding scores rows (pure; meant for a worker thread)


def encode_dimensions(dimension_ids: Sequence[str], dims: FloatArray) -> list[str]:
    """``{"tech": 59.4, …}`` per row (``scores.dimensions``), leaving out NaN; the same text as
    ``json.dumps`` of the dict.  Each distinct value is formatted once."""
    n, nd = dims.shape
    out: list[str] = [""] * n
    present = ~np.isnan(dims)
    # repr of each distinct value of each column, as an object array aligned with the rows.
    texts = []
    for d in range(nd):
        uniq, inverse = np.unique(np.where(present[:, d], dims[:, d], 0.0), return_inverse=True)
        texts.append(np.asarray(list(map(repr, uniq.tolist())), dtype=object)[inverse])
    pattern = present @ (1 << np.arange(nd)) if nd else np.zeros(n, np.int64)
    patterns = np.unique(pattern).tolist()
    for p in patterns:
        # Every row alike (the usual case: every firm has every dimension): no index to follow.
        idx = None if len(patterns) == 1 else np.flatnonzero(pattern == p)
        cols = [d for d in range(nd) if p >> d & 1]
        if not cols:
            for i in range(n) if idx is None else idx.tolist():
                out[i] = "{}"
            continue
        pieces: list[Any] = []
        for k, d in enumerate(cols):
            pieces.append(repeat(("{" if k == 0 else ", ") + json.dumps(dimension_ids[d]) + ": "))
            pieces.append((texts[d] if idx is None else texts[d][idx]).tolist())
        pieces.append(repeat("}"))  # repeat() pieces are endless: the text columns set the length
        joined = map("".join, zip(*pieces, strict=False))
        if idx is None:
            return list(joined)
        for i, text in zip(idx.tolist(), joined, strict=True):
            out[i] = text
    return out


def encode_weakest(question_ids: Sequence[str], weakest: IntArray) -> list[str]:
    """``["T2", "T9"]`` per row (``scores.weakest``) from question columns (-1: none)."""
    if not len(weakest):
        return []
    base = len(question_ids) + 1
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
        texts.append(json.dumps([question_ids[j] for j in reversed(cols) if j >= 0]))
    result: list[str] = np.asarray(texts, dtype=object)[inverse].tolist()
    return result


def rows_to_write(
    firm_ids: IntArray,
    groups: dict[str, IntArray],
    dimensions: Sequence[str],
    composite: FloatArray,
    weakest: Sequence[str],
    ranks: dict[str, tuple[IntArray, IntArray]],
    percentile: FloatArray,
) -> Iterator[tuple[Any, ...]]:
    """Rows to write (columns as WRITE_COLUMNS), made lazily: the columns are turned into Python
    lists only when the first row is asked for, and each row is the tuple ``zip`` recycles, so
    passing this straight to ``executemany`` builds no list of tuples.  ``groups`` and ``ranks``
    by scope (estate, cluster, province, nation); a cluster id < 0 is no cluster."""
    yield from zip(
        firm_ids.tolist(), groups["estate"].tolist(), groups["cluster"].tolist(),
        groups["province"].tolist(), dimensions, composite.tolist(), weakest,
        ranks["estate"][0].tolist(), ranks["estate"][1].tolist(),
        ranks["cluster"][0].tolist(), ranks["cluster"][1].tolist(),
        ranks["province"][0].tolist(), ranks["province"][1].tolist(),
        ranks["nation"][0].tolist(), percentile.tolist(), strict=True,
    )
