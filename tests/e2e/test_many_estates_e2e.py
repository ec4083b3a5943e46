"""A manager of several estates sees them all side by side and nudges them all in one step."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from bot.emulator import FakeBotApi
from storage.database import Database
from tests.support.factories import add_firm, full_answers, submit
from tests.support.khooshe import ADMIN_ID, Khooshe, seed, start_khooshe, stop_khooshe

MANAGER = 7101
IN_ONE = [7111, 7112, 7113]  # estate 1: one has submitted
IN_TWO = [7121, 7122]  # estate 2: nobody has


@pytest_asyncio.fixture
async def two_estates(api: FakeBotApi, db_path: Path) -> AsyncIterator[Khooshe]:
    async with Database(db_path) as db:
        await seed(db)
        for uid in IN_ONE:
            await add_firm(db, uid, estate_id=1)
        for uid in IN_TWO:
            await add_firm(db, uid, estate_id=2)
        async with db.transaction() as repo:
            current = await repo.rounds.open_round()
            assert current is not None
            firm = await repo.firms.by_owner(IN_ONE[0])
            assert firm is not None
            for estate in (1, 2):
                await repo.access.add_manager(user_id=MANAGER, estate_id=estate, by=ADMIN_ID)
        await submit(db, current.id, firm.id, full_answers(1))
    for uid in (*IN_ONE, *IN_TWO):
        api.user(uid)
    running = await start_khooshe(api, db_path, seeded=True)
    yield running
    await stop_khooshe(running)


async def estate_names(khooshe: Khooshe) -> tuple[str, str]:
    async with khooshe.db.read() as repo:
        one, two = await repo.estates.get(1), await repo.estates.get(2)
    assert one is not None and two is not None
    return one.name, two.name


async def test_all_my_estates_shows_each_estates_completion_and_the_total(two_estates: Khooshe) -> None:
    one, two = await estate_names(two_estates)
    manager = two_estates.user(MANAGER)
    await manager.send("/dashboard")
    await manager.wait_for("کدام شهرک")
    await manager.press("🏘 همه شهرک‌های من")
    overview = await manager.wait_for("همه شهرک‌های من (۲)")
    assert f"• {one}: ۱ از ۳ ارسال کرده‌اند (۳۳٪)، ۰ در حال پاسخ، ۲ شروع‌نکرده" in overview.text
    assert f"• {two}: ۰ از ۲ ارسال کرده‌اند (۰٪)، ۰ در حال پاسخ، ۲ شروع‌نکرده" in overview.text
    assert "در مجموع: ۱ از ۵ بنگاه خودارزیابی را ارسال کرده‌اند (۲۰٪)." in overview.text
    assert [f"📊 {one}"] in overview.buttons and [f"📊 {two}"] in overview.buttons


async def test_one_press_nudges_the_non_responders_of_every_estate(two_estates: Khooshe) -> None:
    manager = two_estates.user(MANAGER)
    await manager.send("/dashboard all")
    await manager.wait_for("همه شهرک‌های من")
    await manager.press("⏰ یادآوری به پاسخ‌نداده‌های همه شهرک‌ها")
    done = await manager.wait_for("یادآوری برای")
    assert "۴ بنگاهِ پاسخ‌نداده در ۲ شهرک" in done.text
    await two_estates.drain()
    reminded = [uid for uid in (*IN_ONE, *IN_TWO) if any("یادآوری" in m.text for m in two_estates.api.messages(uid))]
    assert reminded == [*IN_ONE[1:], *IN_TWO]


async def test_a_second_nudge_of_all_the_same_day_names_the_estates_already_reminded(two_estates: Khooshe) -> None:
    one, two = await estate_names(two_estates)
    manager = two_estates.user(MANAGER)
    await manager.send("/nudge all")
    await manager.wait_for("یادآوری برای")
    await manager.send("/nudge همه")  # the word in Persian works too
    again = await manager.wait_for("امروز قبلاً به این شهرک‌ها یادآوری فرستاده شده است")
    assert one in again.text and two in again.text
    assert "اکنون در شهرک‌های شما کسی برای یادآوری نیست" in again.text
