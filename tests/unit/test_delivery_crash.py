"""What a stop in the middle of a bulk send leaves: a row only claimed is sent after the restart
(it never left), a row whose request had departed is uncertain and never sent again (it may
have reached the firm), and the departure is committed before the request goes out."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from telegram.ext import ExtBot

from bot.delivery.pacer import Pacer
from bot.delivery.worker import DeliveryWorker
from bot.domain.quiet_hours import QuietHours
from storage.database import Database
from storage.repositories.outbox import IN_FLIGHT_AT_STOP, OutboxRow
from tests.support.clock import TEHRAN, TEST_NOW, TestClock

CHAT = 42


class HangingBot:
    """Stands in for the bot: every send hangs (the request is on the wire, never answered),
    after noting which chats the database showed on the wire when it began."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.on_the_wire: list[list[int]] = []
        self.started = asyncio.Event()

    async def send_message(self, *args: Any, **kwargs: Any) -> None:
        async with self.db.read() as repo:
            self.on_the_wire.append(await repo.outbox.on_the_wire())
        self.started.set()
        await asyncio.Event().wait()


async def queue(db: Database, key: str = "test:1", chat_id: int = CHAT) -> None:
    async with db.transaction() as repo:
        await repo.outbox.add(kind="text", dedupe_key=key, chat_id=chat_id,
                              payload={"type": "text", "text": "notice"}, not_before=TEST_NOW)


async def row(db: Database, key: str = "test:1") -> OutboxRow:
    async with db.read() as repo:
        found = await repo.outbox.by_key(key)
    assert found is not None
    return found


def worker(db: Database, bot: object) -> DeliveryWorker:
    return DeliveryWorker(
        bot=cast(ExtBot[dict[str, Any]], bot), db=db, pacer=Pacer(1000.0), clock=TestClock(),
        quiet=QuietHours("21:00-08:00", (4,), TEHRAN), unreachable=set(),
    )


async def test_a_row_only_claimed_when_the_bot_died_is_queued_again(db: Database) -> None:
    await queue(db)
    async with db.transaction() as repo:
        assert await repo.outbox.claim_next(TEST_NOW) is not None
    async with db.transaction() as repo:
        assert await repo.outbox.recover_in_flight() == (1, 0)
    assert (await row(db)).status == "pending"


async def test_a_row_departed_when_the_bot_died_is_uncertain_and_not_queued_again(db: Database) -> None:
    await queue(db)
    async with db.transaction() as repo:
        claimed = await repo.outbox.claim_next(TEST_NOW)
        assert claimed is not None
        await repo.outbox.depart(claimed.id, at=TEST_NOW)
    async with db.transaction() as repo:
        assert await repo.outbox.recover_in_flight() == (0, 1)
    recovered = await row(db)
    assert (recovered.status, recovered.last_error) == ("uncertain", IN_FLIGHT_AT_STOP)


async def test_a_row_given_back_after_departing_is_claimed_afresh(db: Database) -> None:
    """A 429 puts a departed row back: claimed again, it is not taken as on the wire."""
    await queue(db)
    async with db.transaction() as repo:
        claimed = await repo.outbox.claim_next(TEST_NOW)
        assert claimed is not None
        await repo.outbox.depart(claimed.id, at=TEST_NOW)
        await repo.outbox.give_back(claimed.id, at=TEST_NOW, error="429 retry after 1s")
        assert await repo.outbox.claim_next(TEST_NOW) is not None
        assert await repo.outbox.on_the_wire() == []


async def test_the_departure_is_committed_before_the_request_goes_out(db: Database) -> None:
    await queue(db)
    bot = HangingBot(db)
    sender = worker(db, bot)
    task = asyncio.create_task(sender.send_one())
    await asyncio.wait_for(bot.started.wait(), timeout=10)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert bot.on_the_wire == [[CHAT]]


async def test_a_send_cut_off_on_the_wire_by_a_stop_ends_uncertain(db: Database) -> None:
    await queue(db)
    bot = HangingBot(db)
    sender = worker(db, bot)
    await sender.start()
    await asyncio.wait_for(bot.started.wait(), timeout=10)
    await sender.stop(timeout=0.1)
    stopped = await row(db)
    assert (stopped.status, stopped.last_error) == ("uncertain", IN_FLIGHT_AT_STOP)


async def test_a_row_waiting_for_its_slot_at_a_stop_is_queued_again(db: Database) -> None:
    await queue(db)
    sender = worker(db, HangingBot(db))
    sender.pacer.pause(3600)  # a 429 asked for silence: the claimed row waits for the pacer
    await sender.start()
    for _ in range(1000):  # until a lane has claimed it
        if (await row(db)).status == "sending":
            break
        await asyncio.sleep(0.01)
    assert (await row(db)).status == "sending"
    await sender.stop(timeout=0.1)
    assert (await row(db)).status == "pending"
