"""Read-only aggregates for estate dashboards, national statistics and exports.

Firms deleted by their owners (``firms.deleted_at``) are never listed; their anonymous scores
stay in the rounds already scored.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

import aiosqlite
from pydantic import BaseModel, ConfigDict

from storage.models import Round
from storage.repositories.base import Repository
from storage.repositories.firms import Recipient
from storage.repositories.rounds import _COLUMNS as _ROUND_COLUMNS
from storage.repositories.rounds import _round

#: Rows per batch of the national export's streams.
EXPORT_BATCH = 2000

#: A firm's identifier as exports show it: the national ID, or for a sole proprietorship the
#: owner's national code and the licence number («0499370899 · 12345/678»).
_IDENTIFIER = "CASE WHEN {t}licence_no IS NULL THEN {t}national_id ELSE {t}national_id || ' · ' || {t}licence_no END"


class FirmStatus(BaseModel):
    """A firm of an estate and where it stands in one round."""

    model_config = ConfigDict(frozen=True)

    firm_id: int
    name: str
    national_id: str
    estate_id: int
    province_id: int
    cluster_id: int | None
    sector: str
    employees: int
    consent_public: bool
    created_at: datetime
    phone: str | None = None
    #: None: not started; "draft": in progress; "submitted".
    status: str | None = None
    submitted_at: datetime | None = None


class ReportRepository(Repository):
    __slots__ = ()

    # --- rounds -------------------------------------------------------------------------------

    async def current_or_latest_round(self) -> Round | None:
        """The open round, else the latest that has opened (closed)."""
        row = await self._one(
            f"SELECT {_ROUND_COLUMNS} FROM rounds WHERE state != 'scheduled'"
            " ORDER BY state = 'open' DESC, opens_at DESC, id DESC LIMIT 1"
        )
        return _round(row) if row else None

    async def opened_rounds(self, limit: int = 1000) -> list[Round]:
        """The rounds that have opened, the open one first, then the newest first: the order of
        ``current_or_latest_round``, so the first is the default a view shows."""
        rows = await self._all(
            f"SELECT {_ROUND_COLUMNS} FROM rounds WHERE state != 'scheduled'"
            " ORDER BY state = 'open' DESC, opens_at DESC, id DESC LIMIT ?", (limit,)
        )
        return [_round(r) for r in rows]

    async def latest_scored_round(self) -> Round | None:
        row = await self._one(
            f"SELECT {_ROUND_COLUMNS} FROM rounds WHERE scored_at IS NOT NULL"
            " ORDER BY opens_at DESC, id DESC LIMIT 1"
        )
        return _round(row) if row else None

    async def latest_published_round(self) -> Round | None:
        row = await self._one(
            f"SELECT {_ROUND_COLUMNS} FROM rounds WHERE published_at IS NOT NULL"
            " ORDER BY opens_at DESC, id DESC LIMIT 1"
        )
        return _round(row) if row else None

    # --- firms --------------------------------------------------------------------------------

    async def firm_statuses(self, round_id: int | None, estate_id: int | None = None) -> list[FirmStatus]:
        """The (live) firms of one estate, or of all, with their submission in the round."""
        sql = (
            f"SELECT f.id AS firm_id, f.name, {_IDENTIFIER.format(t='f.')} AS national_id, f.estate_id,"
            " f.province_id, f.cluster_id,"
            " f.sector, f.employees, f.consent_public, f.created_at, f.phone, s.status, s.submitted_at"
            " FROM firms f LEFT JOIN submissions s ON s.firm_id = f.id AND s.round_id = ?"
            " WHERE f.deleted_at IS NULL"
        )
        params: list[Any] = [round_id if round_id is not None else -1]
        if estate_id is not None:
            sql += " AND f.estate_id = ?"
            params.append(estate_id)
        rows = await self._all(sql + " ORDER BY f.name, f.id", params)
        return [FirmStatus(**dict(r)) for r in rows]

    async def firms_by_province(self) -> dict[int, int]:
        rows = await self._all(
            "SELECT province_id, COUNT(*) FROM firms WHERE deleted_at IS NULL GROUP BY province_id"
        )
        return {r[0]: r[1] for r in rows}

    async def completion(self, round_id: int, estate_id: int | None = None) -> dict[str, int]:
        """Live firms by their status in the round: submitted, draft, not_started."""
        sql = (
            "SELECT coalesce(s.status, 'not_started') AS status, COUNT(*) FROM firms f"
            " LEFT JOIN submissions s ON s.firm_id = f.id AND s.round_id = ?"
            " WHERE f.deleted_at IS NULL"
        )
        params: list[Any] = [round_id]
        if estate_id is not None:
            sql += " AND f.estate_id = ?"
            params.append(estate_id)
        rows = await self._all(sql + " GROUP BY 1", params)
        counts = {"submitted": 0, "draft": 0, "not_started": 0}
        counts.update({r[0]: r[1] for r in rows})
        return counts

    async def not_submitted_in_estate(self, round_id: int, estate_id: int) -> list[Recipient]:
        """Owners of the estate's firms that have not submitted the round (drafts included)."""
        rows = await self._all(
            "SELECT f.id AS firm_id, f.owner_id, f.sector, u.language, u.muted"
            " FROM firms f JOIN users u ON u.id = f.owner_id"
            " WHERE f.estate_id = ? AND f.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM submissions s"
            "   WHERE s.firm_id = f.id AND s.round_id = ? AND s.status = 'submitted') ORDER BY f.id",
            (estate_id, round_id),
        )
        return [Recipient(**dict(r)) for r in rows]

    # --- answers ------------------------------------------------------------------------------

    async def submitted_answers(
        self, round_id: int, qids: Sequence[str], estate_id: int | None = None
    ) -> list[tuple[str, Any]]:
        """(question id, value) of the given questions in the round's submitted submissions,
        with no firm attached (so free texts cannot be tied to a firm)."""
        if not qids:
            return []
        marks = ", ".join("?" for _ in qids)
        sql = (
            "SELECT a.qid, a.value FROM answers a JOIN submissions s ON s.id = a.submission_id"
            " JOIN firms f ON f.id = s.firm_id"
            f" WHERE s.round_id = ? AND s.status = 'submitted' AND a.qid IN ({marks})"
        )
        params: list[Any] = [round_id, *qids]
        if estate_id is not None:
            sql += " AND f.estate_id = ?"
            params.append(estate_id)
        rows = await self._all(sql + " ORDER BY a.qid, a.value", params)
        return [(r[0], json.loads(r[1])) for r in rows]

    async def submitted_count(self, round_id: int, estate_id: int | None = None) -> int:
        sql = (
            "SELECT COUNT(*) FROM submissions s JOIN firms f ON f.id = s.firm_id"
            " WHERE s.round_id = ? AND s.status = 'submitted'"
        )
        params: list[Any] = [round_id]
        if estate_id is not None:
            sql += " AND f.estate_id = ?"
            params.append(estate_id)
        return int(await self._scalar(sql, params))

    # --- exports ------------------------------------------------------------------------------

    # The national export streams its three sheets in batches, so 100,000 firms never sit in
    # memory at once.  Each batch is a list of rows readable by column name.

    async def export_firms(self) -> AsyncIterator[list[aiosqlite.Row]]:
        """Every live firm, by id."""
        async for batch in self._batches(
            f"SELECT id, name, {_IDENTIFIER.format(t='')} AS national_id, province_id, estate_id, cluster_id,"
            " sector, employees, founded_year, phone, consent_public, created_at FROM firms WHERE deleted_at IS NULL"
            " ORDER BY id"
        ):
            yield batch

    async def export_submissions(self) -> AsyncIterator[list[aiosqlite.Row]]:
        """Every submission of a live firm, with its round's title and the firm's name."""
        async for batch in self._batches(
            "SELECT r.title, s.firm_id, f.name, s.status, s.started_at, s.submitted_at FROM submissions s"
            " JOIN rounds r ON r.id = s.round_id JOIN firms f ON f.id = s.firm_id"
            " WHERE f.deleted_at IS NULL ORDER BY s.round_id, s.firm_id"
        ):
            yield batch

    async def export_scores(self) -> AsyncIterator[list[aiosqlite.Row]]:
        """Every score of every round; ``name`` is NULL for a firm deleted since."""
        async for batch in self._batches(
            "SELECT r.title, s.firm_id, CASE WHEN f.deleted_at IS NULL THEN f.name END AS name,"
            " s.composite, s.dimensions, s.rank_estate, s.rank_province, s.rank_nation, s.percentile"
            " FROM scores s JOIN rounds r ON r.id = s.round_id JOIN firms f ON f.id = s.firm_id"
            " ORDER BY s.round_id, s.rank_nation, s.firm_id"
        ):
            yield batch

    async def export_answers(self, round_id: int) -> AsyncIterator[list[aiosqlite.Row]]:
        """The submitted answers of the round's live firms, one row per submission by firm id:
        (firm_id, name, sector, packed, packed_text, loose); ``loose`` holds the answers of a
        submission without a packed copy, packed like packed_text (see storage/packed_answers.py)."""
        async for batch in self._batches(
            "SELECT s.firm_id, f.name, f.sector, s.packed, s.packed_text,"
            " CASE WHEN s.packed IS NULL THEN (SELECT group_concat(a.qid || char(31) || a.value, char(30))"
            "   FROM answers a WHERE a.submission_id = s.id) END AS loose"
            " FROM submissions s JOIN firms f ON f.id = s.firm_id"
            " WHERE s.round_id = ? AND s.status = 'submitted' AND f.deleted_at IS NULL ORDER BY s.firm_id",
            (round_id,),
        ):
            yield batch

    async def answer_values(self) -> dict[int, tuple[str, str]]:
        """Every ``answer_values`` row: id -> (question id, stored JSON value)."""
        rows = await self._all("SELECT id, qid, value FROM answer_values")
        return {r[0]: (r[1], r[2]) for r in rows}

    async def _batches(
        self, sql: str, params: Sequence[Any] = (), size: int = EXPORT_BATCH,
    ) -> AsyncIterator[list[aiosqlite.Row]]:
        async with self.conn.execute(sql, params) as cur:
            while batch := await cur.fetchmany(size):
                yield list(batch)

    async def estate_scores(self, round_id: int, estate_id: int) -> dict[int, dict[str, Any]]:
        rows = await self._all(
            "SELECT firm_id, dimensions, composite, rank_estate, size_estate, rank_province,"
            " size_province, rank_nation, size_nation FROM scores WHERE round_id = ? AND estate_id = ?",
            (round_id, estate_id),
        )
        out = {}
        for r in rows:
            data = dict(r)
            data["dimensions"] = json.loads(data["dimensions"]) if data["dimensions"] else {}
            out[data["firm_id"]] = data
        return out
