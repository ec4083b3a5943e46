"""Firm invitations (migration 0013): the links an estate manager hands out to the firms on the
estate's list, and what the onboarding funnel counts of them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from storage.repositories.base import Repository, stamp


class FirmInvitation(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    token_hash: str
    estate_id: int
    name: str
    national_id: str
    mobile: str | None
    #: A sole proprietorship's licence number (its national_id is the owner's national code).
    licence_no: str | None = None
    created_by: int
    created_at: datetime
    opened_at: datetime | None = None
    used_by: int | None = None
    used_at: datetime | None = None
    revoked_at: datetime | None = None


class FunnelRow(BaseModel):
    """One live invitation of an estate with how far its firm got."""

    model_config = ConfigDict(frozen=True)

    id: int
    name: str
    national_id: str
    mobile: str | None
    opened: bool
    #: The firm registered with this national ID (through the link or not), if any.
    firm_id: int | None
    firm_phone: str | None
    submitted: bool


_COLUMNS = ("id, token_hash, estate_id, name, national_id, mobile, licence_no, created_by, created_at, opened_at,"
            " used_by, used_at, revoked_at")


class OnboardingRepository(Repository):
    __slots__ = ()

    async def add(self, *, token_hash: str, estate_id: int, name: str, national_id: str, mobile: str | None,
                  by: int, licence_no: str | None = None) -> int:
        return await self._write(
            "INSERT INTO firm_invitations (token_hash, estate_id, name, national_id, mobile, licence_no, created_by,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (token_hash, estate_id, name, national_id, mobile, licence_no, by, stamp()),
        )

    async def by_hash(self, token_hash: str) -> FirmInvitation | None:
        row = await self._one(f"SELECT {_COLUMNS} FROM firm_invitations WHERE token_hash = ?", (token_hash,))
        return FirmInvitation(**dict(row)) if row else None

    async def by_id(self, invitation_id: int) -> FirmInvitation | None:
        row = await self._one(f"SELECT {_COLUMNS} FROM firm_invitations WHERE id = ?", (invitation_id,))
        return FirmInvitation(**dict(row)) if row else None

    async def revoke_open_for(self, estate_id: int, national_ids: Sequence[str]) -> int:
        """Revokes the unused, unrevoked invitations of these national IDs in the estate (a list
        sent again replaces their links); returns how many."""
        before = self.conn.total_changes
        for start in range(0, len(national_ids), 500):
            chunk = list(national_ids[start:start + 500])
            marks = ",".join("?" * len(chunk))
            await self._write(
                f"UPDATE firm_invitations SET revoked_at = ? WHERE estate_id = ? AND national_id IN ({marks})"
                " AND used_by IS NULL AND revoked_at IS NULL",
                (stamp(), estate_id, *chunk),
            )
        return self.conn.total_changes - before

    async def mark_opened(self, invitation_id: int) -> None:
        """The first opening only."""
        await self._write("UPDATE firm_invitations SET opened_at = ? WHERE id = ? AND opened_at IS NULL",
                          (stamp(), invitation_id))

    async def use(self, invitation_id: int, *, user_id: int) -> bool:
        """Binds it to the user who confirmed it; False when it was used or revoked meanwhile."""
        before = self.conn.total_changes
        await self._write(
            "UPDATE firm_invitations SET used_by = ?, used_at = ? WHERE id = ? AND used_by IS NULL AND revoked_at IS NULL",
            (user_id, stamp(), invitation_id),
        )
        return self.conn.total_changes > before

    async def revoke(self, invitation_id: int) -> bool:
        before = self.conn.total_changes
        await self._write(
            "UPDATE firm_invitations SET revoked_at = ? WHERE id = ? AND used_by IS NULL AND revoked_at IS NULL",
            (stamp(), invitation_id),
        )
        return self.conn.total_changes > before

    async def funnel(self, estate_id: int, round_id: int | None) -> list[FunnelRow]:
        """The estate's invitations that were not revoked, in the order they were made, with the
        firm registered under each national ID and whether it submitted in ``round_id``."""
        rows = await self._all(
            "SELECT i.id, i.name, i.national_id, i.mobile, i.opened_at IS NOT NULL AS opened,"
            " f.id AS firm_id, f.phone AS firm_phone,"
            " EXISTS (SELECT 1 FROM submissions s WHERE s.firm_id = f.id AND s.round_id = ?"
            "         AND s.status = 'submitted') AS submitted"
            " FROM firm_invitations i LEFT JOIN firms f ON f.national_id = i.national_id"
            " WHERE i.estate_id = ? AND i.revoked_at IS NULL ORDER BY i.id",
            (round_id if round_id is not None else -1, estate_id),
        )
        return [FunnelRow(**{**dict(r), "opened": bool(r["opened"]), "submitted": bool(r["submitted"])}) for r in rows]
