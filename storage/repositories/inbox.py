"""Updates received and not yet handled (the intake's durable queue)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from storage.repositories.base import Repository, stamp

# Marks the update a transaction belongs to as effected, in that same transaction: after a crash
# it is not handled again (its effect is there), only its user shown where they are.
MARK_HANDLED = "UPDATE inbox SET state = 'effected', payload = NULL WHERE update_id = ? AND state = 'new'"


class InboxRepository(Repository):
    __slots__ = ()

    async def store(self, updates: Iterable[tuple[int, int | None, str]]) -> set[int]:
        """Keeps the updates not seen before; returns their ids (a refetched one is not new)."""
        fresh: set[int] = set()
        now = stamp()
        for update_id, user_id, payload in updates:
            cur = await self.conn.execute(
                "INSERT INTO inbox (update_id, user_id, payload, received_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (update_id) DO NOTHING",
                (update_id, user_id, payload, now),
            )
            if cur.rowcount:
                fresh.add(update_id)
        return fresh

    async def unhandled(self) -> list[tuple[int, str]]:
        """Updates received but not handled, oldest first (in order per user, too)."""
        rows = await self._all("SELECT update_id, payload FROM inbox WHERE state = 'new' ORDER BY update_id")
        return [(r["update_id"], r["payload"]) for r in rows]

    async def count_unhandled(self) -> int:
        row = await self._one("SELECT COUNT(*) AS n FROM inbox WHERE state = 'new'")
        return int(row["n"]) if row else 0

    async def finish(self, update_ids: Iterable[int], *, state: str = "done") -> None:
        await self.conn.executemany(
            "UPDATE inbox SET state = ?, payload = NULL WHERE update_id = ? AND state IN ('new', 'effected')",
            [(state, update_id) for update_id in update_ids],
        )

    async def interrupted_users(self) -> list[int]:
        """Users whose update had its effect committed when the bot stopped before replying."""
        rows = await self._all(
            "SELECT user_id FROM inbox WHERE state = 'effected' AND user_id IS NOT NULL"
            " GROUP BY user_id ORDER BY MIN(update_id)")
        return [int(r["user_id"]) for r in rows]

    async def settle_superseded(self) -> int:
        """Marks done every update whose user has a later update effected or done: a user's
        updates are handled one at a time, in order, so an earlier one had finished (its
        "done" mark was still waiting to be written). Handling it again would replay, say, a
        /start into the middle of the assessment that followed it."""
        cur = await self.conn.execute(
            "UPDATE inbox SET state = 'done', payload = NULL WHERE state = 'new' AND user_id IS NOT NULL"
            " AND EXISTS (SELECT 1 FROM inbox later WHERE later.user_id = inbox.user_id"
            " AND later.update_id > inbox.update_id AND later.state IN ('effected', 'done'))")
        return cur.rowcount

    async def close_interrupted(self) -> None:
        await self.conn.execute("UPDATE inbox SET state = 'done' WHERE state = 'effected'")

    async def state_of(self, update_id: int) -> str | None:
        row = await self._one("SELECT state FROM inbox WHERE update_id = ?", (update_id,))
        return row["state"] if row else None

    async def forget_before(self, moment: datetime) -> int:
        """Drops handled updates received before ``moment``; the unhandled stay."""
        cur = await self.conn.execute(
            "DELETE FROM inbox WHERE state IN ('done', 'skipped') AND received_at < ?", (stamp(moment),))
        return cur.rowcount

    async def forget_user(self, user_id: int) -> None:
        """For "delete my data": nothing the user sent is kept."""
        await self.conn.execute("DELETE FROM inbox WHERE user_id = ?", (user_id,))
