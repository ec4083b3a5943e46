"""Bulk delivery on a slow or faulty Bot API: several sends in flight at once, still one at a
time per chat; a broadcast reaches each firm exactly once; a send the server may have acted on
before failing (a 502 after acting) is never repeated, and the sender's report counts it.

Telegram profile only: delivery is the same code on both platforms, and the fake's latency makes
each run take seconds."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from bot.emulator import FakeBotApi
from tests.support.broadcast_drill import NOTICE, prepare, queue_broadcast
from tests.support.clock import TEST_NOW, TestClock
from tests.support.khooshe import ADMIN_ID, Khooshe, start_khooshe, stop_khooshe

pytestmark = pytest.mark.platforms("telegram")

FIRMS = 40
RATE = 150.0  # the send rate, scaled up 5× from Telegram's so the tests stay short
SLOW = (0.2, 0.4)  # seconds per request, as the drill measured
FINISHED = "is finished"  # in the broadcast's report to the admin (English)


class InFlightApi(FakeBotApi):
    """The fake Bot API, counting the sendMessage calls under way at once (from the request's
    arrival to its answer), overall and per chat, for the chats in ``watched``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.watched: set[int] = set()
        self._now: Counter[int] = Counter()
        self.most_at_once = 0
        self.most_per_chat: Counter[int] = Counter()

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["method"].lower() != "sendmessage":
            return await super()._handle(request)
        chat = (await request.post()).get("chat_id", "")
        chat_id = int(chat) if isinstance(chat, str) and chat.lstrip("-").isdigit() else 0
        if chat_id not in self.watched:
            return await super()._handle(request)
        self._now[chat_id] += 1
        self.most_at_once = max(self.most_at_once, sum(self._now.values()))
        self.most_per_chat[chat_id] = max(self.most_per_chat[chat_id], self._now[chat_id])
        try:
            return await super()._handle(request)
        finally:
            self._now[chat_id] -= 1


@pytest_asyncio.fixture
async def api() -> AsyncIterator[InFlightApi]:
    async with InFlightApi() as server:
        yield server


@pytest_asyncio.fixture
async def bulk(api: InFlightApi, db_path: Path) -> AsyncIterator[tuple[Khooshe, list[int]]]:
    """The bot with FIRMS registered firms, the admin (English) and nothing queued yet."""
    owners = await prepare(db_path, FIRMS)
    api.user(ADMIN_ID, "Admin", language_code="en")
    for uid in owners:
        api.user(uid)
    api.watched = set(owners)
    running = await start_khooshe(api, db_path, clock=TestClock(TEST_NOW), seeded=True, tick_seconds=3600,
                                  send_rate=RATE)
    yield running, owners
    await stop_khooshe(running)


async def until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def final_report(api: FakeBotApi) -> str | None:
    """The broadcast's report, sent to the admin as a message of its own once it is done."""
    found = [m.text for m in api.messages(ADMIN_ID) if FINISHED in m.text and m.edit_date is None]
    return found[-1] if found else None


async def broadcast(khooshe: Khooshe, db_path: Path) -> str:
    """Queues a broadcast to every firm, due now, and waits for its report."""
    await queue_broadcast(db_path, TEST_NOW)
    await until(lambda: final_report(khooshe.api) is not None, "the broadcast's report")
    report = final_report(khooshe.api)
    assert report is not None
    return report


async def test_on_a_slow_api_several_bulk_sends_are_in_flight_at_once(
    bulk: tuple[Khooshe, list[int]], api: InFlightApi, db_path: Path,
) -> None:
    khooshe, _ = bulk
    api.latency = SLOW
    await broadcast(khooshe, db_path)
    # At 150/s the pacer starts all of them well within one round trip, and never more than that.
    assert api.most_at_once == khooshe.settings.send_concurrency


async def test_on_a_slow_api_a_broadcast_reaches_each_firm_exactly_once(
    bulk: tuple[Khooshe, list[int]], api: InFlightApi, db_path: Path,
) -> None:
    khooshe, owners = bulk
    api.latency = SLOW
    report = await broadcast(khooshe, db_path)
    assert {uid: [m.text for m in api.messages(uid)] for uid in owners} == {uid: [NOTICE] for uid in owners}
    assert f"Delivered: {FIRMS}" in report


async def test_one_chats_messages_go_out_one_at_a_time_in_order(
    bulk: tuple[Khooshe, list[int]], api: InFlightApi,
) -> None:
    khooshe, owners = bulk
    api.latency = SLOW
    first, others = owners[0], owners[1:]
    async with khooshe.db.transaction() as repo:
        for n in (1, 2, 3):
            await repo.outbox.add(kind="text", dedupe_key=f"test:{first}:{n}", chat_id=first,
                                  payload={"type": "text", "text": f"part {n}"}, not_before=TEST_NOW)
        for uid in others:
            await repo.outbox.add(kind="text", dedupe_key=f"test:{uid}", chat_id=uid,
                                  payload={"type": "text", "text": "hello"}, not_before=TEST_NOW)
    assert khooshe.services.worker is not None
    khooshe.services.worker.wake()
    await until(lambda: len(api.messages(first)) == 3 and all(api.messages(uid) for uid in others),
                "every message")
    assert api.most_per_chat[first] == 1
    assert [m.text for m in api.messages(first)] == ["part 1", "part 2", "part 3"]


async def test_a_502_after_acting_is_never_repeated(
    bulk: tuple[Khooshe, list[int]], api: InFlightApi, db_path: Path,
) -> None:
    khooshe, owners = bulk
    api.error_rate_5xx_after = 0.3
    await broadcast(khooshe, db_path)
    assert api.duplicates(containing=NOTICE, chats=owners) == 0


async def test_the_report_counts_the_sends_answered_502_after_acting_as_uncertain(
    bulk: tuple[Khooshe, list[int]], api: InFlightApi, db_path: Path,
) -> None:
    khooshe, owners = bulk
    api.error_rate_5xx_after = 0.3
    report = await broadcast(khooshe, db_path)
    answered_502 = sum(1 for method, params, status in api.calls
                       if method == "sendMessage" and params.get("chat_id") in set(owners) and status == 502)
    found = re.search(r"Uncertain[^:\n]*: (\d+)", report)
    assert found is not None, report
    assert int(found.group(1)) == answered_502


async def test_a_send_answered_after_six_seconds_is_delivered_not_uncertain(
    bulk: tuple[Khooshe, list[int]], api: InFlightApi, db_path: Path,
) -> None:
    """Past the replies' 5 s read time-out, within the bulk sends' own (KHOOSHE_BULK_READ_TIMEOUT)."""
    khooshe, owners = bulk
    api.hang_next("sendMessage", chat_id=owners[0], seconds=6.0)
    report = await broadcast(khooshe, db_path)
    assert f"Delivered: {FIRMS}" in report
