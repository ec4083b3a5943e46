"""Assessment rounds: at most one open at a time (a unique index enforces it)."""

from __future__ import annotations

import json
from datetime import datetime

import aiosqlite

from storage.models import Round
from storage.repositories.base import Repository, stamp

_COLUMNS = (
    "id, title, questionnaire_version, opens_at, closes_at, state, weights, created_at,"
    " published_at, scored_at, published_by, publish_reported_at"
)
_INSERT_COLUMNS = "title, questionnaire_version, opens_at, closes_at, state, weights, created_at"


def _round(row: aiosqlite.Row) -> Round:
    data = dict(row)
    data["weights"] = json.loads(data["weights"]) if data["weights"] else None
    return Round(**data)


class RoundRepository(Repository):
    __slots__ = ()

    async def get(self, round_id: int) -> Round | None:
        row = await self._one(f"SELECT {_COLUMNS} FROM rounds WHERE id = ?", (round_id,))
        return _round(row) if row else None

    async def open_round(self) -> Round | None:
        row = await self._one(f"SELECT {_COLUMNS} FROM rounds WHERE state = 'open'")
        return _round(row) if row else None

    async def next_scheduled(self, after: datetime) -> Round | None:
        row = await self._one(
            f"SELECT {_COLUMNS} FROM rounds WHERE state = 'scheduled' AND opens_at > ?"
            " ORDER BY opens_at LIMIT 1",
            (stamp(after),),
        )
        return _round(row) if row else None

    async def create(
        self,
        *,
        title: str,
        questionnaire_version: int,
        opens_at: datetime,
        closes_at: datetime,
        state: str,
        weights: dict[str, float] | None = None,
    ) -> Round:
        round_id = await self._write(
            f"INSERT INTO rounds ({_INSERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                title, questionnaire_version, stamp(opens_at), stamp(closes_at), state,
                json.dumps(weights) if weights else None, stamp(),
            ),
        )
        created = await self.get(round_id)
        assert created is not None
        return created

    async def close(self, round_id: int) -> None:
        await self._write("UPDATE rounds SET state = 'closed' WHERE id = ?", (round_id,))

    async def all(self) -> list[Round]:
        return [_round(r) for r in await self._all(f"SELECT {_COLUMNS} FROM rounds ORDER BY opens_at DESC, id DESC")]

    async def due_to_open(self, now: datetime) -> list[Round]:
        rows = await self._all(
            f"SELECT {_COLUMNS} FROM rounds WHERE state = 'scheduled' AND opens_at <= ?"
            " ORDER BY opens_at",
            (stamp(now),),
        )
        return [_round(r) for r in rows]

    async def set_state(self, round_id: int, state: str) -> None:
        await self._write("UPDATE rounds SET state = ? WHERE id = ?", (state, round_id))

    async def update(
        self, round_id: int, *, title: str | None = None, opens_at: datetime | None = None,
        closes_at: datetime | None = None, weights: dict[str, float] | None = None,
    ) -> None:
        current = await self.get(round_id)
        if current is None:
            return
        await self._write(
            "UPDATE rounds SET title = ?, opens_at = ?, closes_at = ?, weights = ? WHERE id = ?",
            (
                title if title is not None else current.title,
                stamp(opens_at or current.opens_at),
                stamp(closes_at or current.closes_at),
                json.dumps(weights) if weights is not None else (
                    json.dumps(current.weights) if current.weights else None),
                round_id,
            ),
        )

    async def reopen(self, round_id: int, closes_at: datetime) -> None:
        """Opens a closed round again until ``closes_at``; its scores no longer count as final
        (``scored_at`` cleared: it is scored again when it closes)."""
        await self._write(
            "UPDATE rounds SET state = 'open', closes_at = ?, scored_at = NULL WHERE id = ?",
            (stamp(closes_at), round_id),
        )

    async def mark_published(self, round_id: int, at: datetime, *, by: int | None = None) -> None:
        await self._write(
            "UPDATE rounds SET published_at = ?, published_by = ? WHERE id = ?", (stamp(at), by, round_id)
        )

    async def unreported_publications(self) -> list[Round]:
        """Published rounds whose final delivery report has not been sent yet."""
        rows = await self._all(
            f"SELECT {_COLUMNS} FROM rounds WHERE published_at IS NOT NULL AND publish_reported_at IS NULL"
        )
        return [_round(r) for r in rows]

    async def mark_publish_reported(self, round_id: int, at: datetime) -> None:
        await self._write("UPDATE rounds SET publish_reported_at = ? WHERE id = ?", (stamp(at), round_id))

    async def overlapping(self, opens_at: datetime, closes_at: datetime, *, besides: int | None = None) -> list[Round]:
        """Rounds whose span [opens, closes) meets the given one (``besides`` left out)."""
        rows = await self._all(
            f"SELECT {_COLUMNS} FROM rounds WHERE opens_at < ? AND closes_at > ? AND id IS NOT ?"
            " ORDER BY opens_at",
            (stamp(closes_at), stamp(opens_at), besides),
        )
        return [_round(r) for r in rows]

    async def delete(self, round_id: int) -> None:
        """Removes a round nobody answered, with what was queued for it and its announcements."""
        await self._write(
            "DELETE FROM outbox WHERE status = 'pending' AND dedupe_key >= ? AND dedupe_key < ?",
            (f"round:{round_id}:", f"round:{round_id}:\uffff"),
        )
        await self._write("DELETE FROM rounds WHERE id = ?", (round_id,))

    async def response_counts(self, round_id: int) -> dict[str, int]:
        rows = await self._all(
            "SELECT status, COUNT(*) AS n FROM submissions WHERE round_id = ? GROUP BY status",
            (round_id,),
        )
        return {r["status"]: r["n"] for r in rows}
