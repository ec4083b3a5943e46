"""A python-telegram-bot request layer on aiohttp.

PTB's own ``HTTPXRequest`` spends most of a Bot API call in httpx/httpcore's pure-Python layers
(anyio cancel scopes, h11 events, per-request URL parsing); on the benchmark that was over half
of the bot's event loop. aiohttp parses HTTP in C and reuses connections with little per-request
work, so the same calls cost a fraction of that (bench/README.md has the figures).

It keeps ``HTTPXRequest``'s contract: the same four timeouts and their defaults, the wire format
(form-encoded parameters, ``multipart/form-data`` when files are sent), ``TimedOut`` for every
timeout and ``NetworkError`` for every other transport failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import ssl
from collections.abc import Iterator
from typing import IO, Any
from urllib.parse import urlencode, urlsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

POOL_TIMEOUT_MESSAGE = (
    "Pool timeout: All connections in the connection pool are occupied. Request was *not* sent to "
    "Telegram. Consider adjusting the connection pool size or the pool timeout."
)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class AiohttpRequest(BaseRequest):
    """``BaseRequest`` over one ``aiohttp.ClientSession`` with at most ``connection_pool_size``
    connections.

    Timeouts, in PTB's terms (``None`` waits for ever):

    * ``pool_timeout``: waiting for one of the pool's connections to be free; past it the
      request is not sent at all (like httpx's ``PoolTimeout``);
    * ``connect_timeout``: opening a new connection (TCP and TLS);
    * ``read_timeout``: the longest silence from the server once the request is written (aiohttp
      starts its read timer when the body is out), reset by every chunk received;
    * ``write_timeout`` (``media_write_timeout`` when files are uploaded): aiohttp has no timer
      for writing, so the send as a whole (connect, write, wait for the response headers) is
      bounded by connect + write + read when all three are finite. A small body is written in
      one go into the socket's buffer; only an upload can stall there.
    """

    __slots__ = ("_connect_timeout", "_media_write_timeout", "_pool", "_pool_size", "_pool_timeout",
                 "_proxies", "_proxy_of", "_read_timeout", "_session", "_write_timeout")

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
        *,
        trust_env: bool = True,
    ) -> None:
        if connection_pool_size < 1:
            raise ValueError("connection_pool_size must be at least 1")
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        # httpx takes HTTP(S)_PROXY / ALL_PROXY / NO_PROXY from the environment by default; so does
        # this, read once. (aiohttp's own trust_env would also read ~/.netrc in a worker thread on
        # every request: a third of the bot's CPU on the benchmark.)
        self._proxies = {k: v for k, v in getproxies().items() if k in ("http", "https", "all")} if trust_env else {}
        self._proxy_of: dict[tuple[str, str], str | None] = {}
        self._session: aiohttp.ClientSession | None = None
        # The pool is counted here, not by the connector, so that waiting for it has its own
        # timeout and error (aiohttp folds pool waits into its connect timeout).
        self._pool = asyncio.Semaphore(connection_pool_size)

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout (PTB adds getUpdates' long-polling timeout to it)."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Opens the session (it must be made inside the running event loop)."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._pool_size, limit_per_host=0, ttl_dns_cache=300, enable_cleanup_closed=False,
                ssl=tls_context(),
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                # No cookies: the Bot API sets none, and the jar would be consulted on every request.
                cookie_jar=aiohttp.DummyCookieJar(),
                headers={"User-Agent": self.USER_AGENT},
                timeout=aiohttp.ClientTimeout(total=None),
                trust_env=False,
                raise_for_status=False,
            )

    async def shutdown(self) -> None:
        """Closes the session and its connections; a second call does nothing."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """See ``BaseRequest.do_request``: returns the status code and the body."""
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data is not None and request_data.contains_files else None
        read = self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        connect = self._connect_timeout if isinstance(connect_timeout, DefaultValue) else connect_timeout
        pool = self._pool_timeout if isinstance(pool_timeout, DefaultValue) else pool_timeout
        default_write = self._media_write_timeout if files else self._write_timeout
        write = default_write if isinstance(write_timeout, DefaultValue) else write_timeout

        body: bytes | aiohttp.FormData | None = None
        headers: dict[str, str] | None = None
        if files:
            assert request_data is not None
            body = multipart(request_data.json_parameters, files)
        elif request_data is not None:
            params = request_data.json_parameters
            if params:
                body, headers = urlencode(params).encode("ascii"), FORM

        try:
            async with asyncio.timeout(pool):
                await self._pool.acquire()
        except TimeoutError:
            raise TimedOut(POOL_TIMEOUT_MESSAGE) from None
        try:
            send_budget = None if None in (connect, write, read) else connect + write + read  # type: ignore[operator]
            timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect, sock_read=read)
            with translate_errors():
                async with asyncio.timeout(send_budget):
                    response = await session.request(
                        method, url, data=body, headers=headers, timeout=timeout, allow_redirects=False,
                        proxy=self._proxy(url) if self._proxies else None,
                    )
                async with response:
                    return response.status, await response.read()
        finally:
            self._pool.release()

    def _proxy(self, url: str) -> str | None:
        """The proxy from the environment for ``url``'s scheme and host, if any (cached per host)."""
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname or "")
        if key not in self._proxy_of:
            proxy = self._proxies.get(parts.scheme) or self._proxies.get("all")
            self._proxy_of[key] = None if proxy is None or proxy_bypass(key[1]) else proxy
        return self._proxy_of[key]


@functools.cache
def tls_context() -> ssl.SSLContext | bool:
    """True (aiohttp's verifying context over the system's certificates, already loaded by aiohttp
    itself) when the system has a certificate store, else a context over certifi's bundle, as
    httpx uses (a bare image may have no store; each loaded bundle costs ~2 MB of RSS)."""
    paths = ssl.get_default_verify_paths()
    if (paths.cafile and os.path.isfile(paths.cafile)) or (paths.capath and os.path.isdir(paths.capath)
                                                            and any(os.scandir(paths.capath))):
        return True
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


def multipart(params: dict[str, str], files: dict[str, Any]) -> aiohttp.FormData:
    """The parameters and files as one ``multipart/form-data`` body, like httpx would write it."""
    # quote_fields=False writes a file name as UTF-8 between quotes (as httpx and browsers do);
    # aiohttp's default would percent-encode it, and Telegram shows such a name as it is.
    form = aiohttp.FormData(quote_fields=False)
    for name, value in params.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in files.items():
        data: bytes | IO[bytes] = content
        form.add_field(name, data, filename=filename, content_type=mimetype)
    return form


@contextlib.contextmanager
def translate_errors() -> Iterator[None]:
    """Every timeout becomes ``TimedOut`` and every other transport failure ``NetworkError``."""
    try:
        yield
    except TimeoutError as exc:  # aiohttp's own timeouts subclass it too
        raise TimedOut from exc
    except aiohttp.ClientError as exc:
        raise NetworkError(f"aiohttp.{exc.__class__.__name__}: {exc}") from exc
    except OSError as exc:
        raise NetworkError(f"{exc.__class__.__name__}: {exc}") from exc
