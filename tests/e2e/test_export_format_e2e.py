"""Workbooks people can use: a header row that stays in view and filters, columns wide enough to
read, Solar Hijri dates with a sortable twin, file names with the Solar Hijri day, and an answers
sheet with every answer and its points."""

from __future__ import annotations

import io
from datetime import datetime

from openpyxl import load_workbook
from openpyxl.workbook import Workbook
from persiantools.jdatetime import JalaliDate

from bot.emulator import BotEvent
from tests.support.clock import TEHRAN, TEST_NOW
from tests.support.khooshe import ADMIN_ID, Khooshe
from tests.support.scenarios import MANAGER, NOTE, OWNERS


def _is_document(event: BotEvent) -> bool:
    return event.is_message and event.kind == "document"


async def estate_export(khooshe: Khooshe) -> BotEvent:
    manager = khooshe.user(MANAGER)
    await manager.send("/export 1")
    return await manager.wait_for(_is_document)


async def national_export(khooshe: Khooshe) -> BotEvent:
    admin = khooshe.user(ADMIN_ID)
    await admin.send("/exportall")
    return await admin.wait_for(_is_document, timeout=20)


def book(doc: BotEvent) -> Workbook:
    assert doc.data is not None
    return load_workbook(io.BytesIO(doc.data))


async def test_every_estate_sheet_keeps_its_header_row_in_view(published: tuple[Khooshe, int]) -> None:
    wb = book(await estate_export(published[0]))
    assert {ws.title: ws.freeze_panes for ws in wb.worksheets} == {ws.title: "A2" for ws in wb.worksheets}


async def test_the_estate_firms_sheet_filters_every_row_and_column(published: tuple[Khooshe, int]) -> None:
    firms = book(await estate_export(published[0])).worksheets[0]
    assert firms.auto_filter.ref == f"A1:{firms.cell(1, firms.max_column).column_letter}{firms.max_row}"
    assert firms.max_row == 1 + 7  # six firms that answered and one that did not


async def test_the_firm_name_column_is_wide_enough_to_read(published: tuple[Khooshe, int]) -> None:
    firms = book(await estate_export(published[0])).worksheets[0]
    assert firms.cell(1, 1).value == "بنگاه"
    assert firms.column_dimensions["A"].width >= 30


async def test_a_solar_hijri_date_comes_with_a_sortable_date_beside_it(published: tuple[Khooshe, int]) -> None:
    firms = book(await estate_export(published[0])).worksheets[0]
    header = [c.value for c in firms[1]]
    text_col = header.index("تاریخ ثبت‌نام")
    assert header[text_col + 1] == "تاریخ ثبت‌نام (تاریخ برای مرتب‌سازی)"
    row = [c.value for c in firms[2]]
    shown, sortable = row[text_col], row[text_col + 1]
    assert isinstance(sortable, datetime)
    fa = str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")
    assert shown.translate(fa) == JalaliDate(sortable.date()).strftime("%Y/%m/%d")


async def test_the_estate_file_name_carries_the_solar_hijri_day(published: tuple[Khooshe, int]) -> None:
    doc = await estate_export(published[0])
    day = JalaliDate(TEST_NOW.astimezone(TEHRAN).date()).strftime("%Y-%m-%d")
    assert doc.file_name == f"khooshe-estate-1-{day}.xlsx"


async def test_the_national_file_name_carries_the_solar_hijri_day(published: tuple[Khooshe, int]) -> None:
    doc = await national_export(published[0])
    day = JalaliDate(TEST_NOW.astimezone(TEHRAN).date()).strftime("%Y-%m-%d")
    assert doc.file_name == f"khooshe-all-{day}.xlsx"


async def answers_export(khooshe: Khooshe, command: str = "/exportanswers") -> BotEvent:
    admin = khooshe.user(ADMIN_ID)
    await admin.send(command)
    return await admin.wait_for(_is_document, timeout=20)


def answers_of(wb: Workbook, firm_name: str) -> dict[str, tuple[str, float | None]]:
    sheet = wb["پاسخ به سؤال‌ها"]
    header, *rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert header == ["شماره بنگاه", "بنگاه", "دوره", "سؤال", "متن سؤال", "پاسخ", "امتیاز (۰ تا ۱۰۰)"]
    return {r[3]: (r[5], r[6]) for r in rows if r[1] == firm_name}


async def test_the_answers_export_holds_each_answer_with_its_points(published: tuple[Khooshe, int]) -> None:
    wb = book(await answers_export(published[0]))
    strongest = answers_of(wb, f"بنگاه شماره {OWNERS[2]}")  # full_answers(2)
    assert strongest["T1"] == ("بله", 100.0)
    assert strongest["T8"] == ("۴۰٪", 40.0)
    assert len(strongest) == 27  # every question a manufacturer answers but the free-text note


async def test_the_answers_export_leaves_the_notes_out(published: tuple[Khooshe, int]) -> None:
    wb = book(await answers_export(published[0]))
    assert NOTE not in {c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row}


async def test_the_answers_export_names_its_round_in_the_file_name(published: tuple[Khooshe, int]) -> None:
    khooshe, round_id = published
    doc = await answers_export(khooshe, f"/exportanswers {round_id}")
    day = JalaliDate(TEST_NOW.astimezone(TEHRAN).date()).strftime("%Y-%m-%d")
    assert doc.file_name == f"khooshe-answers-round-{round_id}-{day}.xlsx"


async def test_the_answers_export_of_an_unknown_round_says_so(published: tuple[Khooshe, int]) -> None:
    admin = published[0].user(ADMIN_ID)
    await admin.send("/exportanswers 999")
    await admin.wait_for("دوره‌ای با این شماره")


async def test_the_estate_export_gives_its_managers_each_firms_phone(published: tuple[Khooshe, int]) -> None:
    firms = book(await estate_export(published[0])).worksheets[0]
    header, *rows = [[c.value for c in r] for r in firms.iter_rows()]
    phones = {r[0]: r[header.index("تلفن همراه")] for r in rows}
    assert phones[f"بنگاه شماره {OWNERS[0]}"] == "+989120000000"


async def test_the_national_export_offers_every_answer_with_one_button(published: tuple[Khooshe, int]) -> None:
    khooshe, round_id = published
    admin = khooshe.user(ADMIN_ID)
    await national_export(khooshe)
    await admin.press("📄", await admin.wait_for("فایل اکسل جداگانه"))
    doc = await admin.wait_for(_is_document, timeout=20)
    day = JalaliDate(TEST_NOW.astimezone(TEHRAN).date()).strftime("%Y-%m-%d")
    assert doc.file_name == f"khooshe-answers-round-{round_id}-{day}.xlsx"
    assert len(answers_of(book(doc), f"بنگاه شماره {OWNERS[2]}")) == 27
