"""Downloading a file a user sent stops once it passes the limit, whether or not the server
states the length, so a body without end is never read to its end."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiohttp import web

from bot.transport.download import FileTooLarge, download_at_most

LIMIT = 256 * 1024


async def endless(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    response.enable_chunked_encoding()
    await response.prepare(request)
    try:
        while True:
            await response.write(b"x" * 65536)
    except ConnectionError:
        return response


async def stated(request: web.Request) -> web.Response:
    return web.Response(body=b"y" * (LIMIT + 1))


async def small(request: web.Request) -> web.Response:
    return web.Response(body=b"z" * LIMIT)


@pytest_asyncio.fixture
async def server() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/endless", endless)
    app.router.add_get("/stated", stated)
    app.router.add_get("/small", small)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_a_body_without_a_stated_length_is_cut_off_past_the_limit(server: str) -> None:
    with pytest.raises(FileTooLarge):
        await download_at_most(f"{server}/endless", LIMIT)


async def test_a_stated_length_past_the_limit_is_refused(server: str) -> None:
    with pytest.raises(FileTooLarge):
        await download_at_most(f"{server}/stated", LIMIT)


async def test_a_file_of_exactly_the_limit_arrives_whole(server: str) -> None:
    assert await download_at_most(f"{server}/small", LIMIT) == b"z" * LIMIT
