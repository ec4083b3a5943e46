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

    # One trip to the connection's thread per statement (``execute_fetchall``) instead of three
    # (execute, fetch, close the cursor): each trip wakes that thread and then the event loop,
    # and on a busy machine every wake-up can wait for a core, so a reply that needs a dozen
    # small reads pays it dozens of times.  (The statements here return one row or a few.)
    async def _one(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        rows = await self.conn.execute_fetchall(sql, tuple(params))
        return next(iter(rows), None)

    async def _all(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        return list(await self.conn.execute_fetchall(sql, tuple(params)))

    async def _scalar(self, sql: str, params: Iterable[Any] = ()) -> Any:
        row = await self._one(sql, params)
        return None if row is None else row[0]

    async def _write(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Runs a statement and returns the last row id (for inserts)."""
        async with self.conn.execute(sql, tuple(params)) as cur:
            return cur.lastrowid or 0
