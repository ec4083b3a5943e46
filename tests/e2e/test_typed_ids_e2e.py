"""Ids are read as people type them: with Persian or Arabic digits, a #, thousands separators."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.emulator import FakeBotApi
from storage.database import Database
from tests.support.clock import TestClock
from tests.support.khooshe import ADMIN_ID, Khooshe, seed, start_khooshe, stop_khooshe

MANAGER = 5101
ESTATE = 1023


@pytest_asyncio.fixture
async def bot(api: FakeBotApi, db_path: Path) -> AsyncIterator[Khooshe]:
    async with Database(db_path) as db:
        await seed(db, open_round=True)
        async with db.transaction() as repo:
            await repo.estates.add_many([(1, f"Estate {n}", "estate") for n in range(1, 1100)])
            estate = await repo.estates.get(ESTATE)
            assert estate is not None
            await repo.access.add_manager(user_id=MANAGER, estate_id=ESTATE, by=ADMIN_ID)
    running = await start_khooshe(api, db_path, clock=TestClock(), seeded=True, tick_seconds=3600)
    yield running
    await stop_khooshe(running)


@pytest.mark.parametrize("typed", ["۱٬۰۲۳", "1,023", "#۱۰۲۳", "١٬٠٢٣"])
async def test_a_manager_opens_the_dashboard_with_the_estate_id_as_typed(bot: Khooshe, typed: str) -> None:
    async with bot.db.read() as repo:
        estate = await repo.estates.get(ESTATE)
    assert estate is not None
    manager = bot.user(MANAGER, "Mina")
    await manager.send(f"/dashboard {typed}")
    await manager.wait_for(f"داشبورد: {estate.name}")
