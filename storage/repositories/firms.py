"""Registered firms: one per owner, unique by national ID."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from storage.models import Firm
from storage.repositories.base import Repository, stamp

FIRM_FIELDS = (
    "name", "national_id", "province_id", "estate_id", "cluster_id", "sector",
    "employees", "founded_year", "phone", "consent_public", "licence_no",
)
#: Fields a draft may leave out (a legal entity has no licence number).
OPTIONAL_FIELDS = frozenset({"licence_no"})


class Recipient(BaseModel):
    """A firm's owner as bulk sending sees them."""

    model_config = ConfigDict(frozen=True)

    firm_id: int
    owner_id: int
    sector: str
    language: str
    muted: bool


class FirmRepository(Repository):
    __slots__ = ()

    _COLUMNS = "id, owner_id, created_at, updated_at, " + ", ".join(FIRM_FIELDS)

    async def by_owner(self, owner_id: int) -> Firm | None:
        row = await self._one(f"SELECT {self._COLUMNS} FROM firms WHERE owner_id = ?", (owner_id,))
        return Firm(**dict(row)) if row else None

    async def by_id(self, firm_id: int) -> Firm | None:
        row = await self._one(f"SELECT {self._COLUMNS} FROM firms WHERE id = ?", (firm_id,))
        return Firm(**dict(row)) if row else None

    async def by_national_id(self, national_id: str) -> Firm | None:
        row = await self._one(
            f"SELECT {self._COLUMNS} FROM firms WHERE national_id = ?", (national_id,)
        )
        return Firm(**dict(row)) if row else None

    async def save(self, *, owner_id: int, fields: dict[str, Any]) -> Firm:
        """Creates the owner's firm or updates it with ``fields`` (all of FIRM_FIELDS but the
        optional ones, which default to None)."""
        values = [fields.get(f) if f in OPTIONAL_FIELDS else fields[f] for f in FIRM_FIELDS]
        now = stamp()
        await self._write(
            f"INSERT INTO firms (owner_id, {', '.join(FIRM_FIELDS)}, created_at, updated_at)"
            f" VALUES (?, {', '.join('?' for _ in FIRM_FIELDS)}, ?, ?)"
            " ON CONFLICT (owner_id) DO UPDATE SET "
            + ", ".join(f"{f} = excluded.{f}" for f in FIRM_FIELDS)
            + ", updated_at = excluded.updated_at",
            (owner_id, *values, now, now),
        )
        firm = await self.by_owner(owner_id)
        assert firm is not None
        return firm

    async def by_licence(self, licence_no: str) -> Firm | None:
        row = await self._one(f"SELECT {self._COLUMNS} FROM firms WHERE licence_no = ?", (licence_no,))
        return Firm(**dict(row)) if row else None

    async def by_number(self, digits: str) -> list[Firm]:
        """Firms a number typed by an admin may mean: the national ID (or a sole proprietor's
        national code or licence number), the phone (its last ten digits, however it was
        written) or the owner's user id."""
        rows = await self._all(
            f"SELECT {self._COLUMNS} FROM firms WHERE deleted_at IS NULL AND (national_id = ? OR licence_no = ?"
            " OR (length(?) >= 10 AND substr(replace(replace(replace(phone, '+', ''), ' ', ''), '-', ''), -10)"
            "     = substr(?, -10))"
            " OR owner_id = ?) ORDER BY id",
            (digits, digits, digits, digits, int(digits) if len(digits) <= 15 else -1),
        )
        return [Firm(**dict(r)) for r in rows]

    async def names(self) -> list[tuple[int, str]]:
        """Every registered firm's id and name, for a search by name."""
        rows = await self._all("SELECT id, name FROM firms WHERE deleted_at IS NULL ORDER BY id")
        return [(r[0], r[1]) for r in rows]

    async def move(self, firm_id: int, *, estate_id: int, province_id: int, cluster_id: int | None) -> None:
        """Puts a firm in another estate (and its province; a cluster of another province is dropped)."""
        await self._write(
            "UPDATE firms SET estate_id = ?, province_id = ?, cluster_id = ?, updated_at = ? WHERE id = ?",
            (estate_id, province_id, cluster_id, stamp(), firm_id),
        )

    async def count(self) -> int:
        return int(await self._scalar("SELECT COUNT(*) FROM firms WHERE deleted_at IS NULL"))

    async def recipients(self) -> list[Recipient]:
        """Every firm's owner with what bulk sending needs to know about them."""
        rows = await self._all(
            "SELECT f.id AS firm_id, f.owner_id, f.sector, u.language, u.muted"
            " FROM firms f JOIN users u ON u.id = f.owner_id WHERE f.deleted_at IS NULL ORDER BY f.id"
        )
        return [Recipient(**dict(r)) for r in rows]

    async def not_submitted(self, round_id: int) -> list[Recipient]:
        """Owners of firms that have not submitted the round (drafts included)."""
        rows = await self._all(
            "SELECT f.id AS firm_id, f.owner_id, f.sector, u.language, u.muted"
            " FROM firms f JOIN users u ON u.id = f.owner_id"
            " WHERE f.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM submissions s WHERE s.firm_id = f.id"
            "   AND s.round_id = ? AND s.status = 'submitted') ORDER BY f.id",
            (round_id,),
        )
        return [Recipient(**dict(r)) for r in rows]

    async def unsubmitted_drafts(self, round_id: int) -> list[Recipient]:
        """Owners who answered something in the round but never submitted it."""
        rows = await self._all(
            "SELECT f.id AS firm_id, f.owner_id, f.sector, u.language, u.muted"
            " FROM submissions s JOIN firms f ON f.id = s.firm_id JOIN users u ON u.id = f.owner_id"
            " WHERE s.round_id = ? AND s.status = 'draft' AND f.deleted_at IS NULL"
            " AND EXISTS (SELECT 1 FROM answers a WHERE a.submission_id = s.id) ORDER BY f.id",
            (round_id,),
        )
        return [Recipient(**dict(r)) for r in rows]

    async def stale_drafts(self, round_id: int, *, untouched_since: str) -> list[tuple[Recipient, int]]:
        """Owners whose draft has not moved since ``untouched_since``, with their submission id."""
        rows = await self._all(
            "SELECT f.id AS firm_id, f.owner_id, f.sector, u.language, u.muted, s.id AS submission_id"
            " FROM submissions s JOIN firms f ON f.id = s.firm_id JOIN users u ON u.id = f.owner_id"
            " WHERE s.round_id = ? AND s.status = 'draft' AND s.updated_at <= ? AND f.deleted_at IS NULL"
            " ORDER BY f.id",
            (round_id, untouched_since),
        )
        # a Row iterates over its values, so its keys() are wanted here
        return [(Recipient(**{k: r[k] for k in r.keys() if k != "submission_id"}), r["submission_id"])  # noqa: SIM118
                for r in rows]
