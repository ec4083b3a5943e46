"""Importing estates and clusters from CSV: a line-by-line report, normalisation, idempotence,
and writes in short chunks that let other writers in."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import pytest

from bot.services.places_import import (
    CHUNK_ROWS,
    ImportReport,
    WrongColumns,
    import_clusters,
    import_estates,
    read_csv_file,
)
from storage.database import Database

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"

TEHRAN, ALBORZ, ISFAHAN, BUSHEHR, RAZAVI, KHUZESTAN, FARS, KERMAN, YAZD = 8, 5, 4, 7, 11, 13, 17, 21, 31

ESTATES_CSV = "\n".join([
    "\ufeffprovince,name,kind",           # 1: header, with a byte-order mark
    "تهران,شهرک صنعتی الف,estate",         # 2: added
    "Tehran,شهرک صنعتی الف,estate",        # 3: the same estate by the English province name: skipped
    "ناکجاآباد,شهرک ب,estate",             # 4: unknown province
    "اصفهان,,estate",                      # 5: empty name
    "فارس,منطقه ویژه ج,harbour",           # 6: bad kind
    "يزد,شهرك صنعتي يزد,zone",             # 7: Arabic ي/ك everywhere: added, in Persian spelling
    "یزد,شهرک صنعتی یزد,estate",           # 8: the same name typed in Persian: skipped
    "",                                    # 9: a blank line, ignored but counted
    "8,پارک فناوری,park",                  # 10: province by id: added
    "البرز,  شهرک   صنعتی د ,",            # 11: empty kind means estate; spaces collapsed: added
    "Isfahan,شهرک صنعتی ه,ZONE",           # 12: kind is case-insensitive: added
]) + "\n"


async def run_estates(db: Database, text: str) -> ImportReport:
    return await import_estates(db, text)


async def run_clusters(db: Database, text: str) -> ImportReport:
    return await import_clusters(db, text)


async def test_estate_report_line_by_line(db: Database) -> None:
    report = await run_estates(db, ESTATES_CSV)
    assert report.added == [
        "شهرک صنعتی الف", "شهرک صنعتی یزد", "پارک فناوری", "شهرک صنعتی د", "شهرک صنعتی ه",
    ]
    assert report.skipped == ["شهرک صنعتی الف", "شهرک صنعتی یزد"]
    assert [line for line, _ in report.rejected] == [4, 5, 6]
    reasons = dict(report.rejected)
    assert "unknown province" in reasons[4] and "ناکجاآباد" in reasons[4]
    assert "name is empty" in reasons[5]
    assert "harbour" in reasons[6]


async def test_estates_are_stored_normalised(db: Database) -> None:
    await run_estates(db, ESTATES_CSV)
    async with db.read() as repo:
        yazd = await repo.estates.in_province(YAZD)
        tehran = await repo.estates.in_province(TEHRAN)
        alborz = await repo.estates.in_province(ALBORZ)
        isfahan = await repo.estates.in_province(ISFAHAN)
        total = await repo.estates.count()
    assert [(e.name, e.kind) for e in yazd] == [("شهرک صنعتی یزد", "zone")]
    assert sorted((e.name, e.kind) for e in tehran) == [
        ("شهرک صنعتی الف", "estate"), ("پارک فناوری", "park"),
    ]
    assert [(e.name, e.kind) for e in alborz] == [("شهرک صنعتی د", "estate")]
    assert [(e.name, e.kind) for e in isfahan] == [("شهرک صنعتی ه", "zone")]
    assert total == 5


async def test_estate_import_is_idempotent(db: Database) -> None:
    first = await run_estates(db, ESTATES_CSV)
    second = await run_estates(db, ESTATES_CSV)
    assert second.added == []
    assert sorted(second.skipped) == sorted(first.added + first.skipped)
    assert second.rejected == first.rejected
    async with db.read() as repo:
        assert await repo.estates.count() == len(first.added)


async def test_summary_lists_rejected_lines(db: Database) -> None:
    report = await run_estates(db, ESTATES_CSV)
    lines = report.summary().splitlines()
    assert lines[0] == "added 5, skipped 2 (already there), rejected 3"
    assert [line.split(":")[0].strip() for line in lines[1:]] == ["line 4", "line 5", "line 6"]


async def test_header_names_are_case_and_bom_insensitive(db: Database) -> None:
    report = await run_estates(db, "\ufeffProvince, Name ,KIND\nقم,شهرک صنعتی شکوهیه,estate\n")
    assert report.added == ["شهرک صنعتی شکوهیه"]
    assert report.rejected == []


async def test_empty_text_imports_nothing(db: Database) -> None:
    report = await run_estates(db, "")
    assert (report.added, report.skipped, report.rejected) == ([], [], [])


async def test_cluster_import(db: Database) -> None:
    text = "\n".join([
        "\ufeffprovince,name,sector",
        "کرمان,خوشه پسته رفسنجان,c",         # 2: section letter case-insensitive: added as C
        "Kerman,خوشه پسته رفسنجان,C",        # 3: duplicate: skipped
        "کرمان,خوشه بی‌بخش,",                # 4: no sector is allowed: added
        "کرمان,خوشه عجیب,ZZ",                # 5: unknown ISIC section
        "Atlantis,خوشه,C",                   # 6: unknown province
        "فارس,,C",                           # 7: empty name
        "فارس,خوشه گل محمدي,A",              # 8: Arabic ي normalised: added
    ]) + "\n"
    report = await run_clusters(db, text)
    assert report.added == ["خوشه پسته رفسنجان", "خوشه بی‌بخش", "خوشه گل محمدی"]
    assert report.skipped == ["خوشه پسته رفسنجان"]
    assert [line for line, _ in report.rejected] == [5, 6, 7]
    async with db.read() as repo:
        kerman = {c.name: c.sector for c in await repo.clusters.in_province(KERMAN)}
        fars = {c.name: c.sector for c in await repo.clusters.in_province(FARS)}
    assert kerman == {"خوشه پسته رفسنجان": "C", "خوشه بی‌بخش": None}
    assert fars == {"خوشه گل محمدی": "A"}

    again = await run_clusters(db, text)
    assert again.added == []
    assert len(again.skipped) == 4


async def test_read_csv_file_drops_the_bom(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_bytes("\ufeffprovince,name\r\nتهران,الف\r\n".encode("utf-8"))
    assert read_csv_file(path).startswith("province,name")


def data_rows(path: Path) -> int:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return sum(1 for row in csv.DictReader(fh) if row)


async def test_shipped_sample_estates_load_cleanly(db: Database) -> None:
    path = SAMPLE / "estates.csv"
    report = await run_estates(db, read_csv_file(path))
    assert report.rejected == []
    assert len(report.added) == data_rows(path)
    async with db.read() as repo:
        provinces = {
            pid for pid in range(1, 32) if await repo.estates.in_province(pid)
        }
    assert {TEHRAN, ALBORZ, ISFAHAN, RAZAVI, FARS, BUSHEHR, KHUZESTAN, KERMAN} <= provinces
    assert len(provinces) >= 8
    again = await run_estates(db, read_csv_file(path))
    assert again.added == [] and again.rejected == []


async def test_shipped_sample_clusters_load_cleanly(db: Database) -> None:
    path = SAMPLE / "clusters.csv"
    report = await run_clusters(db, read_csv_file(path))
    assert report.rejected == []
    assert len(report.added) == data_rows(path)


def big_estates_csv(rows: int, bad_every: int) -> tuple[str, list[int]]:
    """``rows`` data lines, every ``bad_every``-th with an unknown province; returns the text
    and the line numbers that must be rejected."""
    lines, bad = ["province,name,kind"], []
    for i in range(rows):
        line = i + 2
        if i % bad_every == bad_every - 1:
            lines.append(f"Atlantis,شهرک {i},estate")
            bad.append(line)
        else:
            lines.append(f"{1 + i % 31},شهرک صنعتی {i},estate")
    return "\n".join(lines) + "\n", bad


async def test_import_larger_than_one_chunk_imports_every_line(db: Database) -> None:
    rows = 3 * CHUNK_ROWS + 17
    text, bad = big_estates_csv(rows, bad_every=97)
    report = await run_estates(db, text)
    assert len(report.added) == rows - len(bad)
    assert report.skipped == []
    assert [line for line, _ in report.rejected] == bad
    assert all("Atlantis" in why for _, why in report.rejected)
    async with db.read() as repo:
        assert await repo.estates.count() == rows - len(bad)
    again = await run_estates(db, text)
    assert again.added == [] and len(again.skipped) == rows - len(bad)


async def test_a_duplicate_in_a_later_chunk_is_skipped(db: Database) -> None:
    first = "تهران,شهرک صنعتی تکراری,estate"
    text = "\n".join(["province,name,kind", first, *(f"قم,شهرک {i},estate" for i in range(CHUNK_ROWS)), first])
    report = await run_estates(db, text)
    assert report.skipped == ["شهرک صنعتی تکراری"]
    assert len(report.added) == CHUNK_ROWS + 1


async def test_other_writers_get_in_between_the_chunks_of_an_import(db: Database) -> None:
    rows = 4 * CHUNK_ROWS
    text, _ = big_estates_csv(rows, bad_every=rows + 1)
    seen: list[int] = []
    importing = asyncio.create_task(run_estates(db, text))

    async def firm_writes() -> None:
        while not importing.done():
            async with db.transaction() as repo:
                seen.append(await repo.estates.count())
            await asyncio.sleep(0)

    await asyncio.gather(importing, firm_writes())
    # A write went through with part of the file stored: it did not wait for the whole import.
    assert any(0 < n < rows for n in seen), seen
    assert len(importing.result().added) == rows


async def test_a_file_without_its_header_is_refused_whole(db: Database) -> None:
    with pytest.raises(WrongColumns) as refused:
        await run_estates(db, "تهران,شهرک صنعتی الف,estate\n")
    assert (refused.value.reason, refused.value.header) == ("no_header", "province,name,kind")
    async with db.read() as repo:
        assert await repo.estates.count() == 0


async def test_a_clusters_file_is_never_imported_as_estates(db: Database) -> None:
    with pytest.raises(WrongColumns) as refused:
        await run_estates(db, "province,name,sector\nتهران,خوشه پوشاک,C\n")
    assert refused.value.reason == "other_kind"


async def test_semicolons_separate_the_fields_too(db: Database) -> None:
    report = await run_estates(db, "province;name;kind\nتهران;شهرک صنعتی الف;estate\n")
    assert report.added == ["شهرک صنعتی الف"] and report.rejected == []


async def test_a_line_with_a_missing_or_an_extra_field_is_rejected_with_its_number(db: Database) -> None:
    report = await run_estates(db, "province,name,kind\nتهران,شهرک صنعتی الف\nتهران,شهرک صنعتی ب,estate,x\nتهران,شهرک صنعتی ج,estate\n")
    assert report.added == ["شهرک صنعتی ج"]
    assert report.rejected == [(2, "has 2 fields; the header has 3"), (3, "has 4 fields; the header has 3")]
