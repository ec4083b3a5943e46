"""Registered firms: one per owner, unique by national ID."""

from __future__ import annotations

from typing import Any

from storage.models import Firm
from storage.repositories.base import Repository, stamp

FIRM_FIELDS = (
    "name", "national_id", "province_id", "estate_id", "cluster_id", "sector",
    "employees", "founded_year", "phone", "consent_public",
)


class FirmRepository(Repository):
    __slots__ = ()

    _COLUMNS = "id, owner_id, created_at, updated_at, " + ", ".join(FIRM_FIELDS)

    async def by_owner(self, owner_id: int) -> Firm | None:
        row = await self._one(f"SELECT {self._COLUMNS} FROM firms WHERE owner_id = ?", (owner_id,))
        return Firm(**dict(row)) if row else None

    async def by_national_id(self, national_id: str) -> Firm | None:
        row = await self._one(
            f"SELECT {self._COLUMNS} FROM firms WHERE national_id = ?", (national_id,)
        )
        return Firm(**dict(row)) if row else None

    async def save(self, *, owner_id: int, fields: dict[str, Any]) -> Firm:
        """Creates the owner's firm or updates it with ``fields`` (all of FIRM_FIELDS)."""
        values = [fields[f] for f in FIRM_FIELDS]
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

    async def count(self) -> int:
        return int(await self._scalar("SELECT COUNT(*) FROM firms"))
