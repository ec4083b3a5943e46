"""How the bot talks HTTP to the Bot API and which event loop runs it (``KHOOSHE_HTTP``,
``KHOOSHE_LOOP``)."""

from __future__ import annotations

from typing import Literal

from telegram.request import BaseRequest, HTTPXRequest

HttpClient = Literal["aiohttp", "httpx"]


def requests(client: HttpClient, pool_size: int, *, read_timeout: float = 5.0) -> tuple[BaseRequest, BaseRequest]:
    """The request object for Bot API calls (``pool_size`` connections, waiting ``read_timeout``
    seconds for an answer unless a call says otherwise) and the one for getUpdates (one
    connection: a single long poll at a time), with PTB's other default timeouts."""
    if client == "httpx":
        return (HTTPXRequest(connection_pool_size=pool_size, read_timeout=read_timeout),
                HTTPXRequest(connection_pool_size=1))
    from bot.transport.aiohttp_request import AiohttpRequest

    return (AiohttpRequest(connection_pool_size=pool_size, read_timeout=read_timeout),
            AiohttpRequest(connection_pool_size=1))
