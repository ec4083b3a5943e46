"""The dashboard and the export choose their round (the open or latest one by default, buttons
for the last few); a round that has just opened keeps the last round's pressure points and
notes in view, each row naming its round; a manager of several estates exports them all in one
workbook; /myestates shows each estate's completion with buttons."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest_asyncio
from openpyxl import load_workbook
from openpyxl.workbook import Workbook
from persiantools.jdatetime import JalaliDate

from bot.emulator import BotEvent
from tests.support.clock import TEHRAN, TEST_NOW
from tests.support.journeys import fa_digits
from tests.support.khooshe import Khooshe
from tests.support.scenarios import MANAGER, NOTE, OTHER_MANAGER

FIRST, NEW = "Autumn 1405", "Winter 1405"
ESTATE_ONE = "شهرک صنعتی عباس‌آباد"


@pytest_asyncio.fixture
async def new_round(published: tuple[Khooshe, int]) -> AsyncIterator[tuple[Khooshe, int]]:
    """The published world, and a second round opened since, which nobody has answered yet."""
    khooshe, first = published
    now = khooshe.services.clock.now()
    async with khooshe.db.transaction() as repo:
        await repo.rounds.create(title=NEW, questionnaire_version=1, opens_at=now - timedelta(hours=1),
                                 closes_at=now + timedelta(days=30), state="open")
    yield khooshe, first


def _is_document(event: BotEvent) -> bool:
    return event.is_message and event.kind == "document"


def book(doc: BotEvent) -> Workbook:
    assert doc.data is not None
    return load_workbook(io.BytesIO(doc.data))


def table(wb: Workbook, title: str) -> list[dict[str, object]]:
    header, *rows = wb[title].values
    return [dict(zip(header, row, strict=True)) for row in rows]


def today() -> str:
    return JalaliDate(TEST_NOW.astimezone(TEHRAN).date()).strftime("%Y-%m-%d")


async def dashboard_text(khooshe: Khooshe, command: str) -> str:
    manager = khooshe.user(MANAGER)
    await manager.send(command)
    first = await manager.wait_for("داشبورد")
    return "\n".join(e.text for e in [first, *await manager.settle()] if e.is_message)


async def test_a_new_round_keeps_the_last_rounds_pressure_points_on_the_dashboard(new_round: tuple[Khooshe, int]) -> None:
    text = await dashboard_text(new_round[0], "/dashboard 1")
    assert f"دوره «{NEW}»" in text
    assert f"نقاط فشار دورهٔ پیشین «{FIRST}»" in text
    assert f"قطعی برق: {fa_digits(4)} ({fa_digits(67)}٪)" in text


async def test_a_new_round_keeps_the_last_rounds_notes_on_the_dashboard(new_round: tuple[Khooshe, int]) -> None:
    text = await dashboard_text(new_round[0], "/dashboard 1")
    assert f"توضیحات بنگاه‌ها در «{FIRST}» (بی‌نام):\n• {NOTE}" in text


async def test_the_dashboard_offers_a_button_per_round_the_shown_one_ticked(new_round: tuple[Khooshe, int]) -> None:
    manager = new_round[0].user(MANAGER)
    await manager.send("/dashboard 1")
    await manager.wait_for("داشبورد")
    await manager.settle()
    last = manager.last_message()
    assert last is not None
    assert [f"✓ {NEW} (باز)", FIRST] in last.buttons


async def test_a_round_button_shows_that_round_on_the_dashboard(new_round: tuple[Khooshe, int]) -> None:
    khooshe, _ = new_round
    manager = khooshe.user(MANAGER)
    await manager.send("/dashboard 1")
    await manager.wait_for("داشبورد")
    await manager.settle()
    await manager.press(FIRST)
    first = await manager.wait_for("داشبورد")
    text = "\n".join(e.text for e in [first, *await manager.settle()] if e.is_message)
    assert f"دوره «{FIRST}» (بسته)" in text and f"ارسال‌شده: {fa_digits(6)}" in text
    assert "دورهٔ پیشین" not in text


async def test_the_dashboard_of_the_only_round_offers_no_round_buttons(published: tuple[Khooshe, int]) -> None:
    manager = published[0].user(MANAGER)
    await manager.send("/dashboard 1")
    await manager.wait_for("داشبورد")
    await manager.settle()
    last = manager.last_message()
    assert last is not None
    assert last.buttons == [["📥 خروجی اکسل", "⏰ یادآوری به پاسخ‌نداده‌ها"]]


async def test_the_export_of_a_new_round_names_the_round_of_every_pressure_point(new_round: tuple[Khooshe, int]) -> None:
    manager = new_round[0].user(MANAGER)
    await manager.send("/export 1")
    rows = table(book(await manager.wait_for(_is_document)), "نقاط فشار")
    power = [(r["تعداد بنگاه‌های گزارش‌دهنده"], r["دوره"]) for r in rows if r["مشکل"] == "قطعی برق"]
    assert power == [(4, FIRST)]


async def test_the_export_of_a_round_nobody_answered_says_so_in_one_row(new_round: tuple[Khooshe, int]) -> None:
    manager = new_round[0].user(MANAGER)
    await manager.send("/export 1")
    rows = table(book(await manager.wait_for(_is_document)), "نقاط فشار")
    assert [(r["مشکل"], r["دوره"]) for r in rows if r["دوره"] == NEW] == [
        ("در این دوره هنوز نقطه فشاری گزارش نشده است.", NEW)]


async def test_the_export_of_a_new_round_keeps_the_last_rounds_notes(new_round: tuple[Khooshe, int]) -> None:
    manager = new_round[0].user(MANAGER)
    await manager.send("/export 1")
    wb = book(await manager.wait_for(_is_document))
    assert list(wb["توضیحات"].values)[1:] == [(NOTE, FIRST)]


async def test_the_export_of_a_new_round_shows_no_score_of_another_round(new_round: tuple[Khooshe, int]) -> None:
    manager = new_round[0].user(MANAGER)
    await manager.send("/export 1")
    firms = table(book(await manager.wait_for(_is_document)), "بنگاه‌ها")
    assert "امتیاز کل" not in firms[0]
    assert {f["وضعیت پاسخ"] for f in firms} == {"شروع‌نشده"}


async def test_the_export_round_button_exports_that_round_with_its_scores(new_round: tuple[Khooshe, int]) -> None:
    khooshe, first = new_round
    manager = khooshe.user(MANAGER)
    await manager.send("/export 1")
    await manager.wait_for(_is_document)
    await manager.press(FIRST)
    doc = await manager.wait_for(_is_document)
    assert doc.file_name == f"khooshe-estate-1-round-{first}-{today()}.xlsx"
    firms = table(book(doc), "بنگاه‌ها")
    scored = [f for f in firms if f["وضعیت پاسخ"] == "ارسال‌شده"]
    assert len(scored) == 6 and all(isinstance(f["امتیاز کل"], (int, float)) for f in scored)


async def test_the_export_caption_names_its_round(new_round: tuple[Khooshe, int]) -> None:
    manager = new_round[0].user(MANAGER)
    await manager.send("/export 1")
    doc = await manager.wait_for(_is_document)
    assert f"دورهٔ «{NEW}»." in doc.text


async def test_a_round_button_of_another_managers_estate_is_refused(new_round: tuple[Khooshe, int]) -> None:
    khooshe, first = new_round
    other = khooshe.user(OTHER_MANAGER)
    await other.send("/dashboard")
    await other.wait_for("داشبورد")
    await other.settle()
    await other.press_data(f"dash:r:1:{first}")
    await other.wait_for(lambda e: e.event == "answer" and "اجازه" in e.text)
    async with khooshe.db.read() as repo:
        entries = await repo.access.audit_entries(user_id=OTHER_MANAGER)
    assert [e.target for e in entries if e.outcome == "refused"] == ["estate:1"]


async def test_a_button_for_a_round_that_is_gone_says_so(new_round: tuple[Khooshe, int]) -> None:
    manager = new_round[0].user(MANAGER)
    await manager.send("/dashboard 1")
    await manager.wait_for("داشبورد")
    await manager.settle()
    await manager.press_data("exp:r:1:999")
    await manager.wait_for("چنین دوره‌ای دیگر وجود ندارد")


# --- all my estates ---------------------------------------------------------------------------


async def export_of_all(khooshe: Khooshe) -> BotEvent:
    manager = khooshe.user(MANAGER)
    await manager.send("/export")
    await manager.wait_for("کدام شهرک")
    await manager.press("🏘 همه شهرک‌های من")
    return await manager.wait_for(_is_document)


async def test_all_my_estates_export_is_one_workbook_named_for_the_day(published: tuple[Khooshe, int]) -> None:
    doc = await export_of_all(published[0])
    assert doc.file_name == f"khooshe-my-estates-{today()}.xlsx"


async def test_all_my_estates_export_begins_with_a_summary_of_each_estate_and_the_total(
    published: tuple[Khooshe, int],
) -> None:
    khooshe, _ = published
    async with khooshe.db.read() as repo:
        two = await repo.estates.get(2)
    assert two is not None
    wb = book(await export_of_all(khooshe))
    assert wb.worksheets[0].title == "خلاصه"
    summary = [(r["شهرک/ناحیه"], r["بنگاه‌های ثبت‌شده"], r["ارسال‌شده"]) for r in table(wb, "خلاصه")]
    # Estates in Persian alphabetical order (شمس before عباس), then the total.
    assert summary == [(two.name, 1, 1), (ESTATE_ONE, 7, 6), ("همه شهرک‌های من", 8, 7)]


async def test_all_my_estates_export_names_the_estate_of_every_firm(published: tuple[Khooshe, int]) -> None:
    wb = book(await export_of_all(published[0]))
    firms = table(wb, "بنگاه‌ها")
    assert {f["بنگاه"]: f["شهرک/ناحیه"] for f in firms}["بنگاه شهرک دیگر"] != ESTATE_ONE
    assert sum(f["شهرک/ناحیه"] == ESTATE_ONE for f in firms) == 7


async def test_all_my_estates_export_withholds_a_small_estates_pressure_points(published: tuple[Khooshe, int]) -> None:
    khooshe, _ = published
    async with khooshe.db.read() as repo:
        two = await repo.estates.get(2)
    assert two is not None
    rows = table(book(await export_of_all(khooshe)), "نقاط فشار")
    small = [r for r in rows if r["شهرک/ناحیه"] == two.name]
    assert len(small) == 1 and "دست‌کم" in str(small[0]["مشکل"])


async def test_export_all_typed_in_persian_gives_the_same_workbook(published: tuple[Khooshe, int]) -> None:
    manager = published[0].user(MANAGER)
    await manager.send("/export همه")
    doc = await manager.wait_for(_is_document)
    assert doc.file_name == f"khooshe-my-estates-{today()}.xlsx"


async def test_all_my_estates_export_of_an_earlier_round_by_its_button(new_round: tuple[Khooshe, int]) -> None:
    khooshe, first = new_round
    manager = khooshe.user(MANAGER)
    await manager.send("/export all")
    await manager.wait_for(_is_document)
    await manager.press(FIRST)
    doc = await manager.wait_for(_is_document)
    assert doc.file_name == f"khooshe-my-estates-round-{first}-{today()}.xlsx"
    summary = [(r["بنگاه‌های ثبت‌شده"], r["ارسال‌شده"]) for r in table(book(doc), "خلاصه")]
    assert summary[-1] == (8, 7)


async def test_the_overview_of_all_my_estates_chooses_the_round(new_round: tuple[Khooshe, int]) -> None:
    manager = new_round[0].user(MANAGER)
    await manager.send("/dashboard all")
    first = await manager.wait_for("همه شهرک‌های من")
    assert f"دوره «{NEW}»" in first.text
    await manager.settle()
    await manager.press(FIRST)
    earlier = await manager.wait_for("همه شهرک‌های من")
    assert f"• {ESTATE_ONE}: ۶ از ۷ ارسال کرده‌اند" in earlier.text


# --- /myestates -----------------------------------------------------------------------------


async def test_my_estates_shows_each_estates_firms_and_completion(published: tuple[Khooshe, int]) -> None:
    manager = published[0].user(MANAGER)
    await manager.send("/myestates")
    reply = await manager.wait_for("شهرک‌های شما")
    assert f"#۱ «{ESTATE_ONE}»: ۶ از ۷ بنگاه ارسال کرده‌اند (۸۶٪)، ۰ در حال پاسخ" in reply.text


async def test_my_estates_button_opens_the_estates_dashboard(published: tuple[Khooshe, int]) -> None:
    manager = published[0].user(MANAGER)
    await manager.send("/myestates")
    await manager.wait_for("شهرک‌های شما")
    await manager.press(f"📊 {ESTATE_ONE}")
    dash = await manager.wait_for("داشبورد")
    assert ESTATE_ONE in dash.text


async def test_my_estates_offers_the_export_of_all_of_them(published: tuple[Khooshe, int]) -> None:
    manager = published[0].user(MANAGER)
    await manager.send("/myestates")
    await manager.wait_for("شهرک‌های شما")
    await manager.press("📥 خروجی اکسل همه")
    doc = await manager.wait_for(_is_document)
    assert doc.file_name == f"khooshe-my-estates-{today()}.xlsx"
