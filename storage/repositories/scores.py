"""Scores and ranks per round (one row per scored firm) and the peer statistics of each group.

Rows are written by ``bot.services.ranking.score_round``; this repository reads them.  It never commits:
the transaction belongs to the caller.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

import aiosqlite
from pydantic import BaseModel, ConfigDict

from storage.repositories.base import Repository

Scope = Literal["estate", "cluster", "province", "nation"]

_COLUMNS = (
    "round_id, firm_id, estate_id, cluster_id, province_id, dimensions, composite, weakest,"
    " rank_estate, size_estate, rank_cluster, size_cluster, rank_province, size_province,"
    " rank_nation, size_nation, percentile"
)


class ScoreRow(BaseModel):
    """A firm's scores and ranks in one round (a row of ``scores``)."""

    model_config = ConfigDict(frozen=True)

    round_id: int
    firm_id: int
    estate_id: int
    cluster_id: int | None
    province_id: int
    #: dimension id -> 0–100 (rounded to 6 decimals), for the dimensions the firm has answers in.
    dimensions: dict[str, float]
    #: 0–100, rounded to 6 decimals (equal composites tie).
    composite: float
    #: up to three question ids that cost the firm the most composite points.
    weakest: list[str]
    rank_estate: int | None = None
    size_estate: int | None = None
    rank_cluster: int | None = None
    size_cluster: int | None = None
    rank_province: int | None = None
    size_province: int | None = None
    rank_nation: int | None = None
    size_nation: int | None = None
    #: 100 × the share of the other firms of the nation with a strictly lower composite.
    percentile: float | None = None


class PeerStat(BaseModel):
    """The median and mean of one metric in one group (stored only for groups of >= 5 firms)."""

    model_config = ConfigDict(frozen=True)

    round_id: int
    scope: Scope
    #: estate, cluster or province id; 0 for the nation.
    scope_id: int
    #: a dimension id or "composite".
    metric: str
    n: int
    median: float
    mean: float


class TopEntry(BaseModel):
    """A line of the national top list; ``name`` only when the firm agreed to be named."""

    model_config = ConfigDict(frozen=True)

    rank: int
    composite: float
    firm_id: int
    name: str | None
    estate_id: int
    province_id: int


def _score(row: aiosqlite.Row | Mapping[str, Any]) -> ScoreRow:
    data = dict(row)
    data["dimensions"] = json.loads(data["dimensions"]) if data["dimensions"] else {}
    data["weakest"] = json.loads(data["weakest"]) if data["weakest"] else []
    return ScoreRow(**data)


class ScoreRepository(Repository):
    __slots__ = ()

    async def for_firm(self, round_id: int, firm_id: int) -> ScoreRow | None:
        row = await self._one(
            f"SELECT {_COLUMNS} FROM scores WHERE round_id = ? AND firm_id = ?",
            (round_id, firm_id),
        )
        return _score(row) if row else None

    async def latest_published_for_firm(self, firm_id: int) -> ScoreRow | None:
        """The firm's row in the newest published round it was scored in (newest by the round's
        opening time, then id)."""
        columns = ", ".join(f"s.{c.strip()}" for c in _COLUMNS.split(","))
        row = await self._one(
            f"SELECT {columns} FROM scores s JOIN rounds r ON r.id = s.round_id"
            " WHERE s.firm_id = ? AND r.published_at IS NOT NULL"
            " ORDER BY r.opens_at DESC, r.id DESC LIMIT 1",
            (firm_id,),
        )
        return _score(row) if row else None

    async def previous_published_for_firm(self, firm_id: int, round_id: int) -> tuple[str, ScoreRow] | None:
        """The firm's row (and the round's title) in the latest published round that opened
        before ``round_id``."""
        columns = ", ".join(f"s.{c.strip()}" for c in _COLUMNS.split(","))
        row = await self._one(
            f"SELECT r.title AS round_title, {columns} FROM scores s JOIN rounds r ON r.id = s.round_id"
            " WHERE s.firm_id = ? AND r.published_at IS NOT NULL"
            " AND r.opens_at < (SELECT opens_at FROM rounds WHERE id = ?)"
            " ORDER BY r.opens_at DESC, r.id DESC LIMIT 1",
            (firm_id, round_id),
        )
        if row is None:
            return None
        data = {k: row[k] for k in row.keys() if k != "round_title"}  # noqa: SIM118
        return row["round_title"], _score(data)

    async def peer(self, round_id: int, scope: str, scope_id: int, metric: str) -> PeerStat | None:
        row = await self._one(
            "SELECT round_id, scope, scope_id, metric, n, median, mean FROM peer_stats"
            " WHERE round_id = ? AND scope = ? AND scope_id = ? AND metric = ?",
            (round_id, scope, scope_id, metric),
        )
        return PeerStat(**dict(row)) if row else None

    async def peers_for(self, round_id: int, scope: str, scope_id: int) -> dict[str, PeerStat]:
        """Every metric of one group (empty when the group is below the minimum size)."""
        rows = await self._all(
            "SELECT round_id, scope, scope_id, metric, n, median, mean FROM peer_stats"
            " WHERE round_id = ? AND scope = ? AND scope_id = ? ORDER BY metric",
            (round_id, scope, scope_id),
        )
        return {r["metric"]: PeerStat(**dict(r)) for r in rows}

    async def count(self, round_id: int) -> int:
        return int(await self._scalar("SELECT COUNT(*) FROM scores WHERE round_id = ?", (round_id,)))

    async def firm_ids(self, round_id: int) -> list[int]:
        rows = await self._all(
            "SELECT firm_id FROM scores WHERE round_id = ? ORDER BY firm_id", (round_id,)
        )
        return [r[0] for r in rows]

    async def owners(self, round_id: int) -> list[tuple[int, int]]:
        """(firm id, owner id) of every scored firm of the round, for publishing."""
        rows = await self._all(
            "SELECT s.firm_id, f.owner_id FROM scores s JOIN firms f ON f.id = s.firm_id"
            " WHERE s.round_id = ? AND f.deleted_at IS NULL ORDER BY s.firm_id",
            (round_id,),
        )
        return [(r[0], r[1]) for r in rows]

    async def top(self, round_id: int, limit: int = 100) -> tuple[list[TopEntry], bool]:
        """The national top ``limit``, extended to every firm tied with the last one.

        Returns the entries (by rank, then firm id) and whether ties made the list longer than
        ``limit``.  Names are given only for firms with ``consent_public``.
        """
        if limit <= 0:
            return [], False
        cutoff = await self._scalar(
            "SELECT rank_nation FROM scores WHERE round_id = ? AND rank_nation IS NOT NULL"
            " ORDER BY rank_nation, firm_id LIMIT 1 OFFSET ?",
            (round_id, limit - 1),
        )
        sql = (
            "SELECT s.rank_nation AS rank, s.composite, s.firm_id,"
            " CASE WHEN f.consent_public = 1 THEN f.name END AS name, s.estate_id, s.province_id"
            " FROM scores s JOIN firms f ON f.id = s.firm_id"
            " WHERE s.round_id = ? AND s.rank_nation IS NOT NULL"
        )
        params: tuple[int, ...] = (round_id,)
        if cutoff is not None:
            sql += " AND s.rank_nation <= ?"
            params += (cutoff,)
        rows = await self._all(sql + " ORDER BY s.rank_nation, s.firm_id", params)
        entries = [TopEntry(**dict(r)) for r in rows]
        return entries, len(entries) > limit
