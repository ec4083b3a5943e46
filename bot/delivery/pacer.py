"""A smooth pacer just under the Bot API's ~30 messages/second, shared with interactive replies
(up to a twentieth of it: ``INTERACTIVE_SHARE``).

Bursting to the limit and backing off on 429 loses time; spacing sends evenly never trips it.

Interactive replies and edits that fail on a fault that may clear (a 429, a 5xx, a time-out, a
dropped connection) are sent again before the handler hears of it, so a passing fault costs the
user a moment, not an apology: after a 429 once ``retry_after`` has passed (and ahead of the bulk
sends, which wait a little longer), for as long as the waits stay short; otherwise a few times
with a short backoff, once at least and then none starting more than ``REPLY_RETRY_SECONDS``
after the first try. The price, stated: a reply the server had delivered before its answer was
lost arrives twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.ext import BaseRateLimiter

SEND_METHODS = frozenset({
    "sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup", "copyMessage", "forwardMessage",
})
EDIT_METHODS = frozenset({"editMessageText", "editMessageCaption", "editMessageReplyMarkup", "editMessageMedia"})
# Interactive replies may borrow at most this much of the bulk budget ahead of time.
MAX_BORROW_SECONDS = 1.0
# Interactive replies hold the bulk sends back for at most this share of the rate (a bucket
# refilled at share × rate, holding as much, one at least): beyond it they still go out at once,
# uncharged, so a broadcast keeps over 90 % of its rate while many owners are answering (the
# other few per cent go to sends that find their slot already past on a busy machine). The price,
# stated: the replies beyond the share come on top of KHOOSHE_SEND_RATE (a 429 still holds every
# send). At a tenth the drill's bulk rate at 200–400 ms was 26.0 msg/s, just under 90 % of 29.
INTERACTIVE_SHARE = 0.05
# A reply or edit that failed on a passing fault (not a 429): tries in all, the pauses between
# them (the last repeated), and how long after the first try a second retry may still start (the
# first always does). Eight tries, not four: with one call in five failing (the drill's 20 % 5xx),
# four failures in a row still met one reply in 600 (0.2⁴), and its user got an apology; eight
# in a row is one in 400,000. The apology is itself a Bot API call, and fails when this does.
REPLY_ATTEMPTS = 8
REPLY_BACKOFF_SECONDS = (0.5, 1.0, 2.0)
REPLY_RETRY_SECONDS = 12.0
# A 429 asking for a longer silence than this is not waited out by a user's reply, nor are
# 429s in a row once their waits add up to the second figure.
REPLY_MAX_RETRY_AFTER = 10.0
REPLY_MAX_429_WAIT = 30.0
# After a reply's 429, bulk sends stay silent this much longer than the reply, so it goes first.
REPLY_FIRST_SECONDS = 0.5

log = logging.getLogger(__name__)


def retry_seconds(exc: RetryAfter) -> float:
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Pacer:
    """Hands out send slots ``1 / rate`` seconds apart to every sender sharing it.

    The delivery worker's concurrent sends all wait here, one at a time, so however many are in
    flight the bulk messages as a whole leave at ``rate``; a slow Bot API only lengthens each
    send, not the spacing of their starts. ``clock`` and ``sleep`` are injectable so tests can
    drive it without real time passing.
    """

    def __init__(
        self, rate: float, *, clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._paused_until = 0.0
        self._lock = asyncio.Lock()
        # Replies that may still be charged to the bulk budget (see INTERACTIVE_SHARE).
        self._share_per_second = INTERACTIVE_SHARE * rate
        self._share_left = max(1.0, self._share_per_second)
        self._share_at = clock()

    async def acquire(self) -> None:
        """Waits for the next free slot (bulk messages)."""
        async with self._lock:
            while True:
                now = self._clock()
                slot = max(self._next, self._paused_until, now)
                if slot <= now:
                    break
                await self._sleep(slot - now)
                # A 429 that came while this one slept (another send's) holds it too: the server
                # asked for silence, and a slot handed out before that is no licence to break it.
                if self._paused_until <= slot:
                    break
            # The next slot follows this one, not the moment the sleep returned: asyncio oversleeps
            # by a millisecond or so, which would otherwise be lost on every message (~3% at 29/s).
            # A send that was late to begin with (slot = now) still gets no credit.
            self._next = max(self._next, slot) + self.interval

    def note(self) -> None:
        """Records a message sent outside the pacer (an interactive reply); never waits. It
        takes a bulk slot while the replies are within their share of the rate."""
        now = self._clock()
        capacity = max(1.0, self._share_per_second)
        self._share_left = min(capacity, self._share_left + (now - self._share_at) * self._share_per_second)
        self._share_at = now
        if self._share_left < 1.0:
            return
        self._share_left -= 1.0
        self._next = min(max(self._next, now) + self.interval, now + MAX_BORROW_SECONDS)

    def pause(self, seconds: float) -> None:
        """Holds every bulk send for ``seconds`` (the server asked us to wait), including one
        already waiting for its slot."""
        until = self._clock() + seconds
        self._paused_until = max(self._paused_until, until)
        self._next = max(self._next, until)


class InteractiveRateLimiter(BaseRateLimiter[dict[str, Any]]):
    """Lets replies to users through at once (they are never queued behind bulk sends), counts
    them against the pacer's budget, and sends a reply or edit again after a passing fault."""

    def __init__(
        self, pacer: Pacer, *, clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.pacer = pacer
        self._clock = clock
        self._sleep = sleep

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: dict[str, Any] | None,
    ) -> Any:
        bulk = bool(rate_limit_args and rate_limit_args.get("bulk"))
        if bulk:
            return await callback(*args, **kwargs)
        if endpoint not in SEND_METHODS and endpoint not in EDIT_METHODS:
            return await callback(*args, **kwargs)
        started = self._clock()
        failures = 0  # tries that ended in a 5xx, a time-out or a transport failure
        waited = 0.0  # seconds spent waiting out 429s
        while True:
            if endpoint in SEND_METHODS:
                self.pacer.note()
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                seconds = retry_seconds(exc)
                # The reply goes first once the silence is over: bulk sends wait a little longer.
                self.pacer.pause(seconds + REPLY_FIRST_SECONDS)
                if seconds > REPLY_MAX_RETRY_AFTER or waited + seconds > REPLY_MAX_429_WAIT:
                    raise
                waited += seconds
                log.info("%s: 429, sending again in %.1f s", endpoint, seconds)
                await self._sleep(seconds)
            except BadRequest as exc:
                # An edit made again after a lost answer finds the message already edited.
                if failures and endpoint in EDIT_METHODS and "not modified" in str(exc):
                    return True
                raise
            except NetworkError as exc:
                failures += 1
                pause = REPLY_BACKOFF_SECONDS[min(failures, len(REPLY_BACKOFF_SECONDS)) - 1]
                # A first failure is always tried again: a time-out alone can outlast the budget.
                late = failures > 1 and self._clock() + pause - started - waited > REPLY_RETRY_SECONDS
                if failures == REPLY_ATTEMPTS or late:
                    raise
                log.info("%s failed (%s), sending again in %.1f s", endpoint, exc or type(exc).__name__, pause)
                await self._sleep(pause)
