"""Assessment rounds: at most one open at a time (a unique index enforces it)."""

from __future__ import annotations

import json
from datetime import datetime

import aiosqlite

from storage.models import Round
from storage.repositories.base import Repository, stamp

_COLUMNS = "id, title, questionnaire_version, opens_at, closes_at, state, weights, created_at"


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
            f"INSERT INTO rounds ({_COLUMNS.removeprefix('id, ')}) VALUES (?, ?, ?, ?, ?, ?, ?)",
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
