"""Rounds run themselves: an admin schedules one, it opens on time, firms are announced to and
reminded only where and when due, and nothing is sent twice across a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from bot.emulator import FakeBotApi
from storage.database import Database
from tests.support.clock import TestClock
from tests.support.factories import add_firm, full_answers, submit, tehran
from tests.support.khooshe import ADMIN_ID, Khooshe, seed, start_khooshe, stop_khooshe

START = "1405/09/08 10:00"  # a Sunday morning in Tehran


@pytest_asyncio.fixture
async def scheduled(api: FakeBotApi, db_path: Path) -> AsyncIterator[Khooshe]:
    clock = TestClock()
    clock.set(tehran(START))
    async with Database(db_path) as db:
        await seed(db, open_round=False)
        await add_firm(db, 4001, name="بنگاه الف")
        await add_firm(db, 4002, name="بنگاه ب")
        await add_firm(db, 4003, name="بنگاه ج", muted=True)
        await add_firm(db, 4004, name="Firm D", lang="en")
    for uid in (4001, 4002, 4003, 4004):
        api.user(uid)  # they wrote to the bot when they registered, so their chats exist
    running = await start_khooshe(api, db_path, clock=clock, seeded=True, tick_seconds=3600)
    yield running
    await stop_khooshe(running)


def texts(khooshe: Khooshe, user_id: int) -> list[str]:
    return [m.text for m in khooshe.api.messages(user_id)]


def count(khooshe: Khooshe, user_id: int, needle: str) -> int:
    return sum(needle in text for text in texts(khooshe, user_id))


async def test_admin_round_opens_on_time_and_reminders_follow_the_rules(scheduled: Khooshe) -> None:
    khooshe, clock = scheduled, scheduled.services.clock
    assert isinstance(clock, TestClock)
    admin = khooshe.user(ADMIN_ID, "Admin")
    owner = khooshe.user(4001)

    # A firm owner cannot create a round; the admin can, after confirming the echoed dates.
    await owner.send("/newround دور آزمایشی | 1405/09/09 09:00 | 1405/09/21 20:00")
    await owner.wait_for("فقط برای مدیران")
    await admin.send("/newround دور پاییز ۱۴۰۵ | ۱۴۰۵/۰۹/۰۹ ۰۹:۰۰ | 1405/09/21 20:00")
    echo = await admin.wait_for("تأیید کنید")
    assert "۱۴۰۵/۰۹/۰۹ ۰۹:۰۰" in echo.text and "۱۴۰۵/۰۹/۲۱ ۲۰:۰۰" in echo.text
    await owner.send("/start")
    await owner.wait_for("بنگاه الف")
    await owner.press_data(echo.button_data[0][0] or "")  # forged press by someone else
    await owner.wait_for(lambda e: e.event == "answer" and "فقط برای مدیران" in e.text)
    await admin.press("✅ ایجاد")
    await admin.wait_for("ایجاد شد")
    await khooshe.drain()
    assert count(khooshe, 4001, "📣") == 0  # not open yet

    clock.set(tehran("1405/09/09 08:59"))
    assert (await khooshe.tick()).opened == []
    clock.set(tehran("1405/09/09 09:01"))
    assert len((await khooshe.tick()).opened) == 1
    for uid in (4001, 4002, 4003):  # the muted firm still gets the announcement
        assert count(khooshe, uid, "📣") == 1
    assert count(khooshe, 4004, "is open until") == 1  # in English for the English reader
    async with khooshe.db.read() as repo:
        current = await repo.rounds.open_round()
    assert current is not None

    # Firm ب submits; firm الف starts a draft and leaves it.
    async with khooshe.db.read() as repo:
        firm_b = await repo.firms.by_owner(4002)
        firm_a = await repo.firms.by_owner(4001)
    assert firm_a is not None and firm_b is not None
    await submit(khooshe.db, current.id, firm_b.id, full_answers(1))
    await submit(khooshe.db, current.id, firm_a.id, {"T1": "yes", "T2": "no", "T3": ["social"]}, status="draft")

    # 48 hours later the untouched draft is nudged once ("11% done": 3 of 28).
    clock.set(tehran("1405/09/11 09:05"))
    await khooshe.tick()
    assert count(khooshe, 4001, "۱۱٪") == 1
    await khooshe.tick()
    assert count(khooshe, 4001, "۱۱٪") == 1

    # 7 days before closing (Saturday 20:00): reminders to those who have not submitted and
    # have not muted reminders.
    clock.set(tehran("1405/09/14 20:00"))
    await khooshe.tick()
    assert count(khooshe, 4001, "⏰") == 1 and count(khooshe, 4004, "⏰") == 1
    assert count(khooshe, 4002, "⏰") == 0  # submitted
    assert count(khooshe, 4003, "⏰") == 0  # muted

    # 3 days before (Wednesday 20:00), but the bot only looks at 22:00: quiet hours hold it
    # until Thursday 08:00.
    clock.set(tehran("1405/09/18 22:00"))
    await khooshe.tick()
    assert count(khooshe, 4001, "⏰") == 1
    clock.set(tehran("1405/09/19 07:59"))
    await khooshe.tick()
    assert count(khooshe, 4001, "⏰") == 1
    clock.set(tehran("1405/09/19 08:00"))
    await khooshe.tick()
    assert count(khooshe, 4001, "⏰") == 2

    # A restart in between neither loses nor repeats anything.
    settings_db = khooshe.db.path
    await stop_khooshe(khooshe)
    restarted = await start_khooshe(khooshe.api, settings_db, clock=clock, seeded=True, tick_seconds=3600)
    try:
        await restarted.tick()
        assert count(restarted, 4001, "⏰") == 2 and count(restarted, 4001, "📣") == 1

        # 1 day before falls on Friday evening: held until Saturday 08:00.
        clock.set(tehran("1405/09/20 20:30"))
        await restarted.tick()
        assert count(restarted, 4001, "⏰") == 2
        clock.set(tehran("1405/09/21 08:01"))
        await restarted.tick()
        assert count(restarted, 4001, "⏰") == 3
        assert count(restarted, 4003, "⏰") == 0

        # Closing time passes: the round closes and is scored.
        clock.set(tehran("1405/09/21 20:01"))
        report = await restarted.tick()
        assert report.closed == [current.id]
        async with restarted.db.read() as repo:
            closed = await repo.rounds.get(current.id)
            scored = await repo.scores.count(current.id)
        assert closed is not None and closed.state == "closed" and closed.scored_at is not None
        assert scored == 1  # only firm ب submitted
    finally:
        await stop_khooshe(restarted)
