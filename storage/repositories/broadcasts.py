"""Broadcasts by managers and admins, and the audience a broadcast reaches.

A broadcast's audience is stored as filters (JSON) and frozen into outbox rows when it starts;
its outbox rows share a dedupe-key prefix, built by the caller (``bot.delivery.keys``).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from storage.repositories.base import Repository, stamp

State = Literal["draft", "scheduled", "running", "done", "cancelled"]

# Size bands by employees: (label, lowest, highest or None).
SIZE_BANDS: dict[str, tuple[int, int | None]] = {
    "1-9": (1, 9), "10-49": (10, 49), "50-249": (50, 249), "250+": (250, None),
}


class Broadcast(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    created_by: int
    created_at: datetime
    audience: dict[str, Any]
    content: dict[str, Any]
    send_at: datetime
    state: State
    recipients: int
    progress_chat: int | None = None
    progress_msg: int | None = None
    finished_at: datetime | None = None


_COLUMNS = (
    "id, created_by, created_at, audience, content, send_at, state, recipients, progress_chat,"
    " progress_msg, finished_at"
)


def _row(row: Any) -> Broadcast:
    return Broadcast(**{**dict(row), "audience": json.loads(row["audience"]),
                        "content": json.loads(row["content"])})


def _key_range(prefix: str) -> tuple[str, str]:
    # A prefix ends in ':' and ';' follows ':', so prefix ≤ key < the next one uses the unique index.
    return prefix, prefix[:-1] + ";"


def audience_sql(audience: dict[str, Any]) -> tuple[str, list[Any]]:
    """The WHERE clause (over firms f, users u) that selects a broadcast's audience."""
    # Deleted (anonymised) firms and users an admin blocked never receive broadcasts.
    where = ["u.blocked_at IS NULL", "f.deleted_at IS NULL"]
    params: list[Any] = []
    estates = audience.get("estates")
    if estates is not None:
        where.append(f"f.estate_id IN ({', '.join('?' for _ in estates) or 'NULL'})")
        params.extend(int(e) for e in estates)
    if audience.get("province") is not None:
        where.append("f.province_id = ?")
        params.append(int(audience["province"]))
    if audience.get("cluster") is not None:
        where.append("f.cluster_id = ?")
        params.append(int(audience["cluster"]))
    if audience.get("sector"):
        where.append("f.sector = ?")
        params.append(str(audience["sector"]))
    band = SIZE_BANDS.get(str(audience.get("size")))
    if band is not None:
        where.append("f.employees >= ?")
        params.append(band[0])
        if band[1] is not None:
            where.append("f.employees <= ?")
            params.append(band[1])
    if audience.get("submitted") is not None and audience.get("round_id") is not None:
        exists = ("EXISTS (SELECT 1 FROM submissions s WHERE s.firm_id = f.id AND s.round_id = ?"
                  " AND s.status = 'submitted')")
        where.append(exists if audience["submitted"] else "NOT " + exists)
        params.append(int(audience["round_id"]))
    return " AND ".join(where), params


class BroadcastRepository(Repository):
    __slots__ = ()

    async def create(
        self, *, created_by: int, audience: dict[str, Any], content: dict[str, Any],
        send_at: datetime, state: State = "scheduled", progress_chat: int | None = None,
    ) -> int:
        return await self._write(
            "INSERT INTO broadcasts (created_by, created_at, audience, content, send_at, state,"
            " progress_chat) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (created_by, stamp(), json.dumps(audience, ensure_ascii=False),
             json.dumps(content, ensure_ascii=False), stamp(send_at), state, progress_chat),
        )

    async def get(self, broadcast_id: int) -> Broadcast | None:
        row = await self._one(f"SELECT {_COLUMNS} FROM broadcasts WHERE id = ?", (broadcast_id,))
        return _row(row) if row else None

    async def due(self, now: datetime) -> list[Broadcast]:
        rows = await self._all(
            f"SELECT {_COLUMNS} FROM broadcasts WHERE state = 'scheduled' AND send_at <= ? ORDER BY id",
            (stamp(now),),
        )
        return [_row(r) for r in rows]

    async def in_state(self, state: State) -> list[Broadcast]:
        rows = await self._all(f"SELECT {_COLUMNS} FROM broadcasts WHERE state = ? ORDER BY id", (state,))
        return [_row(r) for r in rows]

    async def recent(self, *, created_by: int | None, limit: int = 10) -> list[Broadcast]:
        if created_by is None:
            rows = await self._all(f"SELECT {_COLUMNS} FROM broadcasts ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = await self._all(
                f"SELECT {_COLUMNS} FROM broadcasts WHERE created_by = ? ORDER BY id DESC LIMIT ?",
                (created_by, limit),
            )
        return [_row(r) for r in rows]

    async def set_state(self, broadcast_id: int, state: State, *, finished_at: datetime | None = None) -> None:
        await self._write(
            "UPDATE broadcasts SET state = ?, finished_at = COALESCE(?, finished_at) WHERE id = ?",
            (state, stamp(finished_at) if finished_at else None, broadcast_id),
        )

    async def set_recipients(self, broadcast_id: int, recipients: int) -> None:
        await self._write("UPDATE broadcasts SET recipients = ? WHERE id = ?", (recipients, broadcast_id))

    async def set_progress_message(self, broadcast_id: int, message_id: int) -> None:
        await self._write("UPDATE broadcasts SET progress_msg = ? WHERE id = ?", (message_id, broadcast_id))

    # --- the audience ----------------------------------------------------------------------------

    async def audience(self, audience: dict[str, Any]) -> list[tuple[int, int]]:
        """(firm id, owner id) of every firm the filters select, blocked users left out."""
        where, params = audience_sql(audience)
        rows = await self._all(
            f"SELECT f.id, f.owner_id FROM firms f JOIN users u ON u.id = f.owner_id WHERE {where}"
            " ORDER BY f.id", params,
        )
        return [(r[0], r[1]) for r in rows]

    async def count_audience(self, audience: dict[str, Any]) -> int:
        where, params = audience_sql(audience)
        return int(await self._scalar(
            f"SELECT COUNT(*) FROM firms f JOIN users u ON u.id = f.owner_id WHERE {where}", params))

    async def distinct(self, audience: dict[str, Any], column: Literal["cluster_id", "sector"]) -> list[Any]:
        """The clusters or sectors present in an audience, so filters offer only what exists."""
        where, params = audience_sql(audience)
        rows = await self._all(
            f"SELECT DISTINCT f.{column} FROM firms f JOIN users u ON u.id = f.owner_id"
            f" WHERE {where} AND f.{column} IS NOT NULL ORDER BY f.{column}", params,
        )
        return [r[0] for r in rows]

    # --- its outbox rows -------------------------------------------------------------------------

    async def delivery_counts(self, key_prefix: str) -> dict[str, int]:
        """A broadcast's outbox rows (the keys starting with ``key_prefix``) by status."""
        low, high = _key_range(key_prefix)
        rows = await self._all(
            "SELECT status, COUNT(*) AS n FROM outbox WHERE dedupe_key >= ? AND dedupe_key < ?"
            " GROUP BY status", (low, high),
        )
        return {r["status"]: r["n"] for r in rows}

    async def cancel_pending(self, key_prefix: str) -> int:
        """Cancels a broadcast's messages not yet sent; returns how many."""
        low, high = _key_range(key_prefix)
        before = self.conn.total_changes
        await self._write(
            "UPDATE outbox SET status = 'cancelled', last_error = 'broadcast cancelled'"
            " WHERE dedupe_key >= ? AND dedupe_key < ? AND status = 'pending'", (low, high),
        )
        return self.conn.total_changes - before
