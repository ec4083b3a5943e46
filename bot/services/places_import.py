"""Loading estates and clusters from CSV files: idempotent, with a report line by line."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.domain.sectors import SECTORS
from bot.domain.text import normalize
from storage.models import Province
from storage.repositories import Repositories

ESTATE_KINDS = ("estate", "zone", "park")


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"added {len(self.added)}, skipped {len(self.skipped)} (already there), "
                 f"rejected {len(self.rejected)}"]
        lines += [f"  line {n}: {why}" for n, why in self.rejected]
        return "\n".join(lines)


def _province_lookup(provinces: list[Province]) -> dict[str, int]:
    lookup: dict[str, int] = {}
    for p in provinces:
        lookup[normalize(p.name_fa)] = p.id
        lookup[p.name_en.casefold()] = p.id
        lookup[str(p.id)] = p.id
    return lookup


def _rows(text: str) -> list[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if reader.fieldnames is None:
        return []
    reader.fieldnames = [normalize(name).casefold() for name in reader.fieldnames]
    # The header is line 1, so the first record is line 2.
    return [(reader.line_num, {k: normalize(v or "") for k, v in row.items() if k}) for row in reader]


async def import_estates(repo: Repositories, text: str) -> ImportReport:
    """Adds each (province, name, kind) row that is new; reports what it did with each line."""

    async def add(province_id: int, name: str, row: dict[str, str]) -> bool | str:
        kind = row.get("kind", "estate").casefold() or "estate"
        if kind not in ESTATE_KINDS:
            return f"kind must be one of {', '.join(ESTATE_KINDS)}, not {kind!r}"
        return await repo.estates.add(province_id=province_id, name=name, kind=kind)

    return await _import(repo, text, add)


async def import_clusters(repo: Repositories, text: str) -> ImportReport:
    """Adds each (province, name, sector) row that is new; sector is an ISIC section letter."""

    async def add(province_id: int, name: str, row: dict[str, str]) -> bool | str:
        sector = row.get("sector", "").upper() or None
        if sector is not None and sector not in SECTORS:
            return f"unknown ISIC section {sector!r}"
        return await repo.clusters.add(province_id=province_id, name=name, sector=sector)

    return await _import(repo, text, add)


# Adds one row: True when added, False when already there, a reason when rejected.
RowAdder = Callable[[int, str, dict[str, str]], Awaitable["bool | str"]]


async def _import(repo: Repositories, text: str, add: RowAdder) -> ImportReport:
    """The loop both imports share: province lookup, empty names, the report line by line."""
    report = ImportReport()
    lookup = _province_lookup(await repo.provinces.all())
    for line, row in _rows(text):
        province = row.get("province", "")
        province_id = lookup.get(province.casefold()) or lookup.get(province)
        name = row.get("name", "")
        if province_id is None:
            report.rejected.append((line, f"unknown province {province!r}"))
            continue
        if not name:
            report.rejected.append((line, "the name is empty"))
            continue
        outcome = await add(province_id, name, row)
        if isinstance(outcome, str):
            report.rejected.append((line, outcome))
        elif outcome:
            report.added.append(name)
        else:
            report.skipped.append(name)
    return report


def read_csv_file(path: Path) -> str:
    return path.read_text(encoding="utf-8-sig")
