"""Who may do what: promoted admins, estate managers, invitations, blocked users, the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from storage.repositories.base import Repository, stamp


class Invitation(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    token_hash: str
    role: str
    estate_id: int
    created_by: int
    created_at: datetime
    expires_at: datetime
    used_by: int | None = None
    used_at: datetime | None = None
    revoked_at: datetime | None = None


class AuditEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    at: datetime
    user_id: int
    action: str
    target: str | None
    outcome: str
    detail: str | None


_INVITATION = (
    "id, token_hash, role, estate_id, created_by, created_at, expires_at, used_by, used_at,"
    " revoked_at"
)


class AccessRepository(Repository):
    __slots__ = ()

    # --- admins promoted in the bot -------------------------------------------------------------

    async def promoted_admins(self) -> set[int]:
        return {r[0] for r in await self._all("SELECT user_id FROM admins")}

    async def promote(self, *, user_id: int, by: int) -> bool:
        before = self.conn.total_changes
        await self._write(
            "INSERT INTO admins (user_id, granted_by, granted_at) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id) DO NOTHING",
            (user_id, by, stamp()),
        )
        return self.conn.total_changes > before

    async def demote(self, user_id: int) -> bool:
        before = self.conn.total_changes
        await self._write("DELETE FROM admins WHERE user_id = ?", (user_id,))
        return self.conn.total_changes > before

    # --- estate managers ----------------------------------------------------------------------------

    async def all_managers(self) -> set[int]:
        return {r[0] for r in await self._all("SELECT DISTINCT user_id FROM estate_managers")}

    async def managed_estates(self, user_id: int) -> list[int]:
        rows = await self._all(
            "SELECT estate_id FROM estate_managers WHERE user_id = ? ORDER BY estate_id", (user_id,)
        )
        return [r[0] for r in rows]

    async def managers(self, estate_id: int | None = None) -> list[tuple[int, int]]:
        """(manager id, estate id) pairs, for one estate or all."""
        if estate_id is None:
            rows = await self._all("SELECT user_id, estate_id FROM estate_managers ORDER BY user_id, estate_id")
        else:
            rows = await self._all(
                "SELECT user_id, estate_id FROM estate_managers WHERE estate_id = ? ORDER BY user_id",
                (estate_id,),
            )
        return [(r[0], r[1]) for r in rows]

    async def add_manager(self, *, user_id: int, estate_id: int, by: int) -> bool:
        before = self.conn.total_changes
        await self._write(
            "INSERT INTO estate_managers (user_id, estate_id, granted_by, granted_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (user_id, estate_id) DO NOTHING",
            (user_id, estate_id, by, stamp()),
        )
        return self.conn.total_changes > before

    async def remove_manager(self, *, user_id: int, estate_id: int | None = None) -> int:
        before = self.conn.total_changes
        if estate_id is None:
            await self._write("DELETE FROM estate_managers WHERE user_id = ?", (user_id,))
        else:
            await self._write(
                "DELETE FROM estate_managers WHERE user_id = ? AND estate_id = ?", (user_id, estate_id)
            )
        return self.conn.total_changes - before

    # --- invitations ------------------------------------------------------------------------------

    async def create_invitation(
        self, *, token_hash: str, role: str, estate_id: int, by: int, expires_at: datetime
    ) -> int:
        return await self._write(
            "INSERT INTO invitations (token_hash, role, estate_id, created_by, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (token_hash, role, estate_id, by, stamp(), stamp(expires_at)),
        )

    async def invitation(self, token_hash: str) -> Invitation | None:
        row = await self._one(f"SELECT {_INVITATION} FROM invitations WHERE token_hash = ?", (token_hash,))
        return Invitation(**dict(row)) if row else None

    async def invitation_by_id(self, invitation_id: int) -> Invitation | None:
        row = await self._one(f"SELECT {_INVITATION} FROM invitations WHERE id = ?", (invitation_id,))
        return Invitation(**dict(row)) if row else None

    async def use_invitation(self, invitation_id: int, *, user_id: int) -> bool:
        """Marks it used; False when it was used or revoked meanwhile (single use)."""
        before = self.conn.total_changes
        await self._write(
            "UPDATE invitations SET used_by = ?, used_at = ? WHERE id = ? AND used_by IS NULL"
            " AND revoked_at IS NULL",
            (user_id, stamp(), invitation_id),
        )
        return self.conn.total_changes > before

    async def revoke_invitation(self, invitation_id: int) -> bool:
        before = self.conn.total_changes
        await self._write(
            "UPDATE invitations SET revoked_at = ? WHERE id = ? AND used_by IS NULL AND revoked_at IS NULL",
            (stamp(), invitation_id),
        )
        return self.conn.total_changes > before

    async def open_invitations(self, now: datetime) -> list[Invitation]:
        """Invitations not used, revoked or expired."""
        rows = await self._all(
            f"SELECT {_INVITATION} FROM invitations WHERE used_by IS NULL AND revoked_at IS NULL"
            " AND expires_at > ? ORDER BY id",
            (stamp(now),),
        )
        return [Invitation(**dict(r)) for r in rows]

    # --- blocked users ------------------------------------------------------------------------------

    async def blocked_users(self) -> set[int]:
        return {r[0] for r in await self._all("SELECT id FROM users WHERE blocked_at IS NOT NULL")}

    async def block(self, *, user_id: int, by: int) -> None:
        await self._write(
            "INSERT INTO users (id, language, created_at, blocked_at, blocked_by) VALUES (?, 'fa', ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET blocked_at = excluded.blocked_at, blocked_by = excluded.blocked_by",
            (user_id, stamp(), stamp(), by),
        )

    async def unblock(self, user_id: int) -> None:
        await self._write("UPDATE users SET blocked_at = NULL, blocked_by = NULL WHERE id = ?", (user_id,))

    # --- audit log ----------------------------------------------------------------------------------

    async def audit(
        self, *, user_id: int, action: str, target: str | None, outcome: str, detail: str | None = None
    ) -> None:
        await self._write(
            "INSERT INTO audit_log (at, user_id, action, target, outcome, detail) VALUES (?, ?, ?, ?, ?, ?)",
            (stamp(), user_id, action, target, outcome, detail),
        )

    async def all_audit_entries(self) -> list[AuditEntry]:
        """The whole log, oldest first (for the export)."""
        rows = await self._all(
            "SELECT id, at, user_id, action, target, outcome, detail FROM audit_log ORDER BY id"
        )
        return [AuditEntry(**dict(r)) for r in rows]

    async def audit_page(
        self, *, user_id: int | None = None, action: str | None = None, since: datetime | None = None,
        until: datetime | None = None, hidden: Sequence[str] = (), offset: int = 0, limit: int = 20,
    ) -> list[AuditEntry]:
        """Entries newest first, filtered: one user's; an action code or codes starting with
        ``action`` + "_"; at or after ``since`` and before ``until``; without the successful
        ``hidden`` actions (refusals are kept)."""
        sql = "SELECT id, at, user_id, action, target, outcome, detail FROM audit_log WHERE 1"
        params: list[Any] = []
        if user_id is not None:
            sql += " AND user_id = ?"
            params.append(user_id)
        if action is not None:
            sql += " AND (action = ? OR substr(action, 1, ?) = ?)"
            params += [action, len(action) + 1, action + "_"]
        if since is not None:
            sql += " AND at >= ?"
            params.append(stamp(since))
        if until is not None:
            sql += " AND at < ?"
            params.append(stamp(until))
        if hidden:
            sql += f" AND NOT (outcome = 'ok' AND action IN ({', '.join('?' for _ in hidden)}))"
            params += list(hidden)
        rows = await self._all(sql + " ORDER BY id DESC LIMIT ? OFFSET ?", [*params, limit, offset])
        return [AuditEntry(**dict(r)) for r in rows]

    async def audit_entries(self, *, user_id: int | None = None, limit: int = 50) -> list[AuditEntry]:
        if user_id is None:
            rows = await self._all(
                "SELECT id, at, user_id, action, target, outcome, detail FROM audit_log"
                " ORDER BY id DESC LIMIT ?", (limit,),
            )
        else:
            rows = await self._all(
                "SELECT id, at, user_id, action, target, outcome, detail FROM audit_log"
                " WHERE user_id = ? ORDER BY id DESC LIMIT ?", (user_id, limit),
            )
        return [AuditEntry(**dict(r)) for r in rows]
