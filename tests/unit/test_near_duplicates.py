"""Near-duplicate place names: a name that differs from one of its province's only in spelling
(space or ZWNJ, آ/ا, ی/ي, ک/ك, ة/ه, diacritics, the words «شهرک», «ناحیه», «صنعتی») is held back,
when added one at a time and in an import; xlsx files import like CSV files."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import Workbook

from bot.services.places import PlacesService
from bot.services.places_import import (
    NotAWorkbook,
    TooManyRows,
    WrongColumns,
    duplicate_key,
    import_clusters,
    import_estates,
    near_duplicates,
    read_import_file,
)
from storage.database import Database

ADMIN = 1
TEHRAN = 8
STORED = "شهرک صنعتی عباس‌آباد"


@pytest.mark.parametrize("variant", [
    "شهرک صنعتی عباس آباد",      # a space for the ZWNJ
    "شهرک صنعتی عباسآباد",       # neither
    "شهرک صنعتی عباس‌اباد",       # ا for آ
    "شهرك صنعتي عباس‌آباد",       # Arabic ك and ي
    "شهرک صنعتی عبّاس‌آباد",      # a shadda
    "ناحیه صنعتی عباس‌آباد",      # another generic word
    "عباس‌آباد",                  # none of them
])
def test_a_name_spelled_another_way_is_a_near_duplicate(variant: str) -> None:
    assert near_duplicates(variant, [(3, STORED)]) == [(3, STORED)]


def test_teh_marbuta_and_heh_are_one_letter() -> None:
    assert duplicate_key("شهرک صنعتی فاطمة") == duplicate_key("شهرک صنعتی فاطمه")


def test_another_name_is_no_near_duplicate() -> None:
    assert near_duplicates("شهرک صنعتی عباس‌آباد ۲", [(3, STORED)]) == []


def test_the_same_name_is_no_near_duplicate_but_already_there() -> None:
    assert near_duplicates(STORED, [(3, STORED)]) == []


async def test_a_near_duplicate_is_added_only_anyway(db: Database) -> None:
    places = PlacesService(db)
    first = await places.add(ADMIN, "estates", "تهران", STORED, "estate")
    held = await places.add(ADMIN, "estates", "تهران", "عباس آباد", "estate")
    assert (held.new_id, held.similar) == (None, ((first.new_id, STORED),))
    forced = await places.add(ADMIN, "estates", "تهران", "عباس آباد", "estate", anyway=True)
    assert forced.new_id is not None


async def test_a_near_duplicate_in_another_province_is_added(db: Database) -> None:
    places = PlacesService(db)
    await places.add(ADMIN, "estates", "تهران", STORED, "estate")
    added = await places.add(ADMIN, "estates", "البرز", "عباس آباد", "estate")
    assert added.new_id is not None


async def test_an_import_reports_near_duplicates_instead_of_adding_them(db: Database) -> None:
    stored = await PlacesService(db).add(ADMIN, "estates", "تهران", STORED, "estate")
    text = "\n".join([
        "province,name,kind",
        "تهران,عباس آباد,estate",                 # 2: like the stored one
        "تهران,شهرک صنعتی پرند,estate",            # 3: added
        "تهران,ناحیه صنعتی پرند,zone",             # 4: like line 3
        "تهران,شهرک صنعتی پرند,estate",            # 5: line 3 exactly: already there
    ]) + "\n"
    report = await import_estates(db, text)
    assert report.added == ["شهرک صنعتی پرند"]
    assert report.skipped == ["شهرک صنعتی پرند"]
    assert [(d.line, d.like, d.like_id, d.like_line) for d in report.near] == [
        (2, STORED, stored.new_id, None), (4, "شهرک صنعتی پرند", None, 3)]
    async with db.read() as repo:
        assert await repo.estates.count() == 2


def workbook(*rows: tuple[object, ...]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_an_xlsx_file_imports_like_a_csv_file(db: Database) -> None:
    data = workbook(("province", "name", "sector"), ("کرمان", "خوشه پسته رفسنجان", "C"), (None, None, None),
                    (TEHRAN, "خوشه پوشاک", None), ("Atlantis", "خوشه", "C"))
    report = await import_clusters(db, data)
    assert report.added == ["خوشه پسته رفسنجان", "خوشه پوشاک"]
    assert [line for line, _ in report.rejected] == [5]


async def test_an_xlsx_row_with_a_cell_too_many_is_rejected_with_its_number(db: Database) -> None:
    report = await import_estates(db, workbook(("province", "name", "kind"), ("تهران", "شهرک صنعتی الف", "estate", "x")))
    assert report.rejected == [(2, "has 4 fields; the header has 3")]


async def test_an_xlsx_clusters_file_is_never_imported_as_estates(db: Database) -> None:
    with pytest.raises(WrongColumns) as refused:
        await import_estates(db, workbook(("province", "name", "sector"), ("تهران", "خوشه پوشاک", "C")))
    assert refused.value.reason == "other_kind"


async def test_an_xlsx_file_past_the_row_limit_is_refused_whole(db: Database) -> None:
    rows = [("تهران", f"شهرک {i}", "estate") for i in range(4)]
    with pytest.raises(TooManyRows):
        await import_estates(db, workbook(("province", "name", "kind"), *rows), max_rows=3)
    async with db.read() as repo:
        assert await repo.estates.count() == 0


async def test_a_file_that_is_no_workbook_is_refused(db: Database) -> None:
    with pytest.raises(NotAWorkbook):
        await import_estates(db, b"PK\x03\x04 not really a zip")


async def test_the_command_line_reads_a_workbook_as_a_workbook(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "estates.xlsx"
    path.write_bytes(workbook(("province", "name", "kind"), ("تهران", "شهرک صنعتی الف", "estate")))
    report = await import_estates(db, read_import_file(path))
    assert report.added == ["شهرک صنعتی الف"]
