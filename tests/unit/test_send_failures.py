"""Which failed Bot API calls may be sent again: only those that never reached the server.
Each failure comes from the real request layer (aiohttp, as the bot runs) against the fake Bot
API or a port nothing listens on."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from telegram import Bot
from telegram.error import NetworkError

from bot.emulator import FakeBotApi
from bot.transport.aiohttp_request import AiohttpRequest
from bot.transport.failures import never_sent

TOKEN = "123456:TEST"


@pytest_asyncio.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(token=TOKEN) as server:
        server.user(42)
        yield server


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def failure(bot: Bot) -> NetworkError:
    with pytest.raises(NetworkError) as caught:
        await bot.send_message(42, "notice")
    return caught.value


async def test_a_refused_connection_never_reached_the_server() -> None:
    bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{closed_port()}/bot", request=AiohttpRequest())
    await bot.request.initialize()  # no getMe: nothing listens
    try:
        assert never_sent(await failure(bot))
    finally:
        await bot.request.shutdown()


def full_backlog() -> tuple[int, list[socket.socket]]:
    """A port whose listener accepts nothing and whose backlog is full: a new connection to it
    waits for ever (its SYN is dropped), as to a host that does not answer."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    held = [listener]
    for _ in range(3):
        sock = socket.socket()
        sock.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            sock.connect(listener.getsockname())
        held.append(sock)
    return int(listener.getsockname()[1]), held


async def test_a_connect_time_out_never_reached_the_server() -> None:
    port, held = full_backlog()
    bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=AiohttpRequest(connect_timeout=0.3))
    await bot.request.initialize()
    try:
        assert never_sent(await failure(bot))
    finally:
        await bot.request.shutdown()
        for sock in held:
            sock.close()


async def test_a_502_may_have_been_acted_on(api: FakeBotApi) -> None:
    async with Bot(TOKEN, base_url=api.base_url, request=AiohttpRequest()) as bot:
        api.error_rate_5xx_after = 1.0
        assert not never_sent(await failure(bot))


async def test_a_time_out_waiting_for_the_answer_may_have_been_acted_on(api: FakeBotApi) -> None:
    async with Bot(TOKEN, base_url=api.base_url, request=AiohttpRequest(read_timeout=0.2)) as bot:
        api.hang_next("sendMessage", seconds=2.0)
        assert not never_sent(await failure(bot))
