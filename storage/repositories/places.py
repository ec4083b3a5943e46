"""Provinces (built in), estates and clusters (imported by admins)."""

from __future__ import annotations

from collections.abc import Sequence

from storage.models import Cluster, Estate, Province
from storage.repositories.base import Repository, stamp

#: How many (province, name) pairs one existence query asks about (two parameters each).
_LOOKUP_BATCH = 400


async def _add_many(
    repo: Repository, table: str, column: str, rows: Sequence[tuple[int, str, str | None]]
) -> list[bool]:
    """Inserts the (province_id, name, ``column``) rows that are new, in two statements or so
    rather than one per row; returns, row by row, True when added and False when the province
    already had that name (earlier in ``rows`` included).  Call it inside a transaction."""
    keys = list(dict.fromkeys((province_id, name) for province_id, name, _ in rows))
    existing: set[tuple[int, str]] = set()
    for start in range(0, len(keys), _LOOKUP_BATCH):
        part = keys[start:start + _LOOKUP_BATCH]
        marks = ", ".join("(?, ?)" for _ in part)
        found = await repo._all(
            f"SELECT province_id, name FROM {table} WHERE (province_id, name) IN (VALUES {marks})",
            [value for key in part for value in key],
        )
        existing.update((r[0], r[1]) for r in found)
    outcomes: list[bool] = []
    new: list[tuple[int, str, str | None]] = []
    for province_id, name, extra in rows:
        if (province_id, name) in existing:
            outcomes.append(False)
        else:
            existing.add((province_id, name))
            outcomes.append(True)
            new.append((province_id, name, extra))
    if new:
        await repo.conn.executemany(
            f"INSERT INTO {table} (province_id, name, {column}) VALUES (?, ?, ?)"
            " ON CONFLICT (province_id, name) DO NOTHING",
            new,
        )
    return outcomes


class ProvinceRepository(Repository):
    __slots__ = ()

    async def all(self) -> list[Province]:
        rows = await self._all("SELECT id, name_fa, name_en FROM provinces ORDER BY id")
        return [Province(**dict(r)) for r in rows]

    async def get(self, province_id: int) -> Province | None:
        row = await self._one(
            "SELECT id, name_fa, name_en FROM provinces WHERE id = ?", (province_id,)
        )
        return Province(**dict(row)) if row else None


class EstateRepository(Repository):
    __slots__ = ()

    _COLUMNS = "id, province_id, name, kind, active"

    async def get(self, estate_id: int) -> Estate | None:
        row = await self._one(f"SELECT {self._COLUMNS} FROM estates WHERE id = ?", (estate_id,))
        return Estate(**dict(row)) if row else None

    async def in_province(self, province_id: int) -> list[Estate]:
        rows = await self._all(
            f"SELECT {self._COLUMNS} FROM estates WHERE province_id = ? AND active = 1"
            " ORDER BY name",
            (province_id,),
        )
        return [Estate(**dict(r)) for r in rows]

    async def count(self) -> int:
        return int(await self._scalar("SELECT COUNT(*) FROM estates"))

    async def add(self, *, province_id: int, name: str, kind: str) -> bool:
        """Adds an estate; False when the province already has one by that name."""
        before = self.conn.total_changes
        await self._write(
            "INSERT INTO estates (province_id, name, kind) VALUES (?, ?, ?)"
            " ON CONFLICT (province_id, name) DO NOTHING",
            (province_id, name, kind),
        )
        return self.conn.total_changes > before

    async def add_many(self, rows: Sequence[tuple[int, str, str]]) -> list[bool]:
        """Adds the (province_id, name, kind) rows that are new; True per row added, False per
        row the province already had (see ``add``)."""
        return await _add_many(self, "estates", "kind", rows)

    async def of_province(self, province_id: int) -> list[Estate]:
        """Every estate of a province, active or not (for the near-duplicate check)."""
        rows = await self._all(
            f"SELECT {self._COLUMNS} FROM estates WHERE province_id = ? ORDER BY id", (province_id,),
        )
        return [Estate(**dict(r)) for r in rows]

    async def id_of(self, province_id: int, name: str) -> int | None:
        """The id of the province's estate called exactly ``name``."""
        found = await self._scalar("SELECT id FROM estates WHERE province_id = ? AND name = ?", (province_id, name))
        return int(found) if found is not None else None

    async def names(self) -> dict[int, str]:
        """Every estate's name by id (active or not), for exports."""
        return {r[0]: r[1] for r in await self._all("SELECT id, name FROM estates")}

    async def every(self) -> list[Estate]:
        """Every estate (active or not), for a search that compares names in Python."""
        rows = await self._all(f"SELECT {self._COLUMNS} FROM estates ORDER BY id")
        return [Estate(**dict(r)) for r in rows]

    async def search(
        self, text: str = "", *, limit: int = 30, province_ids: Sequence[int] = (),
    ) -> tuple[list[Estate], int]:
        """Estates (active or not) whose name contains ``text`` or that lie in one of
        ``province_ids``, and how many match in all."""
        where, params = _name_or_province(text, province_ids)
        rows = await self._all(
            f"SELECT {self._COLUMNS} FROM estates WHERE {where} ORDER BY province_id, name LIMIT ?",
            (*params, limit),
        )
        total = int(await self._scalar(f"SELECT COUNT(*) FROM estates WHERE {where}", params))
        return [Estate(**dict(r)) for r in rows], total

    async def rename(self, estate_id: int, name: str) -> bool:
        """Renames an estate; False when another estate of the province already has the name."""
        estate = await self.get(estate_id)
        if estate is None:
            return False
        clash = await self._scalar(
            "SELECT id FROM estates WHERE province_id = ? AND name = ? AND id != ?",
            (estate.province_id, name, estate_id),
        )
        if clash is not None:
            return False
        await self._write(
            "UPDATE estates SET name = ?, renamed_at = ? WHERE id = ?", (name, stamp(), estate_id)
        )
        return True

    async def set_active(self, estate_id: int, active: bool) -> bool:
        before = self.conn.total_changes
        await self._write("UPDATE estates SET active = ? WHERE id = ?", (int(active), estate_id))
        return self.conn.total_changes > before


class ClusterRepository(Repository):
    __slots__ = ()

    _COLUMNS = "id, province_id, name, sector, active"

    async def get(self, cluster_id: int) -> Cluster | None:
        row = await self._one(f"SELECT {self._COLUMNS} FROM clusters WHERE id = ?", (cluster_id,))
        return Cluster(**dict(row)) if row else None

    async def in_province(self, province_id: int) -> list[Cluster]:
        rows = await self._all(
            f"SELECT {self._COLUMNS} FROM clusters WHERE province_id = ? AND active = 1"
            " ORDER BY name",
            (province_id,),
        )
        return [Cluster(**dict(r)) for r in rows]

    async def add(self, *, province_id: int, name: str, sector: str | None) -> bool:
        """Adds a cluster; False when the province already has one by that name."""
        before = self.conn.total_changes
        await self._write(
            "INSERT INTO clusters (province_id, name, sector) VALUES (?, ?, ?)"
            " ON CONFLICT (province_id, name) DO NOTHING",
            (province_id, name, sector),
        )
        return self.conn.total_changes > before

    async def add_many(self, rows: Sequence[tuple[int, str, str | None]]) -> list[bool]:
        """Adds the (province_id, name, sector) rows that are new; True per row added, False
        per row the province already had (see ``add``)."""
        return await _add_many(self, "clusters", "sector", rows)

    async def of_province(self, province_id: int) -> list[Cluster]:
        """Every cluster of a province, active or not (for the near-duplicate check)."""
        rows = await self._all(
            f"SELECT {self._COLUMNS} FROM clusters WHERE province_id = ? ORDER BY id", (province_id,),
        )
        return [Cluster(**dict(r)) for r in rows]

    async def id_of(self, province_id: int, name: str) -> int | None:
        """The id of the province's cluster called exactly ``name``."""
        found = await self._scalar("SELECT id FROM clusters WHERE province_id = ? AND name = ?", (province_id, name))
        return int(found) if found is not None else None

    async def names(self) -> dict[int, str]:
        """Every cluster's name by id (active or not), for exports."""
        return {r[0]: r[1] for r in await self._all("SELECT id, name FROM clusters")}

    async def every(self) -> list[Cluster]:
        """Every cluster (active or not), for a search that compares names in Python."""
        rows = await self._all(f"SELECT {self._COLUMNS} FROM clusters ORDER BY id")
        return [Cluster(**dict(r)) for r in rows]

    async def search(
        self, text: str = "", *, limit: int = 30, province_ids: Sequence[int] = (),
    ) -> tuple[list[Cluster], int]:
        """Clusters (active or not) whose name contains ``text`` or that lie in one of
        ``province_ids``, and how many match in all."""
        where, params = _name_or_province(text, province_ids)
        rows = await self._all(
            f"SELECT {self._COLUMNS} FROM clusters WHERE {where} ORDER BY province_id, name LIMIT ?",
            (*params, limit),
        )
        total = int(await self._scalar(f"SELECT COUNT(*) FROM clusters WHERE {where}", params))
        return [Cluster(**dict(r)) for r in rows], total

    async def rename(self, cluster_id: int, name: str) -> bool:
        """Renames a cluster; False when another cluster of the province already has the name."""
        cluster = await self.get(cluster_id)
        if cluster is None:
            return False
        clash = await self._scalar(
            "SELECT id FROM clusters WHERE province_id = ? AND name = ? AND id != ?",
            (cluster.province_id, name, cluster_id),
        )
        if clash is not None:
            return False
        await self._write("UPDATE clusters SET name = ? WHERE id = ?", (name, cluster_id))
        return True

    async def set_active(self, cluster_id: int, active: bool) -> bool:
        before = self.conn.total_changes
        await self._write("UPDATE clusters SET active = ? WHERE id = ?", (int(active), cluster_id))
        return self.conn.total_changes > before


def _name_or_province(text: str, province_ids: Sequence[int]) -> tuple[str, tuple[object, ...]]:
    """The WHERE clause of a search by name, or by province."""
    if not province_ids:
        return "name LIKE ?", (f"%{text}%",)
    marks = ", ".join("?" * len(province_ids))
    return f"(name LIKE ? OR province_id IN ({marks}))", (f"%{text}%", *province_ids)
