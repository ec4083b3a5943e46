"""The estate, all-my-estates and answers workbooks, built from a real database in the test's
thread and opened with openpyxl: header rows that stay in view and filter, readable widths,
user-supplied values as text cells, a sortable date beside each Solar Hijri one."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from openpyxl import load_workbook
from openpyxl.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet
from persiantools.jdatetime import JalaliDate

from bot.services.exports import answers_workbook, estate_workbook, estates_workbook
from bot.settings import Settings
from storage.database import Database
from tests.support.clock import TestClock
from tests.support.factories import add_firm, full_answers, submit

SETTINGS = Settings(_env_file=None, token="1:x")  # type: ignore[call-arg]
#: Firm names a spreadsheet would otherwise read as a number, a formula or a phone number.
TRICKY = ["0012", "=1+1", "+989121112233", "-5", "@SUM(A1)"]


async def world(db: Database) -> int:
    """Five firms of estate 1 with tricky names have submitted the open round; one firm in
    estate 2 has not."""
    async with db.read() as repo:
        current = await repo.rounds.open_round()
    assert current is not None
    for i, name in enumerate(TRICKY):
        firm = await add_firm(db, 9100 + i, name=name, lang="en")
        await submit(db, current.id, firm, {**full_answers(i % 3), "P3": "=HYPERLINK(\"x\")"})
    await add_firm(db, 9200, name="Quiet Firm", lang="en", estate_id=2)
    return current.id


async def estate_book(db: Database) -> Workbook:
    await world(db)
    built = await estate_workbook(db, 1, "en", SETTINGS, TestClock().now())
    assert built is not None
    return load_workbook(io.BytesIO(built.data))


async def all_book(db: Database) -> Workbook:
    await world(db)
    built = await estates_workbook(db, [1, 2], "en", SETTINGS, TestClock().now())
    assert built is not None
    return load_workbook(io.BytesIO(built.data))


def filter_ref(ws: Worksheet) -> str:
    return f"A1:{ws.cell(1, ws.max_column).column_letter}{ws.max_row}"


def header(ws: Worksheet) -> list[object]:
    return [c.value for c in ws[1]]


def column(ws: Worksheet, name: str) -> str:
    return ws.cell(1, header(ws).index(name) + 1).column_letter


@pytest.mark.parametrize("build", [estate_book, all_book])
async def test_every_sheet_keeps_its_header_row_in_view(seeded_db: Database, build: object) -> None:
    wb = await build(seeded_db)  # type: ignore[operator]
    assert {ws.title: ws.freeze_panes for ws in wb.worksheets} == {ws.title: "A2" for ws in wb.worksheets}


@pytest.mark.parametrize("build", [estate_book, all_book])
async def test_every_sheet_filters_all_its_rows_and_columns(seeded_db: Database, build: object) -> None:
    wb = await build(seeded_db)  # type: ignore[operator]
    assert {ws.title: ws.auto_filter.ref for ws in wb.worksheets} == {ws.title: filter_ref(ws) for ws in wb.worksheets}


async def test_the_estate_workbook_has_its_four_sheets(seeded_db: Database) -> None:
    wb = await estate_book(seeded_db)
    assert wb.sheetnames == ["Firms", "Pressure points", "Notes", "About"]


async def test_the_all_estates_workbook_begins_with_the_summary(seeded_db: Database) -> None:
    wb = await all_book(seeded_db)
    assert wb.sheetnames == ["Summary", "Firms", "Pressure points", "Notes", "About"]


async def test_the_summary_has_a_row_per_estate_and_the_total(seeded_db: Database) -> None:
    wb = await all_book(seeded_db)
    rows = [r[1:] for r in wb["Summary"].iter_rows(min_row=2, values_only=True)]
    # firms, submitted, in progress, not started, share submitted
    # Estates in Persian alphabetical order (estate 2, «شمس‌آباد», before estate 1, «عباس‌آباد»).
    assert rows == [(1, 0, 0, 1, 0), (5, 5, 0, 0, 100), (6, 5, 0, 1, 83.3)]


async def test_the_firm_and_note_columns_are_wide_enough_to_read(seeded_db: Database) -> None:
    wb = await estate_book(seeded_db)
    firms, notes = wb["Firms"], wb["Notes"]
    assert firms.column_dimensions[column(firms, "Firm")].width >= 30
    assert notes.column_dimensions["A"].width >= 60


@pytest.mark.parametrize("build", [estate_book, all_book])
async def test_every_header_is_bold_and_wraps_where_its_column_is_narrower(seeded_db: Database, build: object) -> None:
    wb = await build(seeded_db)  # type: ignore[operator]
    plain = [f"{ws.title}!{c.coordinate}" for ws in wb.worksheets for c in ws[1]
             if not (c.font.b and c.alignment.wrap_text)]
    assert plain == []


async def test_the_all_estates_firms_sheet_names_each_firms_estate_first(seeded_db: Database) -> None:
    wb = await all_book(seeded_db)
    firms = wb["Firms"]
    assert header(firms)[:2] == ["Estate", "Firm"]
    assert firms.column_dimensions["A"].width >= 30


async def test_firm_names_stay_text_cells_whatever_they_look_like(seeded_db: Database) -> None:
    wb = await estate_book(seeded_db)
    firms = wb["Firms"]
    cells = [row[0] for row in firms.iter_rows(min_row=2)]
    assert sorted((c.value, c.data_type) for c in cells) == sorted((name, "s") for name in TRICKY)


@pytest.mark.parametrize("name", ["National ID", "Phone"])
async def test_identifiers_stay_text_cells(seeded_db: Database, name: str) -> None:
    wb = await estate_book(seeded_db)
    firms = wb["Firms"]
    at = header(firms).index(name)
    assert {row[at].data_type for row in firms.iter_rows(min_row=2)} == {"s"}


async def test_a_note_shaped_like_a_formula_is_a_text_cell(seeded_db: Database) -> None:
    wb = await estate_book(seeded_db)
    notes = [row[0] for row in wb["Notes"].iter_rows(min_row=2)]
    assert {(c.value, c.data_type) for c in notes} == {("=HYPERLINK(\"x\")", "s")}


async def test_the_sortable_date_is_a_real_date_of_the_solar_hijri_day(seeded_db: Database) -> None:
    wb = await estate_book(seeded_db)
    firms = wb["Firms"]
    at = header(firms).index("Submitted on")
    row = next(firms.iter_rows(min_row=2, max_row=2))
    shown, sortable = row[at], row[at + 1]
    assert header(firms)[at + 1] == "Submitted on (date for sorting)"
    assert sortable.is_date and isinstance(sortable.value, datetime)
    assert shown.value == JalaliDate(sortable.value.date()).strftime("%Y/%m/%d")


async def test_the_phone_column_gives_each_firms_phone(seeded_db: Database) -> None:
    wb = await estate_book(seeded_db)
    firms = wb["Firms"]
    at = header(firms).index("Phone")
    assert {row[at] for row in firms.iter_rows(min_row=2, values_only=True)} == {"+989120000000"}


async def test_the_pressure_points_name_their_round(seeded_db: Database) -> None:
    wb = await estate_book(seeded_db)
    sheet = wb["Pressure points"]
    assert header(sheet)[-1] == "Round"
    assert {r[-1] for r in sheet.iter_rows(min_row=2, values_only=True)} == {"Autumn 1405"}


async def test_an_unpublished_round_shows_no_scores(seeded_db: Database) -> None:
    wb = await estate_book(seeded_db)
    assert "Overall score" not in header(wb["Firms"])


async def test_a_round_that_never_opened_gives_no_workbook(seeded_db: Database) -> None:
    await world(seeded_db)
    assert await estate_workbook(seeded_db, 1, "en", SETTINGS, TestClock().now(), round_id=999) is None


# --- the answers workbook -------------------------------------------------------------------


async def answers_book(db: Database) -> Workbook:
    round_id = await world(db)
    built = await answers_workbook(db, round_id, "en", SETTINGS)
    assert built is not None
    return load_workbook(io.BytesIO(built[1]))


async def test_every_answer_row_names_its_round_and_question_text(seeded_db: Database) -> None:
    wb = await answers_book(seeded_db)
    rows = {(r[1], r[3]): r for r in wb["Answers"].iter_rows(min_row=2, values_only=True)}
    assert header(wb["Answers"]) == ["Firm number", "Firm", "Round", "Question", "Question text", "Answer",
                                     "Points (0–100)"]
    _, _, round_title, _, text, answer, points = rows[("0012", "T1")]
    assert (round_title, text, answer, points) == ("Autumn 1405", "Does your business have its own website?", "No", 0)


async def test_every_answers_sheet_keeps_its_header_in_view_and_filters(seeded_db: Database) -> None:
    wb = await answers_book(seeded_db)
    assert {ws.title: (ws.freeze_panes, ws.auto_filter.ref) for ws in wb.worksheets} == {
        ws.title: ("A2", filter_ref(ws)) for ws in wb.worksheets}


async def test_the_question_text_column_is_wide_enough_to_read(seeded_db: Database) -> None:
    wb = await answers_book(seeded_db)
    sheet = wb["Answers"]
    assert sheet.column_dimensions[column(sheet, "Question text")].width >= 60
