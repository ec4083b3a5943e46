"""Downloading a file a user sent, never more of it than the caller can take.

python-telegram-bot's ``File.download_*`` reads the whole body into memory, and the size a
message or ``getFile`` states is optional: a 16 MB file sent without one was read whole and
parsed. Here the body is read in chunks and the download stops as soon as it passes ``limit``
bytes, so at most ``limit`` plus one chunk is ever held.
"""

from __future__ import annotations

import aiohttp
from telegram import Bot
from telegram.error import NetworkError

from bot.transport.aiohttp_request import tls_context, translate_errors

CHUNK_BYTES = 64 * 1024
# A few megabytes even over a slow link; the Bot API's own calls keep their shorter timeouts.
READ_TIMEOUT_SECONDS = 20.0
TOTAL_TIMEOUT_SECONDS = 120.0


class FileTooLarge(Exception):
    """The file is larger than the limit; what was read of it is dropped."""


async def download_at_most(url: str, limit: int) -> bytes:
    """The body at ``url``, or ``FileTooLarge`` once it is longer than ``limit`` bytes (before
    reading any of it when the server states the length). Transport failures raise
    ``telegram.error.NetworkError`` or ``TimedOut``, as the Bot API calls do; the URL (which holds
    the token) is not in their message."""
    timeout = aiohttp.ClientTimeout(total=TOTAL_TIMEOUT_SECONDS, sock_connect=10.0, sock_read=READ_TIMEOUT_SECONDS)
    # trust_env: the proxy from the environment, as for the Bot API calls.
    with translate_errors():
        async with (aiohttp.ClientSession(timeout=timeout, trust_env=True) as session,
                    session.get(url, ssl=tls_context(), allow_redirects=False) as response):
            if response.status != 200:
                # Not aiohttp's error: its message holds the URL, and the URL the token.
                raise NetworkError(f"the file server answered {response.status}")
            if response.content_length is not None and response.content_length > limit:
                raise FileTooLarge
            body = bytearray()
            async for chunk in response.content.iter_chunked(CHUNK_BYTES):
                body += chunk
                if len(body) > limit:
                    raise FileTooLarge
            return bytes(body)


async def download_file(bot: Bot, file_id: str, limit: int) -> bytes:
    """``getFile``, then the file's bytes: ``FileTooLarge`` when the size ``getFile`` states (if it
    states one) or the bytes that arrive pass ``limit``."""
    found = await bot.get_file(file_id)
    if found.file_size is not None and found.file_size > limit:
        raise FileTooLarge
    if not found.file_path:
        raise NetworkError("getFile named no file path")
    # PTB has already made the path a URL on the bot's file server (base_file_url + token).
    return await download_at_most(found.file_path, limit)
