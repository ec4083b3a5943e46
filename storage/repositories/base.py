"""What every repository shares: the connection and a couple of row helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import aiosqlite

_clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def use_clock(now: Callable[[], datetime]) -> None:
    """Makes the stored timestamps follow the application's clock (tests move it)."""
    global _clock
    _clock = now


def utcnow() -> datetime:
    return _clock()


def stamp(moment: datetime | None = None) -> str:
    """Stores a moment as ISO 8601 UTC text."""
    return (moment or utcnow()).astimezone(UTC).isoformat()


class Repository:
    __slots__ = ("conn",)

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    async def _one(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        async with self.conn.execute(sql, tuple(params)) as cur:
            return await cur.fetchone()

    async def _all(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        async with self.conn.execute(sql, tuple(params)) as cur:
            return list(await cur.fetchall())

    async def _scalar(self, sql: str, params: Iterable[Any] = ()) -> Any:
        row = await self._one(sql, params)
        return None if row is None else row[0]

    async def _write(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Runs a statement and returns the last row id (for inserts)."""
        async with self.conn.execute(sql, tuple(params)) as cur:
            return cur.lastrowid or 0
