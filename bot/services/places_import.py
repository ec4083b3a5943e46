"""Loading estates and clusters from CSV files: idempotent, with a report line by line.

An import runs in two steps.  The text is parsed and checked first, outside any transaction,
in the worker process (``bot.services.offload.run_heavy``: a 2 MB file is tens of thousands of
lines of CPU-bound Python), which rejects the lines with an unknown province, an empty name or
a bad kind / sector, and hands back the accepted rows in pickled chunks of ``CHUNK_ROWS``.  The
chunks are then written in short transactions, one each, so other writers (firms answering
their assessment) get the writer between chunks instead of waiting for the whole file.

A file stopped half-way (the bot killed between two chunks) leaves its first chunks stored;
sending it again adds the rest and reports the stored ones as already there.

An .xlsx workbook is read the same way (its first sheet, the header in its first row; a row's
number is its line), in the worker too: openpyxl is imported there, never on the bot's loop.

Near-duplicates: a name that differs from one already stored in the province (or from an earlier
line of the file) only in spelling (``duplicate_key``: space or ZWNJ, آ/ا, ی/ي, ک/ك, ة/ه,
diacritics, the words «شهرک», «ناحیه», «صنعتی») is not added but reported with the name it
looks like, so an admin decides (``/addestate`` adds it after asking).

Limits: a file an admin sends is at most ``KHOOSHE_IMPORT_MAX_BYTES`` (the handler stops the
download past it) and ``KHOOSHE_IMPORT_MAX_ROWS`` records (counted by the parser, which stops at
the first one too many: the whole file is refused, nothing is written); a field is at most
``MAX_FIELD_CHARS`` characters and holds no control character (that line is rejected).
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bot.domain.sectors import SECTORS
from bot.domain.text import normalize, search_key
from bot.services.offload import pack, run_heavy, unpack
from storage.database import Database
from storage.models import Province
from storage.repositories import Repositories

ESTATE_KINDS = ("estate", "zone", "park")
#: Rows written per transaction: each holds the writer for a few milliseconds.
CHUNK_ROWS = 500
#: The longest province, name, kind or sector accepted (the longest real name is about 50).
MAX_FIELD_CHARS = 120
# Line breaks inside a quoted field, NUL, escapes, C1 controls: never part of a name. A tab is
# allowed (normalisation turns it into a space).
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")


class ImportRefused(Exception):
    """The whole file is refused before anything is written."""


# Their only argument is their number, so they cross from the worker process as they are.
class TooManyRows(ImportRefused):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit

    def __str__(self) -> str:
        return f"the file has more than {self.limit} rows; split it into files of at most {self.limit} rows"


class UnreadableLine(ImportRefused):
    """The CSV reader cannot go past this line (a field longer than the csv module's own limit,
    a stray carriage return outside quotes)."""

    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line

    def __str__(self) -> str:
        return f"line {self.line} cannot be read as CSV; nothing was imported"


class WrongColumns(ImportRefused):
    """The header is not this kind's: no ``province`` and ``name`` columns (or no header at all),
    or the other kind's column (a clusters file sent as estates)."""

    def __init__(self, reason: str, header: str) -> None:
        super().__init__(reason, header)
        self.reason, self.header = reason, header

    def __str__(self) -> str:
        if self.reason == "other_kind":
            return f"this looks like the other kind of file; its first line must be: {self.header}"
        return f"the first line must be the header: {self.header}; nothing was imported"


class NotAWorkbook(ImportRefused):
    """A file sent as .xlsx that openpyxl cannot open."""

    def __str__(self) -> str:
        return "the file is not an Excel workbook (.xlsx)"


def duplicate_key(name: str) -> str:
    """What two names of one province must share to be near-duplicates: the place search's key
    (``search_key``: letter forms, diacritics and the generic words folded) without its spaces,
    so «شهرک صنعتی عباس‌آباد», «عباس آباد» and «ناحیه صنعتي عباسآباد» are one place."""
    return search_key(name).replace(" ", "")


@dataclass(frozen=True)
class NearDuplicate:
    """A line not added because its name looks like ``like``: a stored place (``like_id``) or
    an earlier line of the same file (``like_line``)."""

    line: int
    name: str
    like: str
    like_id: int | None = None
    like_line: int | None = None


def near_duplicates(name: str, others: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """The (id, name) of ``others`` (places of the same province) that ``name`` is a
    near-duplicate of: the same ``duplicate_key``, not the same name."""
    key = duplicate_key(name)
    return [(i, other) for i, other in others if other != name and duplicate_key(other) == key]


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)
    near: list[NearDuplicate] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"added {len(self.added)}, skipped {len(self.skipped)} (already there), "
                 f"rejected {len(self.rejected)}"]
        if self.near:
            lines[0] += f", near-duplicates {len(self.near)} (not added)"
        lines += [f"  line {n}: {why}" for n, why in self.rejected]
        lines += [f"  line {d.line}: {d.name!r} looks like {d.like!r}"
                  + (f" (#{d.like_id})" if d.like_id is not None else f" (line {d.like_line})") for d in self.near]
        return "\n".join(lines)


@dataclass(frozen=True)
class PlaceRow:
    """An accepted line: the province, the (normalised) name and the kind or sector."""

    line: int
    province_id: int
    name: str
    extra: str | None


@dataclass
class ParsedCsv:
    """The accepted rows and the rejected lines of a file, both in line order."""

    rows: list[PlaceRow] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)


def _province_lookup(provinces: list[Province]) -> dict[str, int]:
    lookup: dict[str, int] = {}
    for p in provinces:
        lookup[normalize(p.name_fa)] = p.id
        lookup[p.name_en.casefold()] = p.id
        lookup[str(p.id)] = p.id
    return lookup


#: A line whose number of fields differs from the header's (the reason it is rejected).
COLUMNS_MISMATCH = "has {found} fields; the header has {expected}"


def _header(names: list[str], columns: tuple[str, str, str], other: str) -> list[str]:
    """The header's column names, normalised; ``WrongColumns`` when it lacks ``columns``' first
    two, or has the ``other`` kind's column instead of the third."""
    fieldnames = [normalize(name).casefold() for name in names]
    found = set(fieldnames)
    if not set(columns[:2]) <= found:
        raise WrongColumns("no_header", ",".join(columns))
    if other in found and columns[2] not in found:
        raise WrongColumns("other_kind", ",".join(columns))
    return fieldnames


def _rows(text: str, max_rows: int | None, columns: tuple[str, str, str],
          other: str) -> Iterator[tuple[int, dict[str, str]]]:
    """Each record as read (not normalised yet), with its line; ``TooManyRows`` past
    ``max_rows``, ``UnreadableLine`` at a line the reader cannot read, ``WrongColumns`` for a
    header without ``columns``' first two (or with the ``other`` kind's column instead of the
    third). Commas or semicolons separate the fields (Excel writes either)."""
    text = text.lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = ";" if ";" in first and "," not in first else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    try:
        if reader.fieldnames is None:
            return
        reader.fieldnames = _header(list(reader.fieldnames), columns, other)
        width = len(reader.fieldnames)
        # The header is line 1, so the first record is line 2.
        for count, row in enumerate(reader, start=1):
            if max_rows is not None and count > max_rows:
                raise TooManyRows(max_rows)
            found = width + len(row.get(None) or ()) - sum(v is None for k, v in row.items() if k)
            if found != width:
                yield reader.line_num, {COLUMNS_MISMATCH: COLUMNS_MISMATCH.format(found=found, expected=width)}
                continue
            yield reader.line_num, {k: v if isinstance(v, str) else "" for k, v in row.items() if k}
    except csv.Error:
        # line_num counts the lines read before the one that failed.
        raise UnreadableLine(reader.line_num + 1) from None


def _cell(value: object) -> str:
    """A workbook cell as the text a CSV file would hold (8, not 8.0)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _xlsx_rows(data: bytes, max_rows: int | None, columns: tuple[str, str, str],
               other: str) -> Iterator[tuple[int, dict[str, str]]]:
    """Each row of the workbook's first sheet, like ``_rows``: the first row that is not empty
    is the header, a row's line is its row number, empty rows are skipped, and a row with more
    filled cells than the header has columns is rejected (an empty cell is an empty field)."""
    from zipfile import BadZipFile

    # Imported here, in the worker: openpyxl takes a fifth of a second to import.
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (BadZipFile, KeyError, OSError, ValueError):
        raise NotAWorkbook from None
    try:
        if not book.worksheets:
            return
        header: list[str] | None = None
        count = 0
        for line, cells in enumerate(book.worksheets[0].iter_rows(values_only=True), start=1):
            values = [_cell(v) for v in cells]
            while values and not values[-1].strip():
                values.pop()
            if not values:
                continue
            if header is None:
                header = _header(values, columns, other)
                continue
            count += 1
            if max_rows is not None and count > max_rows:
                raise TooManyRows(max_rows)
            width = len(header)
            if len(values) > width:
                yield line, {COLUMNS_MISMATCH: COLUMNS_MISMATCH.format(found=len(values), expected=width)}
                continue
            yield line, dict(zip(header, values + [""] * (width - len(values)), strict=True))
    finally:
        book.close()


def _field_problem(raw: dict[str, str], columns: tuple[str, ...]) -> str | None:
    """Why a record's province, name, kind or sector cannot be taken as it is, if it cannot."""
    for column in columns:
        problem = value_problem(column, raw.get(column, ""))
        if problem is not None:
            return problem
    return None


def value_problem(column: str, value: str) -> str | None:
    """Why one field (``column``: province, name, kind, sector) cannot be taken as typed."""
    if _CONTROL.search(value):
        return f"the {column} holds a control character (a line break or similar)"
    if len(normalize(value)) > MAX_FIELD_CHARS:
        return f"the {column} is longer than {MAX_FIELD_CHARS} characters"
    return None


class Rejected(str):
    """Why a line's kind or sector is refused."""


# The kind or sector of a row, or the reason it is refused.
ExtraParser = Callable[[dict[str, str]], "str | Rejected | None"]


def _estate_kind(row: dict[str, str]) -> str | Rejected | None:
    kind = row.get("kind", "estate").casefold() or "estate"
    if kind not in ESTATE_KINDS:
        return Rejected(f"kind must be one of {', '.join(ESTATE_KINDS)}, not {kind!r}")
    return kind


def _cluster_sector(row: dict[str, str]) -> str | Rejected | None:
    sector = row.get("sector", "").upper() or None
    if sector is not None and sector not in SECTORS:
        return Rejected(f"unknown ISIC section {sector!r}")
    return sector


def parse(source: str | bytes, provinces: list[Province], extra: ExtraParser, *,
          max_rows: int | None = None) -> ParsedCsv:
    """Checks every line (field lengths and controls, province, empty name, kind or sector) of a
    CSV text, or of an .xlsx workbook given as bytes; touches no database. Raises
    ``ImportRefused`` (too many rows, an unreadable line, the wrong header, not a workbook)
    for the whole file."""
    parsed = ParsedCsv()
    lookup = _province_lookup(provinces)
    estates = extra is _estate_kind
    columns = ("province", "name", "kind" if estates else "sector")
    records = _xlsx_rows if isinstance(source, bytes) else _rows
    for line, raw in records(source, max_rows, columns, "sector" if estates else "kind"):  # type: ignore[arg-type]
        if COLUMNS_MISMATCH in raw:
            parsed.rejected.append((line, raw[COLUMNS_MISMATCH]))
            continue
        problem = _field_problem(raw, columns)
        if problem is not None:
            parsed.rejected.append((line, problem))
            continue
        _check(parsed, lookup, extra, line, {k: normalize(v) for k, v in raw.items()})
    return parsed


def _check(parsed: ParsedCsv, lookup: dict[str, int], extra: ExtraParser, line: int, row: dict[str, str]) -> None:
    """Accepts one normalised record into ``parsed``, or rejects it with the reason."""
    province = row.get("province", "")
    province_id = lookup.get(province.casefold()) or lookup.get(province)
    name = row.get("name", "")
    if province_id is None:
        parsed.rejected.append((line, f"unknown province {province!r}"))
        return
    if not name:
        parsed.rejected.append((line, "the name is empty"))
        return
    value = extra(row)
    if isinstance(value, Rejected):
        parsed.rejected.append((line, str(value)))
        return
    parsed.rows.append(PlaceRow(line, province_id, name, value))


def parse_estates(text: str | bytes, provinces: list[Province], *, max_rows: int | None = None) -> ParsedCsv:
    """(province, name, kind) rows; kind is estate (the default), zone or park."""
    return parse(text, provinces, _estate_kind, max_rows=max_rows)


def parse_clusters(text: str | bytes, provinces: list[Province], *, max_rows: int | None = None) -> ParsedCsv:
    """(province, name, sector) rows; sector is an ISIC section letter, or empty."""
    return parse(text, provinces, _cluster_sector, max_rows=max_rows)


async def _write(repo: Repositories, what: str, rows: list[PlaceRow]) -> list[bool]:
    values = [(r.province_id, r.name, r.extra) for r in rows]
    if what == "estates":
        return await repo.estates.add_many(values)  # type: ignore[arg-type]  # kinds are never None
    return await repo.clusters.add_many(values)


def _record(report: ImportReport, rows: list[PlaceRow], outcomes: list[bool]) -> None:
    for row, added in zip(rows, outcomes, strict=True):
        (report.added if added else report.skipped).append(row.name)


def flag_near_duplicates(
    rows: list[PlaceRow], existing: list[tuple[int, str, int]],
) -> tuple[list[PlaceRow], list[NearDuplicate]]:
    """Splits accepted rows into those to write and the near-duplicates of a stored place
    (``existing``: province, name, id) or of an earlier row. A name stored already, or on an
    earlier row, exactly, is written (and reported as already there)."""
    exact = {(province, name) for province, name, _ in existing}
    seen: dict[tuple[int, str], tuple[str, int | None, int | None]] = {}
    for province, name, place_id in existing:
        seen.setdefault((province, duplicate_key(name)), (name, place_id, None))
    kept: list[PlaceRow] = []
    near: list[NearDuplicate] = []
    for row in rows:
        key = (row.province_id, duplicate_key(row.name))
        if (row.province_id, row.name) not in exact and key in seen:
            like, like_id, like_line = seen[key]
            near.append(NearDuplicate(row.line, row.name, like, like_id, like_line))
            continue
        exact.add((row.province_id, row.name))
        seen.setdefault(key, (row.name, None, row.line))
        kept.append(row)
    return kept, near


def _parse_chunks(
    source: str | bytes, provinces: list[Province], what: str, chunk_rows: int, max_rows: int | None,
    existing: list[tuple[int, str, int]] | None = None,
) -> tuple[list[tuple[bytes, int]], list[tuple[int, str]], list[NearDuplicate]]:
    """Parses the file (in the worker process): the accepted rows in pickled chunks (with their
    number of rows) of
    ``chunk_rows`` (each unpickled by the bot just before it is written, so none holds the
    bot's GIL for long), the rejected lines, and the near-duplicates of ``existing`` places
    (province, name, id) or of earlier lines, which are not written."""
    parser = parse_estates if what == "estates" else parse_clusters
    parsed = parser(source, provinces, max_rows=max_rows)
    rows, near = flag_near_duplicates(parsed.rows, existing or [])
    chunks = [(pack(part), len(part)) for start in range(0, len(rows), chunk_rows)
              if (part := rows[start:start + chunk_rows])]
    return chunks, parsed.rejected, near


#: Told, after each chunk is written, how many accepted rows are written of how many.
Progress = Callable[[int, int], Awaitable[None]]


async def _import(db: Database, source: str | bytes, what: str, chunk_rows: int, max_rows: int | None,
                  progress: Progress | None = None) -> ImportReport:
    async with db.read() as repo:
        provinces = await repo.provinces.all()
        stored = await (repo.estates if what == "estates" else repo.clusters).every()
    existing = [(p.province_id, p.name, p.id) for p in stored]
    # Refused (``ImportRefused``) here, before the first chunk is written.
    chunks, rejected, near = await run_heavy(_parse_chunks, source, provinces, what, chunk_rows, max_rows, existing)
    report = ImportReport(rejected=rejected, near=near)
    total = sum(count for _, count in chunks)
    written = 0
    for blob, count in chunks:
        chunk: list[PlaceRow] = unpack(blob)
        async with db.transaction() as repo:
            outcomes = await _write(repo, what, chunk)
        _record(report, chunk, outcomes)
        written += count
        if progress is not None:
            await progress(written, total)
        await asyncio.sleep(0)  # the loop runs what is ready before the next chunk is written
    return report


async def import_estates(db: Database, text: str | bytes, *, chunk_rows: int = CHUNK_ROWS,
                         max_rows: int | None = None, progress: Progress | None = None) -> ImportReport:
    """Adds each (province, name, kind) row that is new (``text`` a CSV text, or an .xlsx
    workbook's bytes); reports what it did with each line, near-duplicates included.
    Opens its own transactions: do not call it inside one (see ``add_estates``). A file of
    more than ``max_rows`` records, or one the CSV reader cannot read, raises ``ImportRefused``
    and writes nothing."""
    return await _import(db, text, "estates", chunk_rows, max_rows, progress)


async def import_clusters(db: Database, text: str | bytes, *, chunk_rows: int = CHUNK_ROWS,
                          max_rows: int | None = None, progress: Progress | None = None) -> ImportReport:
    """Adds each (province, name, sector) row that is new; sector is an ISIC section letter."""
    return await _import(db, text, "clusters", chunk_rows, max_rows, progress)


async def _add(repo: Repositories, text: str, what: str) -> ImportReport:
    parser = parse_estates if what == "estates" else parse_clusters
    parsed = parser(text, await repo.provinces.all())
    report = ImportReport(rejected=parsed.rejected)
    _record(report, parsed.rows, await _write(repo, what, parsed.rows))
    return report


async def add_estates(repo: Repositories, text: str) -> ImportReport:
    """Like ``import_estates``, inside the caller's transaction, all at once: for a few rows
    (/addestate, seeding a test database), never for a file an admin sends."""
    return await _add(repo, text, "estates")


async def add_clusters(repo: Repositories, text: str) -> ImportReport:
    """Like ``import_clusters``, inside the caller's transaction (see ``add_estates``)."""
    return await _add(repo, text, "clusters")


def read_csv_file(path: Path) -> str:
    return path.read_text(encoding="utf-8-sig")


def read_import_file(path: Path) -> str | bytes:
    """A file to import: an .xlsx workbook's bytes (read by the import in the worker), else
    the CSV text (``UnicodeDecodeError`` when it is not UTF-8)."""
    data = path.read_bytes()
    if data.startswith(b"PK\x03\x04"):
        return data
    return data.decode("utf-8-sig")
