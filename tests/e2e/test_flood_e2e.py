"""One user flooding the bot cannot slow everyone: their excess updates are dropped with one
notice, and another owner is answered as usual."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from bot.emulator import FakeBotApi
from tests.support.khooshe import Khooshe, start_khooshe, stop_khooshe

SLOW_DOWN = "تندتر از آن می‌فرستید"


@pytest_asyncio.fixture
async def guarded(api: FakeBotApi, db_path: Path) -> AsyncIterator[Khooshe]:
    running = await start_khooshe(api, db_path, user_burst=30, user_rate=5.0)  # the defaults
    yield running
    await stop_khooshe(running)


async def test_a_flood_is_cut_to_the_rate_with_one_notice(guarded: Khooshe, api: FakeBotApi) -> None:
    flooder, owner = guarded.user(3601), guarded.user(3602)
    for _ in range(300):
        await api.push_update({"message": {"message_id": api.next_message_id(flooder.id), "date": 0,
                                           "chat": api.chat_json(flooder.id), "from": flooder.user_json(),
                                           "text": "/help"}})
    await owner.send("/start")
    await owner.wait_for("بنگاه خود را ثبت کنید")
    await flooder.settle(1.0, timeout=30)
    texts = [m.text for m in api.messages(flooder.id)]
    assert sum(SLOW_DOWN in text for text in texts) == 1
    assert len(texts) < 100  # the burst and what the rate let through, not 300 replies
