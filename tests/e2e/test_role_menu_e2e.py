"""Managers and admins find their tasks as buttons in /start; the buttons check the role on the
server like the commands; an unknown command is named, not answered with the owner's welcome."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from bot.emulator import FakeBotApi
from storage.database import Database
from tests.support.clock import TestClock
from tests.support.factories import add_firm
from tests.support.khooshe import ADMIN_ID, Khooshe, seed, start_khooshe, stop_khooshe

MANAGER = 4901
OWNER_PITCH = "ابتدا بنگاه خود را ثبت کنید"
NARROW_DOWN = "گیرندگان را محدودتر کنید"


@pytest_asyncio.fixture
async def bot(api: FakeBotApi, db_path: Path) -> AsyncIterator[Khooshe]:
    async with Database(db_path) as db:
        await seed(db, open_round=True)
        async with db.transaction() as repo:
            await repo.access.add_manager(user_id=MANAGER, estate_id=1, by=ADMIN_ID)
    running = await start_khooshe(api, db_path, clock=TestClock(), seeded=True, tick_seconds=3600)
    yield running
    await stop_khooshe(running)


async def test_a_manager_starts_on_their_tasks_not_on_the_owner_welcome(bot: Khooshe) -> None:
    manager = bot.user(MANAGER, "Mina")
    await manager.send("/start")
    menu = await manager.wait_for("کارهای شما")
    assert "📊 داشبورد" in [label for row in menu.buttons for label in row]
    assert OWNER_PITCH not in menu.text


async def test_the_dashboard_button_opens_the_managers_estate(bot: Khooshe) -> None:
    manager = bot.user(MANAGER, "Mina")
    await manager.send("/start")
    await manager.wait_for("کارهای شما")
    await manager.press("📊 داشبورد")
    await manager.wait_for("داشبورد:")


async def test_the_broadcast_button_starts_a_broadcast(bot: Khooshe) -> None:
    await add_firm(bot.db, 4950, estate_id=1)  # someone to send it to: an empty audience has no way forward
    manager = bot.user(MANAGER, "Mina")
    await manager.send("/start")
    await manager.wait_for("کارهای شما")
    await manager.press("📣 پیام همگانی تازه")
    await manager.wait_for(NARROW_DOWN)


async def test_a_removed_manager_pressing_an_old_task_button_is_refused(bot: Khooshe) -> None:
    manager = bot.user(MANAGER, "Mina")
    await manager.send("/start")
    menu = await manager.wait_for("کارهای شما")
    async with bot.db.transaction() as repo:
        await repo.access.remove_manager(user_id=MANAGER, estate_id=1)
    await manager.press("📊 داشبورد", message=menu.message_id)
    refusal = await manager.wait_for(lambda e: e.event == "answer")
    assert "اجازه" in refusal.text
    assert not [e for e in await manager.settle(0.3) if e.is_message and "داشبورد:" in e.text]


async def test_an_admin_finds_the_national_statistics_in_the_menu(bot: Khooshe) -> None:
    admin = bot.user(ADMIN_ID, "Admin")
    await admin.send("/start")
    await admin.wait_for("کارهای شما")
    await admin.press("📈 آمار کشوری")
    await admin.wait_for(lambda e: e.is_message and "📈 آمار کشوری" in e.text)


async def test_an_owner_sees_no_tasks(bot: Khooshe) -> None:
    owner = bot.user(4902)
    await owner.send("/start")
    menu = await owner.wait_for(OWNER_PITCH)
    assert "کارهای شما" not in menu.text


async def test_an_unknown_command_is_named_with_a_pointer_to_help(bot: Khooshe) -> None:
    owner = bot.user(4903)
    await owner.send("/dashbord")
    reply = await owner.wait_for("/help")
    assert "/dashbord" in reply.text
    assert OWNER_PITCH not in reply.text
