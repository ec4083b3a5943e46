"""Role changes show who they are about and ask first; the person concerned is told; the
confirming press is checked on the server like the command."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from bot.emulator import FakeBotApi
from storage.database import Database
from tests.support.clock import TestClock
from tests.support.factories import add_firm
from tests.support.khooshe import ADMIN_ID, Khooshe, seed, start_khooshe, stop_khooshe

MANAGER = 5201
OWNER = 5202


@pytest_asyncio.fixture
async def bot(api: FakeBotApi, db_path: Path) -> AsyncIterator[Khooshe]:
    async with Database(db_path) as db:
        await seed(db, open_round=False)
        await add_firm(db, OWNER, name="Zarrin Kimia")
        async with db.transaction() as repo:
            await repo.access.add_manager(user_id=MANAGER, estate_id=1, by=ADMIN_ID)
    running = await start_khooshe(api, db_path, clock=TestClock(), seeded=True, tick_seconds=3600)
    yield running
    await stop_khooshe(running)


async def estate_name(bot: Khooshe, estate_id: int) -> str:
    async with bot.db.read() as repo:
        estate = await repo.estates.get(estate_id)
    assert estate is not None
    return estate.name


async def managed(bot: Khooshe, user_id: int) -> list[int]:
    async with bot.db.read() as repo:
        return await repo.access.managed_estates(user_id)


async def test_promote_names_the_person_and_their_firm_before_anything_changes(bot: Khooshe) -> None:
    admin = bot.user(ADMIN_ID, "Admin")
    await admin.send(f"/promote {OWNER}")
    prompt = await admin.wait_for("مدیر سامانه شود؟")
    assert "Zarrin Kimia" in prompt.text
    async with bot.db.read() as repo:
        assert OWNER not in await repo.access.promoted_admins()


async def test_removing_a_manager_is_confirmed_and_the_manager_is_told(bot: Khooshe) -> None:
    admin, manager = bot.user(ADMIN_ID, "Admin"), bot.user(MANAGER, "Mina")
    name = await estate_name(bot, 1)
    await admin.send(f"/removemanager {MANAGER}")
    prompt = await admin.wait_for("دیگر مدیر")
    assert name in prompt.text
    await admin.press("✅ تأیید")
    await admin.wait_for("دیگر مدیر ۱ شهرک")
    told = await manager.wait_for("دیگر در خوشه مدیر")
    assert name in told.text
    assert await managed(bot, MANAGER) == []


async def test_cancel_leaves_the_roles_as_they_were(bot: Khooshe) -> None:
    admin = bot.user(ADMIN_ID, "Admin")
    await admin.send(f"/removemanager {MANAGER}")
    await admin.wait_for("دیگر مدیر")
    await admin.press("✖️ لغو")
    await admin.wait_for("چیزی تغییر نکرد")
    assert await managed(bot, MANAGER) == [1]


async def test_a_forged_confirmation_by_a_non_admin_is_refused(bot: Khooshe) -> None:
    manager = bot.user(MANAGER, "Mina")
    await manager.send("/start")
    menu = await manager.wait_for("کارهای شما")
    await manager.press_data(f"rl:promote:{MANAGER}:", message=menu.message_id)
    refusal = await manager.wait_for(lambda e: e.event == "answer")
    assert "مدیران سامانه" in refusal.text
    async with bot.db.read() as repo:
        assert MANAGER not in await repo.access.promoted_admins()


async def test_admins_lists_the_admins_and_the_blocked_users(bot: Khooshe) -> None:
    admin = bot.user(ADMIN_ID, "Admin")
    async with bot.db.transaction() as repo:
        await repo.access.block(user_id=OWNER, by=ADMIN_ID)
    await admin.send("/admins")
    listing = await admin.wait_for("کاربران مسدود")
    assert "طبق پیکربندی" in listing.text
    assert "Zarrin Kimia" in listing.text.split("کاربران مسدود")[1]
