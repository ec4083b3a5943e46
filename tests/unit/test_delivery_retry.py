"""What the delivery worker does with a bulk message whose send failed, by how it failed: sent
again later when the request never left (the connection was refused), never again when the server
may have acted on it (no answer in time). The failures are the real request layer's."""

from __future__ import annotations

import socket
from typing import Any, cast

import pytest
from telegram import Bot
from telegram.error import ChatMigrated, NetworkError, TelegramError
from telegram.ext import ExtBot

from bot.delivery.pacer import Pacer
from bot.delivery.worker import DeliveryWorker
from bot.domain.quiet_hours import QuietHours
from bot.emulator import FakeBotApi
from bot.transport.aiohttp_request import AiohttpRequest
from storage.database import Database
from storage.repositories.outbox import OutboxRow
from tests.support.clock import TEHRAN, TEST_NOW, TestClock

TOKEN = "123456:TEST"
CHAT = 42


class FailingBot:
    """Stands in for the bot: every send fails with ``error``."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def send_message(self, *args: Any, **kwargs: Any) -> None:
        raise self.error


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def refused() -> NetworkError:
    bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{closed_port()}/bot", request=AiohttpRequest())
    await bot.request.initialize()
    try:
        with pytest.raises(NetworkError) as caught:
            await bot.send_message(CHAT, "notice")
    finally:
        await bot.request.shutdown()
    return caught.value


async def unanswered() -> NetworkError:
    async with FakeBotApi(token=TOKEN) as api:
        api.user(CHAT)
        async with Bot(TOKEN, base_url=api.base_url, request=AiohttpRequest(read_timeout=0.2)) as bot:
            api.hang_next("sendMessage", seconds=1.0)
            with pytest.raises(NetworkError) as caught:
                await bot.send_message(CHAT, "notice")
    return caught.value


async def answered_with(code: int) -> TelegramError:
    """The error the real request layer raises when the fake answers the send with ``code``."""
    async with FakeBotApi(token=TOKEN) as api:
        api.user(CHAT)
        async with Bot(TOKEN, base_url=api.base_url, request=AiohttpRequest()) as bot:
            api.fail_next("sendMessage", code, "Conflict: terminated by other getUpdates request")
            with pytest.raises(TelegramError) as caught:
                await bot.send_message(CHAT, "notice")
    return caught.value


async def send_once(db: Database, error: Exception) -> OutboxRow:
    """Queues one message, lets the worker try it once against a bot failing with ``error``."""
    async with db.transaction() as repo:
        await repo.outbox.add(kind="text", dedupe_key="test:1", chat_id=CHAT,
                              payload={"type": "text", "text": "notice"}, not_before=TEST_NOW)
    worker = DeliveryWorker(
        bot=cast(ExtBot[dict[str, Any]], FailingBot(error)), db=db, pacer=Pacer(1000.0), clock=TestClock(),
        quiet=QuietHours("21:00-08:00", (4,), TEHRAN), unreachable=set(),
    )
    assert await worker.send_one()
    async with db.read() as repo:
        row = await repo.outbox.by_key("test:1")
    assert row is not None
    return row


async def test_a_send_refused_at_connect_is_queued_again_for_later(db: Database) -> None:
    row = await send_once(db, await refused())
    assert (row.status, row.not_before > TEST_NOW) == ("pending", True)


async def test_a_send_left_unanswered_is_uncertain_and_not_queued_again(db: Database) -> None:
    row = await send_once(db, await unanswered())
    assert row.status == "uncertain"


async def test_a_send_answered_409_ends_failed_not_left_sending(db: Database) -> None:
    row = await send_once(db, await answered_with(409))
    assert row.status == "failed"


async def test_a_send_to_a_chat_that_migrated_ends_failed_not_left_sending(db: Database) -> None:
    row = await send_once(db, ChatMigrated(-100123))
    assert row.status == "failed"


async def test_a_send_that_crashed_unexpectedly_ends_failed_not_left_sending(db: Database) -> None:
    row = await send_once(db, ValueError("a bug in the bot"))
    assert row.status == "failed"
