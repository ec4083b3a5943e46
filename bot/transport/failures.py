"""Which failed Bot API calls certainly never reached the server.

A bulk message whose call failed that way is safe to send again. Any other failure (a 5xx
answer, a time-out waiting for the answer, a connection dropped mid-call) may have come after the
server had acted on it: sending again could give the user the message twice.
"""

from __future__ import annotations

import aiohttp
import httpx
from telegram.error import NetworkError

# Raised before a byte of the request was written: no free connection in the pool, or a new
# connection that could not be opened (refused, unknown host, connect time-out, TLS handshake).
_NOT_SENT = (
    aiohttp.ClientConnectorError,  # refused, DNS, proxy, certificate and TLS errors of the connect
    aiohttp.ConnectionTimeoutError,  # the connect time-out (aiohttp's sock_connect)
    httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout,  # KHOOSHE_HTTP=httpx
)
# Our aiohttp layer raises its pool time-out from nothing; both layers word it the same.
_POOL_TIMEOUT = "Pool timeout:"


def never_sent(exc: NetworkError) -> bool:
    """Whether the failed call ``exc`` certainly did not reach the Bot API server."""
    if str(exc).startswith(_POOL_TIMEOUT):
        return True
    cause = exc.__cause__
    for _ in range(5):  # the transport's error, and whatever it wraps in turn
        if cause is None:
            return False
        if isinstance(cause, _NOT_SENT):
            return True
        cause = cause.__cause__
    return False
