"""A bulk message the Bot API answered 502 after storing it may have arrived: the sender sees it
counted as uncertain, in Persian, in the list of broadcasts.

Telegram profile only: delivery and the list are the same code on both platforms."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.delivery.keys import broadcast_prefix
from bot.emulator import FakeBotApi
from tests.support.broadcast_drill import prepare, queue_broadcast
from tests.support.clock import TEST_NOW, TestClock
from tests.support.khooshe import ADMIN_ID, Khooshe, start_khooshe, stop_khooshe

pytestmark = pytest.mark.platforms("telegram")

FIRMS = 4


@pytest_asyncio.fixture
async def bulk(api: FakeBotApi, db_path: Path) -> AsyncIterator[Khooshe]:
    """The bot with FIRMS registered firms and a Persian-speaking admin."""
    owners = await prepare(db_path, FIRMS)
    running = await start_khooshe(api, db_path, clock=TestClock(TEST_NOW), seeded=True, tick_seconds=3600,
                                  send_rate=150.0)
    async with running.db.transaction() as repo:
        await repo.conn.execute("UPDATE users SET language = 'fa' WHERE id = ?", (ADMIN_ID,))
    running.services.languages.pop(ADMIN_ID, None)
    for uid in owners:
        api.user(uid)
    yield running
    await stop_khooshe(running)


async def test_the_list_of_broadcasts_counts_sends_answered_502_after_acting_as_uncertain(
    bulk: Khooshe, api: FakeBotApi, db_path: Path,
) -> None:
    admin = bulk.user(ADMIN_ID, "Admin")
    api.error_rate_5xx_after = 1.0
    broadcast_id = await queue_broadcast(db_path, TEST_NOW)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while True:
        async with bulk.db.read() as repo:
            counts = await repo.broadcasts.delivery_counts(broadcast_prefix(broadcast_id))
        if counts.get("uncertain", 0) == FIRMS:
            break
        assert loop.time() < deadline, counts
        await asyncio.sleep(0.05)
    api.error_rate_5xx_after = 0.0
    await admin.settle()
    await admin.send("/broadcasts")
    listed = await admin.wait_for("گیرندگان ۴: رسیده ۰")  # the list, not the broadcast's own report
    assert "نامعلوم (شاید رسیده باشد؛ دوباره فرستاده نمی‌شود): ۴" in listed.text


async def test_the_broadcasts_final_report_counts_them_as_uncertain_in_persian(
    bulk: Khooshe, api: FakeBotApi, db_path: Path,
) -> None:
    admin = bulk.user(ADMIN_ID, "Admin")
    api.error_rate_5xx_after = 1.0
    await queue_broadcast(db_path, TEST_NOW)
    report = await admin.wait_for("به پایان رسید", timeout=30)
    assert "نامعلوم (شاید رسیده باشد؛ دوباره فرستاده نمی‌شود): ۴" in report.text
