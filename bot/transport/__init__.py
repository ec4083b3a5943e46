"""How the bot talks HTTP to the Bot API and which event loop runs it (``KHOOSHE_HTTP``,
``KHOOSHE_LOOP``)."""

from __future__ import annotations

from typing import Literal

from telegram.request import BaseRequest, HTTPXRequest

HttpClient = Literal["aiohttp", "httpx"]


def requests(client: HttpClient, pool_size: int) -> tuple[BaseRequest, BaseRequest]:
    """The request object for Bot API calls (``pool_size`` connections) and the one for
    getUpdates (one connection: a single long poll at a time), with PTB's default timeouts."""
    if client == "httpx":
        return HTTPXRequest(connection_pool_size=pool_size), HTTPXRequest(connection_pool_size=1)
    from bot.transport.aiohttp_request import AiohttpRequest

    return AiohttpRequest(connection_pool_size=pool_size), AiohttpRequest(connection_pool_size=1)
