"""Snapshots of guided flows in progress (``bot.flows``), one per user."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from storage.repositories.base import Repository, stamp


class FlowRepository(Repository):
    __slots__ = ()

    async def save(self, snapshots: Mapping[int, str | None]) -> None:
        """Writes each user's snapshot; None drops it (the flow ended)."""
        now = stamp()
        kept = [(user_id, text, now) for user_id, text in snapshots.items() if text is not None]
        gone = [(user_id,) for user_id, text in snapshots.items() if text is None]
        if kept:
            await self.conn.executemany(
                "INSERT INTO flow_snapshots (user_id, snapshot, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET snapshot = excluded.snapshot, updated_at = excluded.updated_at",
                kept)
        if gone:
            await self.conn.executemany("DELETE FROM flow_snapshots WHERE user_id = ?", gone)

    async def of(self, user_id: int) -> str | None:
        value = await self._scalar("SELECT snapshot FROM flow_snapshots WHERE user_id = ?", (user_id,))
        return None if value is None else str(value)

    async def forget(self, user_ids: Iterable[int]) -> None:
        await self.conn.executemany("DELETE FROM flow_snapshots WHERE user_id = ?", [(u,) for u in user_ids])

    async def forget_before(self, moment: datetime) -> int:
        """Drops flows left untouched since ``moment``."""
        cur = await self.conn.execute("DELETE FROM flow_snapshots WHERE updated_at < ?", (stamp(moment),))
        return cur.rowcount
