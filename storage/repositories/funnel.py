"""Read-only figures of where firms give up in a round: drafts by the question they stopped at,
the time each answer took, and the firms that got the announcement but never started.

``estate_ids`` None means every estate; firms deleted by their owners are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from storage.repositories.base import Repository


def _scope(estate_ids: Sequence[int] | None, params: list[Any]) -> str:
    if estate_ids is None:
        return ""
    params.extend(estate_ids)
    return f" AND f.estate_id IN ({', '.join('?' for _ in estate_ids) or 'NULL'})"


class FunnelRepository(Repository):
    __slots__ = ()

    async def firm_count(self, estate_ids: Sequence[int] | None) -> int:
        params: list[Any] = []
        sql = "SELECT COUNT(*) FROM firms f WHERE f.deleted_at IS NULL" + _scope(estate_ids, params)
        return int(await self._scalar(sql, params))

    async def draft_positions(
        self, round_id: int, estate_ids: Sequence[int] | None,
    ) -> list[tuple[str | None, str | None, int]]:
        """(cursor, last answered question, drafts) over the draft (not submitted) submissions of
        the round."""
        params: list[Any] = [round_id]
        sql = (
            "SELECT s.cursor, (SELECT a.qid FROM answers a WHERE a.submission_id = s.id"
            "  ORDER BY a.answered_at DESC, a.qid DESC LIMIT 1) AS last_qid, COUNT(*)"
            " FROM submissions s JOIN firms f ON f.id = s.firm_id"
            " WHERE s.round_id = ? AND s.status = 'draft' AND f.deleted_at IS NULL"
        ) + _scope(estate_ids, params) + " GROUP BY 1, 2"
        return [(r[0], r[1], int(r[2])) for r in await self._all(sql, params)]

    async def answer_time_histogram(
        self, round_id: int, estate_ids: Sequence[int] | None,
    ) -> list[tuple[str, int, int]]:
        """(question id, seconds, answers) of the round: how many answers to each question took
        that long, to the second under 90 minutes and to the minute beyond (so a national
        round's million answers come back as a few thousand rows). An answer's time runs from
        the submission's previous answer (its first: from the submission's start); a negative
        time (clocks) counts as 0."""
        params: list[Any] = [round_id]
        scope = _scope(estate_ids, params)
        sql = (
            "WITH d AS (SELECT a.qid, max(0.0, (julianday(a.answered_at) - julianday(coalesce(LAG(a.answered_at)"
            "   OVER (PARTITION BY a.submission_id ORDER BY a.answered_at, a.qid), s.started_at))) * 86400.0) AS secs"
            "  FROM answers a JOIN submissions s ON s.id = a.submission_id JOIN firms f ON f.id = s.firm_id"
            f"  WHERE s.round_id = ? AND f.deleted_at IS NULL{scope})"
            " SELECT qid, CASE WHEN secs < 5400 THEN CAST(round(secs) AS INTEGER)"
            "  ELSE CAST(round(secs / 60) AS INTEGER) * 60 END AS b, COUNT(*) FROM d GROUP BY 1, 2"
        )
        return [(r[0], int(r[1]), int(r[2])) for r in await self._all(sql, params)]

    async def announcement_reach(
        self, round_id: int, key_prefix: str, key_suffix: str, estate_ids: Sequence[int] | None,
    ) -> tuple[int, int]:
        """(firms whose announcement was delivered, of them those with no submission); the
        announcement's outbox key is ``key_prefix || firm id || key_suffix``."""
        params: list[Any] = [round_id, key_prefix, key_suffix]
        sql = (
            "SELECT COUNT(*), coalesce(SUM(NOT EXISTS (SELECT 1 FROM submissions s"
            "  WHERE s.firm_id = f.id AND s.round_id = ?)), 0)"
            " FROM firms f JOIN outbox o ON o.dedupe_key = ? || f.id || ?"
            " WHERE o.status = 'sent' AND f.deleted_at IS NULL"
        ) + _scope(estate_ids, params)
        row = await self._one(sql, params)
        assert row is not None
        return int(row[0]), int(row[1])
