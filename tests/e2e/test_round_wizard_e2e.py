"""The guided /newround and /editround, and a broadcast's sending time from buttons: an admin
follows one question per message, dates are echoed back with their weekday, a wrong input keeps
the step, /cancel leaves at every step, and nothing is created until «✅ ساختن دوره»."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest_asyncio

from bot.emulator import BotEvent, FakeBotApi
from bot.emulator.client import FakeUser
from storage.database import Database
from storage.models import Round
from tests.support.clock import TestClock
from tests.support.factories import add_firm, tehran
from tests.support.khooshe import ADMIN_ID, Khooshe, seed, start_khooshe, stop_khooshe

# The test clock's day is Tuesday 1405/09/10, 10:00 Tehran time.
TITLE = "دور زمستان ۱۴۰۵"


@pytest_asyncio.fixture
async def khooshe(api: FakeBotApi, db_path: Path) -> AsyncIterator[Khooshe]:
    async with Database(db_path) as db:
        await seed(db, open_round=False)
        await add_firm(db, 6101)
    api.user(6101)
    running = await start_khooshe(api, db_path, clock=TestClock(), seeded=True, tick_seconds=3600)
    yield running
    await stop_khooshe(running)


@pytest_asyncio.fixture
async def two_rounds(api: FakeBotApi, db_path: Path) -> AsyncIterator[Khooshe]:
    """An open round (Autumn 1405, closing 1405/10/10) and one scheduled after it."""
    async with Database(db_path) as db:
        await seed(db, open_round=True)
        async with db.transaction() as repo:
            await repo.rounds.create(title="Winter 1405", questionnaire_version=1, opens_at=tehran("1405/10/15 08:00"),
                                     closes_at=tehran("1405/10/30 23:59"), state="scheduled")
    running = await start_khooshe(api, db_path, clock=TestClock(), seeded=True, tick_seconds=3600)
    yield running
    await stop_khooshe(running)


async def all_rounds(khooshe: Khooshe) -> list[Round]:
    async with khooshe.db.read() as repo:
        return await repo.rounds.all()


async def round_of(khooshe: Khooshe, round_id: int) -> Round:
    async with khooshe.db.read() as repo:
        found = await repo.rounds.get(round_id)
    assert found is not None
    return found


def has_button(text: str) -> Callable[[BotEvent], bool]:
    return lambda e: e.is_message and any(text in b for row in e.buttons for b in row)


async def to_opening(admin: FakeUser) -> None:
    await admin.send("/newround")
    await admin.wait_for("گام ۱ از ۵")
    await admin.send(TITLE)
    await admin.wait_for("کی باز شود")


async def test_guided_new_round_from_title_to_creation(khooshe: Khooshe) -> None:
    admin = khooshe.user(ADMIN_ID, "Admin")
    await to_opening(admin)
    await admin.send("۱۴۰۵/۰۹/۱۵")  # Persian digits; the time defaults to 08:00
    echo = await admin.wait_for("درست است؟")
    assert "یکشنبه ۱۵ آذر ۱۴۰۵، ساعت ۰۸:۰۰" in echo.text
    await admin.press("✅ درست است")
    await admin.wait_for("کی بسته شود")
    await admin.press("دو هفته بعد")  # two weeks after the opening day
    await admin.wait_for("کدام نسخهٔ پرسش‌نامه")
    await admin.press("نسخهٔ ۱")
    weights = await admin.wait_for("وزن هر محور")
    assert "فناوری، استاندارد و کیفیت، صادرات، نوآوری و رقابت‌پذیری" in weights.text
    await admin.send("۲ ۱ ۱ ۱")
    summary = await admin.wait_for("لطفاً دورهٔ تازه را بررسی کنید")
    assert summary.buttons == [["✅ ساختن دوره", "❌ انصراف"]]
    for shown in (TITLE, "یکشنبه ۱۵ آذر ۱۴۰۵، ساعت ۰۸:۰۰", "یکشنبه ۲۹ آذر ۱۴۰۵، ساعت ۲۳:۵۹", "نسخهٔ ۱", "فناوری ۲"):
        assert shown in summary.text
    assert await all_rounds(khooshe) == []
    await admin.press("✅ ساختن دوره")
    await admin.wait_for("ایجاد شد")
    [created] = await all_rounds(khooshe)
    assert (created.title, created.state, created.questionnaire_version) == (TITLE, "scheduled", 1)
    assert (created.opens_at, created.closes_at) == (tehran("1405/09/15 08:00"), tehran("1405/09/29 23:59"))
    assert created.weights == {"tech": 2.0, "quality": 1.0, "export": 1.0, "innovation": 1.0}


async def test_guided_new_round_opening_now_with_equal_weights(khooshe: Khooshe) -> None:
    admin = khooshe.user(ADMIN_ID, "Admin")
    await to_opening(admin)
    await admin.press("همین حالا")
    await admin.wait_for("کی بسته شود")
    await admin.press("یک ماه بعد")
    await admin.press("نسخهٔ ۲", await admin.wait_for("کدام نسخهٔ پرسش‌نامه"))
    await admin.press("وزن‌های برابر", await admin.wait_for("وزن هر محور"))
    summary = await admin.wait_for("لطفاً دورهٔ تازه را بررسی کنید")
    assert "بی‌درنگ باز می‌شود" in summary.text
    await admin.press("✅ ساختن دوره")
    await admin.wait_for("باز شد و به بنگاه‌ها اطلاع داده می‌شود")
    [created] = await all_rounds(khooshe)
    assert (created.state, created.questionnaire_version, created.weights) == ("open", 2, None)
    assert created.closes_at == tehran("1405/10/10 23:59")


async def test_a_wrong_date_says_what_is_expected_and_the_step_stays(khooshe: Khooshe) -> None:
    admin = khooshe.user(ADMIN_ID, "Admin")
    await to_opening(admin)
    await admin.send("پنجشنبه")
    await admin.wait_for("یک تاریخ شمسی مانند ۱۴۰۵/۰۹/۱۵ بفرستید")
    await admin.send("1405/09/05")  # already past
    await admin.wait_for("این زمان گذشته است")
    await admin.send("٢٠٢٦/١٢/٢٠")  # Gregorian, in Arabic digits
    await admin.wait_for("به تاریخ میلادی می‌ماند")
    await admin.send("1405/09/20 09:30")  # the step is still the opening
    echo = await admin.wait_for("درست است؟")
    assert "جمعه ۲۰ آذر ۱۴۰۵، ساعت ۰۹:۳۰" in echo.text
    await admin.press("✅ درست است")
    await admin.wait_for("کی بسته شود")
    await admin.send("1405/09/18")  # before the opening
    await admin.wait_for("بعد از زمان آغاز")
    await admin.send("سلام")
    await admin.wait_for("یک تاریخ شمسی مانند ۱۴۰۵/۰۹/۱۵ بفرستید")
    await admin.press("یک هفته بعد")
    await admin.wait_for("کدام نسخهٔ پرسش‌نامه")
    await admin.send("نسخه یک")  # a choice: only the buttons will do
    await admin.wait_for("یکی از دکمه‌های بالا را بزنید")
    await admin.press("نسخهٔ ۱")
    await admin.wait_for("وزن هر محور")
    await admin.send("1,1,1")
    await admin.wait_for("۴ عدد نامنفی بفرستید")
    await admin.send("۱ ۱ ۱ ۱")
    summary = await admin.wait_for("لطفاً دورهٔ تازه را بررسی کنید")
    assert "جمعه ۲۷ آذر ۱۴۰۵، ساعت ۲۳:۵۹" in summary.text
    assert await all_rounds(khooshe) == []


async def test_cancel_at_every_step_creates_nothing(khooshe: Khooshe) -> None:
    admin = khooshe.user(ADMIN_ID, "Admin")
    steps = [("/newround", "گام ۱ از ۵"), (TITLE, "کی باز شود"), ("1405/09/15", "درست است؟"),
             ("press:✅ درست است", "کی بسته شود"), ("press:دو هفته بعد", "کدام نسخهٔ پرسش‌نامه"),
             ("press:نسخهٔ ۱", "وزن هر محور"), ("۱ ۱ ۱ ۱", "لطفاً دورهٔ تازه را بررسی کنید")]
    for depth in range(1, len(steps) + 1):
        for action, reply in steps[:depth]:
            if action.startswith("press:"):
                await admin.press(action.removeprefix("press:"))
            else:
                await admin.send(action)
            await admin.wait_for(reply)
        await admin.send("/cancel")
        await admin.wait_for("متوقف شد؛ هیچ دوره‌ای ساخته یا تغییر داده نشد")
    await admin.send("1405/09/15")  # no longer a step's answer: the menu
    await admin.wait_for(lambda e: e.is_message and "متوقف شد" not in e.text)
    assert await all_rounds(khooshe) == []


async def test_the_cancel_button_leaves_too(khooshe: Khooshe) -> None:
    admin = khooshe.user(ADMIN_ID, "Admin")
    await to_opening(admin)
    await admin.press("❌ انصراف")
    await admin.wait_for("متوقف شد")
    assert await all_rounds(khooshe) == []


async def test_the_one_line_form_still_works(khooshe: Khooshe) -> None:
    admin = khooshe.user(ADMIN_ID, "Admin")
    await admin.send("/newround")
    await admin.wait_for("گام ۱ از ۵")
    # An expert's one line, even in the middle of the guided steps.
    await admin.send("/newround دور بهار | 1405/10/01 | 1405/10/20")
    await admin.press("✅ ایجاد", await admin.wait_for("تأیید کنید"))
    await admin.wait_for("ایجاد شد")
    [created] = await all_rounds(khooshe)
    assert created.title == "دور بهار"


async def test_a_firm_owner_cannot_start_the_guided_round(khooshe: Khooshe) -> None:
    owner = khooshe.user(6101)
    await owner.send("/newround")
    await owner.wait_for("فقط برای مدیران")
    await owner.send("/editround")
    await owner.wait_for("فقط برای مدیران")


async def test_guided_edit_of_a_scheduled_round_closing_date(two_rounds: Khooshe) -> None:
    khooshe = two_rounds
    admin = khooshe.user(ADMIN_ID, "Admin")
    await admin.send("/editround")
    picker = await admin.wait_for("کدام دوره را می‌خواهید تغییر دهید")
    assert picker.buttons == [["#۲ «Winter 1405» — زمان‌بندی‌شده"], ["#۱ «Autumn 1405» — باز"], ["❌ انصراف"]]
    await admin.press("Winter 1405")
    fields = await admin.wait_for(has_button("📅 تاریخ پایان"))
    assert fields.buttons == [["📝 عنوان", "📅 تاریخ آغاز"], ["📅 تاریخ پایان", "⚖️ وزن‌ها"], ["❌ انصراف"]]
    await admin.press("📅 تاریخ پایان")
    await admin.wait_for("کی بسته شود")
    await admin.send("۱۴۰۵/۱۱/۲۰")
    echo = await admin.wait_for("درست است؟")
    assert "سه‌شنبه ۲۰ بهمن ۱۴۰۵، ساعت ۲۳:۵۹" in echo.text
    await admin.press("✅ درست است")
    confirm = await admin.wait_for("تغییر کند؟")
    assert "اکنون: چهارشنبه ۳۰ دی ۱۴۰۵، ساعت ۲۳:۵۹" in confirm.text
    assert "جدید: سه‌شنبه ۲۰ بهمن ۱۴۰۵، ساعت ۲۳:۵۹" in confirm.text
    await admin.press("✅ ذخیره")
    await admin.wait_for("دوره به‌روز شد")
    winter = await round_of(khooshe, 2)
    assert (winter.title, winter.closes_at) == ("Winter 1405", tehran("1405/11/20 23:59"))


async def test_guided_rename_of_the_open_round(two_rounds: Khooshe) -> None:
    khooshe = two_rounds
    admin = khooshe.user(ADMIN_ID, "Admin")
    await admin.send("/editround")
    await admin.press("Autumn 1405", await admin.wait_for("کدام دوره را می‌خواهید تغییر دهید"))
    note = await admin.wait_for("فقط عنوانش را می‌توان تغییر داد")
    assert "/extend" in note.text
    fields = await admin.wait_for(has_button("📝 عنوان"))
    assert fields.buttons == [["📝 عنوان"], ["❌ انصراف"]]
    await admin.press("📝 عنوان")
    await admin.wait_for("عنوان تازه را بفرستید")
    await admin.send("پاییز ۱۴۰۵")
    confirm = await admin.wait_for("تغییر کند؟")
    assert "اکنون: Autumn 1405" in confirm.text and "جدید: پاییز ۱۴۰۵" in confirm.text
    await admin.press("✅ ذخیره")
    await admin.wait_for("دوره به‌روز شد")
    autumn = await round_of(khooshe, 1)
    assert (autumn.title, autumn.state) == ("پاییز ۱۴۰۵", "open")


async def test_guided_edit_cancelled_changes_nothing(two_rounds: Khooshe) -> None:
    khooshe = two_rounds
    admin = khooshe.user(ADMIN_ID, "Admin")
    await admin.send("/editround")
    await admin.press("Winter 1405", await admin.wait_for("کدام دوره را می‌خواهید تغییر دهید"))
    await admin.press("⚖️ وزن‌ها", await admin.wait_for(has_button("⚖️ وزن‌ها")))
    await admin.wait_for("وزن هر محور")
    await admin.send("/cancel")
    await admin.wait_for("متوقف شد")
    assert (await round_of(khooshe, 2)).weights is None


async def test_a_broadcast_is_scheduled_with_a_button(two_rounds: Khooshe) -> None:
    khooshe = two_rounds
    await add_firm(khooshe.db, 6201)
    admin = khooshe.user(ADMIN_ID, "Admin")
    await admin.send("/broadcast")
    await admin.press_data("bc:all", await admin.wait_for("چه کسانی آن را دریافت کنند"))
    await admin.press_data("bc:go", await admin.wait_for("بنگاه‌هایی که آن را می‌گیرند: ۱"))
    await admin.wait_for("حالا اطلاعیه را بفرستید")
    await admin.send("آب فردا قطع است")
    await admin.press_data("bc:sched", await admin.wait_for("همین حالا بفرستم یا زمان‌بندی کنم"))
    when = await admin.wait_for("کی فرستاده شود")
    assert when.buttons[0] == ["🚀 همین حالا"]
    await admin.press("فردا ساعت ۹ · چهارشنبه ۱۱ آذر")
    scheduled = await admin.wait_for("زمان‌بندی شد")
    assert "چهارشنبه ۱۱ آذر ۱۴۰۵، ساعت ۰۹:۰۰" in scheduled.text
    async with khooshe.db.read() as repo:
        [broadcast] = await repo.broadcasts.recent(created_by=None)
    assert broadcast.send_at == tehran("1405/09/11 09:00")


async def test_a_sticker_in_a_step_gets_one_line_and_the_step_stays(khooshe: Khooshe) -> None:
    admin = khooshe.user(ADMIN_ID, "Admin")
    await to_opening(admin)
    await admin.send_sticker()
    await admin.wait_for("لطفاً با متن یا دکمه‌های بالا پاسخ دهید")
    await admin.press("فردا")
    opening = await admin.wait_for("کی بسته شود")
    assert opening.buttons[0][0] == "یک هفته بعد · چهارشنبه ۱۸ آذر"


async def test_nothing_to_edit_says_so(khooshe: Khooshe) -> None:
    admin = khooshe.user(ADMIN_ID, "Admin")
    await admin.send("/editround")
    await admin.wait_for("اکنون دوره‌ای برای ویرایش نیست")
    await admin.send("1405/09/15")  # not in a conversation: the menu, not an edit
    reply = await admin.wait_for(lambda e: e.is_message)
    assert "درست است؟" not in reply.text


async def test_an_english_admin_reads_the_echo_in_english(khooshe: Khooshe) -> None:
    admin = khooshe.user(ADMIN_ID, "Admin", language_code="en")
    await admin.send("/newround")
    await admin.wait_for("Step 1 of 5")
    await admin.send("Winter 1405")
    await admin.send("1405/09/15 10:00")
    echo = await admin.wait_for("is that right?")
    assert "Sunday 15 Azar 1405 at 10:00" in echo.text


async def test_the_rounds_list_offers_the_guided_flows(two_rounds: Khooshe) -> None:
    admin = two_rounds.user(ADMIN_ID, "Admin")
    await admin.send("/rounds")
    listing = await admin.wait_for("Autumn 1405")
    assert listing.buttons == [["🆕 دورهٔ تازه", "✏️ تغییر یک دوره"]]
    await admin.press("✏️ تغییر یک دوره")
    await admin.wait_for("کدام دوره را می‌خواهید تغییر دهید")
    await admin.send("/rounds")
    await admin.press("🆕 دورهٔ تازه", await admin.wait_for("Autumn 1405"))
    await admin.wait_for("گام ۱ از ۵")
