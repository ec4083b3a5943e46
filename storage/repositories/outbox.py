"""The durable queue of bulk messages (announcements, reminders, result summaries)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

import aiosqlite
from pydantic import BaseModel, ConfigDict

from storage.repositories.base import Repository, stamp

# uncertain: the send failed after the request had gone out (a 5xx, a time-out waiting for the
# answer); it may have reached the user, so it is never sent again.
# The last_error of a row that was on the wire when the bot stopped (crash or a shutdown that
# could not wait for its answer).
IN_FLIGHT_AT_STOP = "in flight when the bot stopped"

Status = Literal["pending", "sending", "sent", "failed", "unreachable", "cancelled", "uncertain"]


class OutboxRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    kind: str
    dedupe_key: str
    chat_id: int
    payload: dict[str, Any]
    not_before: datetime
    status: Status
    attempts: int
    last_error: str | None = None
    message_id: int | None = None
    sent_at: datetime | None = None


_COLUMNS = (
    "id, kind, dedupe_key, chat_id, payload, not_before, status, attempts, last_error,"
    " message_id, sent_at"
)


def _row(row: aiosqlite.Row) -> OutboxRow:
    return OutboxRow(**{**dict(row), "payload": json.loads(row["payload"])})


class OutboxRepository(Repository):
    __slots__ = ()

    async def add(
        self, *, kind: str, dedupe_key: str, chat_id: int, payload: dict[str, Any],
        not_before: datetime,
    ) -> bool:
        """Queues a message unless one with the same key was ever queued; True when added."""
        before = self.conn.total_changes
        await self._write(
            "INSERT INTO outbox (kind, dedupe_key, chat_id, payload, not_before, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING",
            (kind, dedupe_key, chat_id, json.dumps(payload, ensure_ascii=False),
             stamp(not_before), stamp()),
        )
        return self.conn.total_changes > before

    async def add_many(
        self, *, kind: str, rows: list[tuple[str, int, dict[str, Any]]], not_before: datetime,
    ) -> int:
        """Queues (dedupe key, chat id, payload) rows in one statement; returns how many were new."""
        before = self.conn.total_changes
        created, due = stamp(), stamp(not_before)
        await self.conn.executemany(
            "INSERT INTO outbox (kind, dedupe_key, chat_id, payload, not_before, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING",
            [(kind, key, chat_id, json.dumps(payload, ensure_ascii=False), due, created)
             for key, chat_id, payload in rows],
        )
        return self.conn.total_changes - before

    async def claim_next(self, now: datetime) -> OutboxRow | None:
        """Marks the oldest due message as being sent and returns it, skipping chats that have a
        message being sent already: with several sends in flight, one chat's messages still go
        out one after the other, in order."""
        row = await self._one(
            f"UPDATE outbox SET status = 'sending', attempts = attempts + 1, departed_at = NULL WHERE id = ("
            " SELECT id FROM outbox WHERE status = 'pending' AND not_before <= ?"
            " AND chat_id NOT IN (SELECT chat_id FROM outbox WHERE status = 'sending')"
            f" ORDER BY not_before, id LIMIT 1) RETURNING {_COLUMNS}",
            (stamp(now),),
        )
        return _row(row) if row else None

    async def depart(self, row_id: int, *, at: datetime) -> None:
        """Records, before the request goes out, that this claimed row's send is starting: a
        crash from now on leaves it 'sending' with this mark, so the next start knows it may
        have reached the user (``recover_in_flight``)."""
        await self._write(
            "UPDATE outbox SET departed_at = ? WHERE id = ? AND status = 'sending'", (stamp(at), row_id))

    async def on_the_wire(self) -> list[int]:
        """The chats of the rows whose send had started and not ended (a crash leaves them)."""
        rows = await self._all(
            "SELECT chat_id FROM outbox WHERE status = 'sending' AND departed_at IS NOT NULL ORDER BY id")
        return [int(r["chat_id"]) for r in rows]

    async def next_due_at(self) -> datetime | None:
        value = await self._scalar("SELECT MIN(not_before) FROM outbox WHERE status = 'pending'")
        return datetime.fromisoformat(value) if value else None

    async def mark_sent(self, row_id: int, *, message_id: int | None, at: datetime) -> None:
        await self._write(
            "UPDATE outbox SET status = 'sent', message_id = ?, sent_at = ?, last_error = NULL"
            " WHERE id = ?",
            (message_id, stamp(at), row_id),
        )

    async def retry_later(self, row_id: int, *, at: datetime, error: str) -> None:
        await self._write(
            "UPDATE outbox SET status = 'pending', departed_at = NULL, not_before = ?, last_error = ?"
            " WHERE id = ?",
            (stamp(at), error[:500], row_id),
        )

    async def give_back(self, row_id: int, *, at: datetime, error: str) -> None:
        """Returns a message to the queue without counting the attempt (a 429 is not its fault)."""
        await self._write(
            "UPDATE outbox SET status = 'pending', attempts = MAX(attempts - 1, 0), departed_at = NULL,"
            " not_before = ?, last_error = ? WHERE id = ?",
            (stamp(at), error[:500], row_id),
        )

    async def finish(self, row_id: int, *, status: Status, error: str | None) -> None:
        await self._write(
            "UPDATE outbox SET status = ?, last_error = ? WHERE id = ?",
            (status, error[:500] if error else None, row_id),
        )

    async def recover_in_flight(self) -> tuple[int, int]:
        """After a crash: a row still 'sending' whose request had started (``depart``) may have
        reached the user, so it becomes 'uncertain' (counted in its report, never sent again);
        one only claimed (preparing, waiting for its slot) had certainly not gone out and is
        queued again. Returns (queued again, uncertain)."""
        before = self.conn.total_changes
        await self._write(
            "UPDATE outbox SET status = 'uncertain', last_error = ? WHERE status = 'sending'"
            " AND departed_at IS NOT NULL", (IN_FLIGHT_AT_STOP,))
        uncertain = self.conn.total_changes - before
        await self._write("UPDATE outbox SET status = 'pending' WHERE status = 'sending'")
        return self.conn.total_changes - before - uncertain, uncertain

    async def counts(self, *, kind_prefix: str = "") -> dict[str, int]:
        rows = await self._all(
            "SELECT status, COUNT(*) AS n FROM outbox WHERE kind LIKE ? GROUP BY status",
            (kind_prefix + "%",),
        )
        return {r["status"]: r["n"] for r in rows}

    async def counts_with_key_prefix(self, prefix: str, *, kinds: tuple[str, ...]) -> dict[str, int]:
        """Messages of ``kinds`` queued with a dedupe key starting with ``prefix``, by status."""
        marks = ", ".join("?" for _ in kinds)
        rows = await self._all(
            "SELECT status, COUNT(*) AS n FROM outbox WHERE dedupe_key >= ? AND dedupe_key < ?"
            f" AND kind IN ({marks}) GROUP BY status",
            (prefix, prefix + "\uffff", *kinds),
        )
        return {r["status"]: r["n"] for r in rows}

    async def count_with_key_prefix(self, prefix: str) -> int:
        """How many messages were ever queued with a dedupe key starting with ``prefix``."""
        return int(await self._scalar(
            "SELECT COUNT(*) FROM outbox WHERE dedupe_key >= ? AND dedupe_key < ?",
            (prefix, prefix + "\uffff"),
        ))

    async def by_key(self, dedupe_key: str) -> OutboxRow | None:
        row = await self._one(f"SELECT {_COLUMNS} FROM outbox WHERE dedupe_key = ?", (dedupe_key,))
        return _row(row) if row else None

    async def all(self) -> list[OutboxRow]:
        return [_row(r) for r in await self._all(f"SELECT {_COLUMNS} FROM outbox ORDER BY id")]
