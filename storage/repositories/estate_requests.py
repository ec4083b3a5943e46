"""Estates owners named because theirs was not listed (``estates.verified = 0``, migration
0014): creating them at registration, the admins' list of them, adding or merging them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from storage.models import Estate
from storage.repositories.base import Repository, stamp


class UnlistedEstate(BaseModel):
    """An estate awaiting an admin: where, who named it and when, and its firms."""

    model_config = ConfigDict(frozen=True)

    id: int
    province_id: int
    name: str
    requested_by: int | None
    requested_at: str | None
    firms: int


class NamedEstate(BaseModel):
    """An estate with what registration needs to know besides ``Estate``: whether an admin has
    confirmed it, and the listed estate it was merged into."""

    model_config = ConfigDict(frozen=True)

    estate: Estate
    verified: bool
    merged_into: int | None


class EstateRequestRepository(Repository):
    __slots__ = ()

    _COLUMNS = "id, province_id, name, kind, active"

    async def named(self, estate_id: int) -> NamedEstate | None:
        row = await self._one(
            f"SELECT {self._COLUMNS}, verified, merged_into FROM estates WHERE id = ?", (estate_id,)
        )
        if row is None:
            return None
        estate = Estate(**{k: row[k] for k in ("id", "province_id", "name", "kind", "active")})
        return NamedEstate(estate=estate, verified=bool(row["verified"]), merged_into=row["merged_into"])

    async def listed_in_province(self, province_id: int) -> list[Estate]:
        """The province's active estates an admin has confirmed (what owners are offered)."""
        rows = await self._all(
            f"SELECT {self._COLUMNS} FROM estates WHERE province_id = ? AND active = 1 AND verified = 1"
            " ORDER BY name",
            (province_id,),
        )
        return [Estate(**dict(r)) for r in rows]

    async def listed(self) -> list[Estate]:
        """Every active, confirmed estate of the country (a search across provinces)."""
        rows = await self._all(f"SELECT {self._COLUMNS} FROM estates WHERE active = 1 AND verified = 1 ORDER BY id")
        return [Estate(**dict(r)) for r in rows]

    async def unverified_in_province(self, province_id: int) -> list[NamedEstate]:
        """The province's estates named by owners and not confirmed (merged ones included)."""
        rows = await self._all("SELECT id FROM estates WHERE province_id = ? AND verified = 0", (province_id,))
        found = [await self.named(r[0]) for r in rows]
        return [n for n in found if n is not None]

    async def add_unverified(self, *, province_id: int, name: str, user_id: int) -> int:
        """A new unconfirmed estate named by ``user_id``; returns its id."""
        return await self._write(
            "INSERT INTO estates (province_id, name, kind, verified, requested_by, requested_at)"
            " VALUES (?, ?, 'estate', 0, ?, ?)",
            (province_id, name, user_id, stamp()),
        )

    async def pending(self) -> list[UnlistedEstate]:
        """Every estate awaiting an admin, oldest first, with how many firms are in it."""
        rows = await self._all(
            "SELECT e.id, e.province_id, e.name, e.requested_by, e.requested_at,"
            " (SELECT COUNT(*) FROM firms f WHERE f.estate_id = e.id AND f.deleted_at IS NULL) AS firms"
            " FROM estates e WHERE e.verified = 0 AND e.active = 1 AND e.merged_into IS NULL"
            " ORDER BY e.requested_at, e.id"
        )
        return [UnlistedEstate(**dict(r)) for r in rows]

    async def pending_one(self, estate_id: int) -> UnlistedEstate | None:
        return next((e for e in await self.pending() if e.id == estate_id), None)

    async def verify(self, estate_id: int) -> bool:
        """Lists an estate awaiting an admin; False when it is not awaiting one."""
        before = self.conn.total_changes
        await self._write(
            "UPDATE estates SET verified = 1 WHERE id = ? AND verified = 0 AND merged_into IS NULL",
            (estate_id,),
        )
        return self.conn.total_changes > before

    async def owners_in(self, estate_id: int) -> list[int]:
        """The owners of the firms in an estate."""
        rows = await self._all(
            "SELECT owner_id FROM firms WHERE estate_id = ? AND deleted_at IS NULL ORDER BY id", (estate_id,)
        )
        return [r[0] for r in rows]

    async def merge(self, estate_id: int, into: int) -> int:
        """Moves the firms of an unconfirmed estate into ``into`` (of the same province) and
        retires the unconfirmed one; returns how many firms moved."""
        firms = int(await self._scalar("SELECT COUNT(*) FROM firms WHERE estate_id = ?", (estate_id,)))
        now = stamp()
        await self._write("UPDATE firms SET estate_id = ?, updated_at = ? WHERE estate_id = ?", (into, now, estate_id))
        await self._write(
            "UPDATE registration_drafts SET data = json_set(data, '$.estate_id', ?)"
            " WHERE json_extract(data, '$.estate_id') = ?",
            (into, estate_id),
        )
        await self._write("UPDATE estates SET active = 0, merged_into = ? WHERE id = ?", (into, estate_id))
        return firms
