"""Estates and clusters managed by an admin (``PlacesService``): list and search, add one, rename,
deactivate and reactivate, and bulk import from a CSV file.  Each action writes one audit row.

Adding one goes through the import's own checks (``bot.services.places_import``), so a line
typed in the chat and a line of a CSV file are held to the same rules, near-duplicate names
included: a name that differs from one of the province's only in spelling is not added until
the admin confirms it (``anyway``).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Literal

from bot.domain.text import key_matches, normalize, persian_sort_key, search_key
from bot.services.access import audit
from bot.services.places_import import (
    ImportRefused,
    ImportReport,
    Progress,
    import_clusters,
    import_estates,
    near_duplicates,
    parse_clusters,
    parse_estates,
    value_problem,
)
from storage.database import Database
from storage.models import Cluster, Estate, Province
from storage.repositories import Repositories
from storage.repositories.places import ClusterRepository, EstateRepository

What = Literal["estates", "clusters"]
LIST_CAP = 30


def _one_row_csv(header: str, values: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header.split(","))
    writer.writerow(values)
    return buffer.getvalue()


@dataclass(frozen=True)
class Found:
    items: list[Estate | Cluster]
    total: int
    provinces: dict[int, Province]
    page: int = 0
    last_page: int = 0


@dataclass(frozen=True)
class Renamed:
    """What a rename did: ``renamed``, ``missing`` (no such place), ``taken`` (another of the
    province has that name) or ``similar`` (held back: spelled like the ``similar`` places)."""

    outcome: Literal["renamed", "missing", "taken", "similar"]
    similar: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class Added:
    """One place added (``new_id``), already there (``skipped``, ``existing_id``), held back as
    a near-duplicate of ``similar`` places of its province (id, name), or refused
    (``rejected``, with the import's reason in English)."""

    name: str
    new_id: int | None = None
    skipped: bool = False
    existing_id: int | None = None
    similar: tuple[tuple[int, str], ...] = ()
    rejected: str | None = None


#: Records one file sent in the chat may hold (``KHOOSHE_IMPORT_MAX_ROWS``).
IMPORT_MAX_ROWS = 20_000


@dataclass(frozen=True)
class Moved:
    """A firm put in another estate: its name, the estates before and after, and whether its
    cluster (of another province) was dropped."""

    firm_name: str
    before: str | None
    after: str
    cluster_dropped: bool


def _matching(items: list[Estate] | list[Cluster], text: str, provinces: dict[int, Province]) -> list[Estate | Cluster]:
    """``items`` whose name holds ``text`` (``search_key``) or that lie in a province whose name
    contains it; every one for no text. By province, then in Persian order."""
    key = text.casefold()
    in_province = {p.id for p in provinces.values()
                   if key and (key in normalize(p.name_fa).casefold() or key in p.name_en.casefold())}
    query = search_key(text)

    def named(name: str) -> bool:
        # Only the generic words typed («/estates ناحیه»): those whose name has them.
        return key_matches(query, search_key(name)) if query else key in normalize(name).casefold()

    found: list[Estate | Cluster] = [x for x in items if not text or x.province_id in in_province or named(x.name)]
    found.sort(key=lambda x: (x.province_id, persian_sort_key(x.name)))
    return found


class PlacesService:
    def __init__(self, db: Database, *, import_max_rows: int = IMPORT_MAX_ROWS) -> None:
        self.db = db
        self.import_max_rows = import_max_rows

    @staticmethod
    def _store(repo: Repositories, what: What) -> EstateRepository | ClusterRepository:
        return repo.estates if what == "estates" else repo.clusters

    async def search(self, actor: int, what: What, text: str, *, page: int = 0) -> Found:
        """Those whose name holds ``text`` as registration's estate search finds it (spelling
        variants, ZWNJ or space, the generic words ignored), or in a province whose Persian or
        English name contains it: page ``page`` of LIST_CAP, by province and in Persian order,
        with the total; audited."""
        text = normalize(text)
        async with self.db.transaction() as repo:
            provinces = {p.id: p for p in await repo.provinces.all()}
            everything: list[Estate] | list[Cluster] = await self._store(repo, what).every()
            await audit(repo, user_id=actor, action=f"list_{what}", target=text or None)
        found = _matching(everything, text, provinces)
        last = max(0, (len(found) - 1) // LIST_CAP)
        page = min(max(page, 0), last)
        return Found(found[page * LIST_CAP:(page + 1) * LIST_CAP], len(found), provinces, page, last)

    async def active_estates(self, *, province_id: int | None = None, text: str = "") -> list[Estate]:
        """The active estates of a province, or those a typed ``text`` finds (as ``search``
        does), all of them, by province and in Persian order: what an invitation can be for."""
        async with self.db.read() as repo:
            provinces = {p.id: p for p in await repo.provinces.all()}
            everything = await repo.estates.every()
        active = [e for e in everything if e.active and (province_id is None or e.province_id == province_id)]
        return [e for e in _matching(active, normalize(text), provinces) if isinstance(e, Estate)]

    async def provinces(self) -> list[Province]:
        async with self.db.read() as repo:
            return await repo.provinces.all()

    async def add(self, actor: int, what: What, province: str, name: str, third: str, *,
                  anyway: bool = False) -> Added:
        """Adds one estate (``third`` its kind) or cluster (``third`` its ISIC sector); the
        province is its name or its id. A near-duplicate of a place of the province is only
        added ``anyway``."""
        header = "province,name,kind" if what == "estates" else "province,name,sector"
        text = _one_row_csv(header, [province, name, third])
        name = normalize(name)
        async with self.db.transaction() as repo:
            parsed = (parse_estates if what == "estates" else parse_clusters)(text, await repo.provinces.all())
            if parsed.rejected:
                return Added(name, rejected=parsed.rejected[0][1])
            row = parsed.rows[0]
            store = self._store(repo, what)
            others = [(x.id, x.name) for x in await store.of_province(row.province_id)]
            same = next((i for i, other in others if other == row.name), None)
            if same is not None:
                return Added(row.name, skipped=True, existing_id=same)
            similar = near_duplicates(row.name, others)
            if similar and not anyway:
                return Added(row.name, similar=tuple(similar))
            if what == "estates":
                await repo.estates.add(province_id=row.province_id, name=row.name, kind=row.extra or "estate")
            else:
                await repo.clusters.add(province_id=row.province_id, name=row.name, sector=row.extra)
            new_id = await store.id_of(row.province_id, row.name)
            await audit(repo, user_id=actor, action=f"add_{what[:-1]}", target=new_id,
                        detail=row.name + (" (near-duplicate, confirmed)" if similar else ""))
        return Added(row.name, new_id=new_id)

    async def name_check(self, what: What, province_id: int, name: str) -> Added:
        """What adding ``name`` (as typed) to the province would meet, before the kind is asked:
        refused (``rejected``: empty, too long, on several lines), already there (``skipped``),
        near-duplicates (``similar``), or nothing (the name alone)."""
        problem = value_problem("name", name.strip())
        name = normalize(name)
        if problem is not None or not name:
            return Added(name, rejected=problem or "the name is empty")
        async with self.db.read() as repo:
            others = [(x.id, x.name) for x in await self._store(repo, what).of_province(province_id)]
        same = next((i for i, other in others if other == name), None)
        if same is not None:
            return Added(name, skipped=True, existing_id=same)
        return Added(name, similar=tuple(near_duplicates(name, others)))

    async def rename(self, actor: int, what: What, item_id: int, new_name: str, *,
                     anyway: bool = False) -> Renamed:
        """``taken`` when another one of the same province already has the name; ``similar``
        when others of the province are spelled like it (renamed only ``anyway``)."""
        async with self.db.transaction() as repo:
            store = self._store(repo, what)
            before = await store.get(item_id)
            if before is None:
                return Renamed("missing")
            others = [(x.id, x.name) for x in await store.of_province(before.province_id) if x.id != item_id]
            similar = near_duplicates(new_name, others)
            if similar and not anyway and new_name not in {name for _, name in others}:
                return Renamed("similar", similar=tuple(similar))
            if not await store.rename(item_id, new_name):
                return Renamed("taken")
            await audit(repo, user_id=actor, action=f"rename_{what[:-1]}", target=item_id,
                        detail=f"{before.name} -> {new_name}" + (" (near-duplicate, confirmed)" if similar else ""))
        return Renamed("renamed")

    async def move_firm(self, actor: int, firm_id: int, estate_id: int) -> Moved | Literal["no_firm", "no_estate"]:
        """Corrects the estate a firm registered in (its province follows; a cluster of another
        province is dropped). Scores already computed keep the estate they were ranked in."""
        async with self.db.transaction() as repo:
            firm = await repo.firms.by_id(firm_id)
            if firm is None:
                return "no_firm"
            estate = await repo.estates.get(estate_id)
            if estate is None:
                return "no_estate"
            before = await repo.estates.get(firm.estate_id)
            cluster_id = firm.cluster_id
            if cluster_id is not None:
                cluster = await repo.clusters.get(cluster_id)
                if cluster is None or cluster.province_id != estate.province_id:
                    cluster_id = None
            await repo.firms.move(firm.id, estate_id=estate.id, province_id=estate.province_id, cluster_id=cluster_id)
            await audit(repo, user_id=actor, action="move_firm", target=f"firm {firm.id}",
                        detail=f"estate {firm.estate_id} -> {estate.id}")
        return Moved(firm_name=firm.name, before=before.name if before else None, after=estate.name,
                     cluster_dropped=firm.cluster_id is not None and cluster_id is None)

    async def set_active(self, actor: int, what: What, item_id: int, active: bool) -> Estate | Cluster | None:
        """Shows it in registration again (``active``) or hides it; None when there is no such one."""
        async with self.db.transaction() as repo:
            store = self._store(repo, what)
            item = await store.get(item_id)
            if item is None:
                return None
            await store.set_active(item_id, active)
            await audit(repo, user_id=actor, action=f"{'reactivate' if active else 'deactivate'}_{what[:-1]}",
                        target=item_id)
        return item

    async def import_file(self, actor: int, what: What, data: bytes, *, workbook: bool = False,
                          progress: Progress | None = None) -> ImportReport | None:
        """Imports a CSV file, or an .xlsx ``workbook`` (read in the worker); None (audited
        too) when a CSV file is not UTF-8 text; ``ImportRefused`` (audited, nothing written)
        when it has too many rows, a line the reader cannot read, the wrong header, or is not
        a workbook."""
        text: str | bytes
        if workbook or data.startswith(b"PK\x03\x04"):
            text = data
        else:
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                await self.import_refused(actor, what, "not UTF-8")
                return None
        # Parsed outside any transaction, written in short chunks: firms keep answering meanwhile.
        loader = import_estates if what == "estates" else import_clusters
        try:
            report = await loader(self.db, text, max_rows=self.import_max_rows, progress=progress)
        except ImportRefused as exc:
            await self.import_refused(actor, what, str(exc))
            raise
        async with self.db.transaction() as repo:
            await audit(repo, user_id=actor, action=f"import_{what}",
                        detail=f"added {len(report.added)}, skipped {len(report.skipped)}, rejected {len(report.rejected)}"
                        + (f", near-duplicates {len(report.near)}" if report.near else ""))
        return report

    async def import_refused(self, actor: int, what: What, why: str) -> None:
        """Audits a file that was refused as a whole (also when the chat refused to download it)."""
        async with self.db.transaction() as repo:
            await audit(repo, user_id=actor, action=f"import_{what}", detail=why)
