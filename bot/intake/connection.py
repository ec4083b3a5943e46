"""Reaching the Bot API: one clear line when it cannot be reached, and retries with backoff
instead of a traceback and an exit (api.telegram.org is filtered in Iran; a DNS failure or a
wrong token is an operator's fix, and the bot should be there when it is fixed)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram.error import Conflict, InvalidToken, NetworkError, TelegramError
from telegram.ext import ExtBot

log = logging.getLogger(__name__)

BACKOFF_SECONDS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)


async def connect(bot: ExtBot[Any], api_url: str, *, backoff: tuple[float, ...] = BACKOFF_SECONDS) -> None:
    """Returns once ``getMe`` has answered; until then logs what is wrong once per kind of
    trouble and tries again.  Cancel it to give up (a signal during start-up)."""
    failures = 0
    trouble: str | None = None
    while True:
        try:
            await bot.initialize()
        except TelegramError as exc:
            failures += 1
            described = describe_trouble(exc, api_url)
            if described != trouble:
                trouble = described
                log.error("%s; retrying with backoff", described)
            await asyncio.sleep(backoff[min(failures, len(backoff)) - 1])
            continue
        if failures:
            log.info("connected to the Bot API at %s after %d failed attempt(s)", api_url, failures)
        return


def describe_trouble(exc: BaseException, api_url: str) -> str:
    """What went wrong talking to the Bot API, and what the operator can check."""
    if isinstance(exc, InvalidToken):
        return f"the Bot API at {api_url} rejected the token: check KHOOSHE_TOKEN (and KHOOSHE_API_URL: a Bale token only works at Bale)"
    if isinstance(exc, Conflict):
        return f"the Bot API at {api_url} says another process is reading this bot's updates (or a webhook is set): stop the other one"
    if isinstance(exc, NetworkError):
        return (f"cannot reach the Bot API at {api_url} ({exc.message}): check the network, DNS and KHOOSHE_API_URL"
                " (api.telegram.org is filtered in Iran; Bale is https://tapi.bale.ai/bot)")
    if isinstance(exc, TelegramError):
        return f"the Bot API at {api_url} answered: {exc.message}"
    return f"talking to the Bot API at {api_url} failed: {type(exc).__name__}"
