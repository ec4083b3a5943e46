"""How many bulk sends may be on the wire at once: as many as the pace needs to cover the Bot
API's round trip, and no more.

At ``rate`` messages a second and ``r`` seconds a round trip, ``rate × r`` sends must overlap for
the rate to hold (29/s at 300 ms: ~9). More than needed does not raise the rate (the pacer sets
it) but does let the server's clock see sends bunched together: two that left 34 ms apart can
arrive as one burst when the first was held up on the way, and a server counting strictly 30 in
every second answers 429. So the limit follows the measured round trip, with some headroom, from
one (a fast API: one send at a time, as the worker did before) up to ``cap``.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

# Sends in flight beyond rate × round trip, as a share: round trips vary from one to the next.
HEADROOM = 1.5
# Weight of the latest round trip in the running estimate.
SMOOTHING = 0.3


class FlightLimit:
    """Admits bulk sends while fewer than ``limit`` are on the wire; each send reports its round
    trip as it leaves."""

    def __init__(self, rate: float, cap: int, *, clock: Callable[[], float]) -> None:
        self.rate, self.cap = rate, max(1, cap)
        self._clock = clock
        self.round_trip = 0.0  # seconds, a running estimate; 0 until a send has come back
        self.in_flight = 0
        self._changed = asyncio.Event()

    @property
    def limit(self) -> int:
        return max(1, min(self.cap, math.ceil(self.rate * self.round_trip * HEADROOM)))

    @asynccontextmanager
    async def flight(self) -> AsyncIterator[Callable[[], None]]:
        """Waits for room, then holds a place; the caller calls the function it gets when its
        send starts (after its pacer slot, before it records the departure and makes the
        request), so the round trip measured is the send's, not the wait for the pacer."""
        while self.in_flight >= self.limit:
            self._changed.clear()
            await self._changed.wait()
        self.in_flight += 1
        started: list[float] = []
        try:
            yield lambda: started.append(self._clock())
        finally:
            self.in_flight -= 1
            if started:
                self._learn(self._clock() - started[0])
            self._changed.set()

    def _learn(self, seconds: float) -> None:
        self.round_trip = seconds if self.round_trip == 0 else self.round_trip + SMOOTHING * (seconds - self.round_trip)
