"""An admin's guided flow survives a restart and a SIGKILL: what they gave it is not asked again,
and a flow that ended is not brought back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from bot.emulator import FakeBotApi
from bot.emulator.client import FakeUser
from storage.database import Database
from storage.models import Round
from tests.support.bot_process import BotProcess, wait_until_polling
from tests.support.clock import TestClock
from tests.support.factories import add_firm, tehran
from tests.support.khooshe import ADMIN_ID, Khooshe, chose_language_earlier, seed, start_khooshe, stop_khooshe

TITLE = "دور زمستان ۱۴۰۵"
FIRM_OWNER = 6201


async def all_marked_handled(db_path: Path) -> None:
    """Waits until the bot has recorded every update so far as handled (a tenth of a second
    after the last one): what a crash after that loses is what these tests look at."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while True:
        async with Database(db_path) as db, db.read() as repo:
            if not await repo.inbox.count_unhandled():
                return
        assert loop.time() < deadline, "the bot never recorded the updates as handled"
        await asyncio.sleep(0.05)


async def rounds_in(db_path: Path) -> list[Round]:
    async with Database(db_path) as db, db.read() as repo:
        return await repo.rounds.all()


@pytest_asyncio.fixture
async def seeded(db_path: Path) -> Path:
    async with Database(db_path) as db:
        await seed(db, open_round=False)
        await add_firm(db, FIRM_OWNER)
    return db_path


@pytest_asyncio.fixture
async def admin_process(api: FakeBotApi, seeded: Path, tmp_path: Path) -> AsyncIterator[BotProcess]:
    """``python -m bot`` with an admin who reads English, on a database with one firm, already polling."""
    async with Database(seeded) as db:
        await chose_language_earlier(db, ADMIN_ID, "en")
    process = BotProcess(api, seeded, tmp_path / "bot.log", KHOOSHE_ADMINS=str(ADMIN_ID))
    process.start()
    await wait_until_polling(api)
    yield process
    process.stop()


async def restarted(running: Khooshe, api: FakeBotApi, db_path: Path) -> Khooshe:
    await stop_khooshe(running)
    return await started(api, db_path)


async def started(api: FakeBotApi, db_path: Path) -> Khooshe:
    return await start_khooshe(api, db_path, clock=TestClock(), seeded=True, tick_seconds=3600)


async def new_round_titled(running: Khooshe) -> FakeUser:
    """The admin begins /newround and gives the title; the opening is asked next."""
    admin = running.user(ADMIN_ID, "Admin", language_code="fa")
    await admin.send("/newround")
    await admin.wait_for("گام ۱ از ۵")
    await admin.send(TITLE)
    return admin


async def test_a_round_being_set_up_goes_on_after_a_restart(api: FakeBotApi, seeded: Path) -> None:
    running = await started(api, seeded)
    try:
        admin = await new_round_titled(running)
        await admin.wait_for("کی باز شود")
        await admin.send("۱۴۰۵/۰۹/۱۵")
        await admin.wait_for("درست است؟")
        await admin.press("✅ درست است")
        closing = await admin.wait_for("کی بسته شود")

        running = await restarted(running, api, seeded)
        # The closing-day buttons shown before the restart still belong to this round.
        await admin.press("دو هفته بعد", closing)
        await admin.press("نسخهٔ ۱", await admin.wait_for("کدام نسخهٔ پرسش‌نامه"))
        await admin.send("۲ ۱ ۱ ۱")
        summary = await admin.wait_for("لطفاً دورهٔ تازه را بررسی کنید")
        assert TITLE in summary.text and "یکشنبه ۱۵ آذر ۱۴۰۵، ساعت ۰۸:۰۰" in summary.text
        await admin.press("✅ ساختن دوره")
        await admin.wait_for("ایجاد شد")
    finally:
        await stop_khooshe(running)
    [created] = await rounds_in(seeded)
    assert (created.title, created.opens_at, created.closes_at) == (
        TITLE, tehran("1405/09/15 08:00"), tehran("1405/09/29 23:59"))


async def test_a_finished_flow_is_not_brought_back_by_a_restart(api: FakeBotApi, seeded: Path) -> None:
    running = await started(api, seeded)
    try:
        admin = await new_round_titled(running)
        await admin.press("همین حالا", await admin.wait_for("کی باز شود"))
        await admin.press("یک ماه بعد", await admin.wait_for("کی بسته شود"))
        await admin.press("نسخهٔ ۲", await admin.wait_for("کدام نسخهٔ پرسش‌نامه"))
        await admin.press("وزن‌های برابر", await admin.wait_for("وزن هر محور"))
        summary = await admin.wait_for("لطفاً دورهٔ تازه را بررسی کنید")
        assert summary.reply_markup is not None
        create = summary.reply_markup["inline_keyboard"][0][0]["callback_data"]
        await admin.press("✅ ساختن دوره", summary)
        await admin.wait_for("باز شد و به بنگاه‌ها اطلاع داده می‌شود")

        running = await restarted(running, api, seeded)
        # The create button pressed again (a second client, or a tap that was still on its way).
        await admin.press_data(create, summary.message_id)
        await admin.wait_for(lambda e: e.event == "answer")
        await admin.settle()
        # Text typed now is not taken as a title for a round nobody is setting up.
        await admin.send("دور بهار ۱۴۰۶")
        await admin.settle()
    finally:
        await stop_khooshe(running)
    assert [r.title for r in await rounds_in(seeded)] == [TITLE]
    assert not any("گام ۲ از ۵" in m.text for m in api.messages(ADMIN_ID))


async def test_a_broadcast_being_composed_survives_a_sigkill(api: FakeBotApi, admin_process: BotProcess) -> None:
    admin = api.user(ADMIN_ID, "Admin", language_code="en")
    firm = api.user(FIRM_OWNER)
    notice = "Power will be off on Thursday from 8 to 12."
    await admin.send("/broadcast")
    await admin.wait_for("Who should receive it")
    await admin.press("All firms")
    await admin.wait_for("Firms that will receive it: 1")
    await admin.press("Continue")
    await admin.wait_for("Now send the notice")
    await admin.send(notice)
    await admin.wait_for("It will go to")
    await all_marked_handled(Path(admin_process.env["KHOOSHE_DB"]))

    admin_process.kill()
    admin_process.start()
    await wait_until_polling(api)
    await admin.press("Send now")
    await admin.wait_for("is on its way", timeout=20)
    delivered = await firm.wait_for(notice, timeout=20)
    assert delivered.is_message
