"""A smooth pacer just under the Bot API's ~30 messages/second, shared with interactive replies.

Bursting to the limit and backing off on 429 loses time; spacing sends evenly never trips it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

SEND_METHODS = frozenset({
    "sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup", "copyMessage", "forwardMessage",
})
# Interactive replies may borrow at most this much of the bulk budget ahead of time.
MAX_BORROW_SECONDS = 1.0


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
        """Records a message sent outside the pacer (an interactive reply); never waits."""
        now = self._clock()
        self._next = min(max(self._next, now) + self.interval, now + MAX_BORROW_SECONDS)

    def pause(self, seconds: float) -> None:
        """Holds every bulk send for ``seconds`` (the server asked us to wait), including one
        already waiting for its slot."""
        until = self._clock() + seconds
        self._paused_until = max(self._paused_until, until)
        self._next = max(self._next, until)


class InteractiveRateLimiter(BaseRateLimiter[dict[str, Any]]):
    """Lets replies to users through at once (they are never queued behind bulk sends), counts
    them against the pacer's budget, and retries a reply once after a 429."""

    def __init__(self, pacer: Pacer) -> None:
        self.pacer = pacer

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
        if endpoint in SEND_METHODS:
            self.pacer.note()
        try:
            return await callback(*args, **kwargs)
        except RetryAfter as exc:
            seconds = retry_seconds(exc)
            self.pacer.pause(seconds)
            await asyncio.sleep(seconds)
            return await callback(*args, **kwargs)
