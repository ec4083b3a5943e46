"""How many bulk sends the worker lets onto the wire at once, on a fake clock: as many as the
round trip needs for the rate, one on a fast API, never more than KHOOSHE_SEND_CONCURRENCY."""

from __future__ import annotations

import asyncio

from bot.delivery.flights import FlightLimit


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def learn(limit: FlightLimit, clock: FakeClock, round_trip: float, times: int = 5) -> None:
    """``times`` sends, one after another, each taking ``round_trip`` seconds."""
    for _ in range(times):
        async with limit.flight() as departing:
            departing()
            clock.now += round_trip


async def test_on_a_fast_api_a_second_send_waits_for_the_first() -> None:
    clock = FakeClock()
    limit = FlightLimit(29.0, 16, clock=clock)
    await learn(limit, clock, 0.005)
    entered: list[str] = []

    async def send(name: str, leave: asyncio.Event) -> None:
        async with limit.flight() as departing:
            entered.append(name)
            departing()
            await leave.wait()

    first_done, second_done = asyncio.Event(), asyncio.Event()
    first = asyncio.create_task(send("first", first_done))
    second = asyncio.create_task(send("second", second_done))
    for _ in range(5):  # let both run as far as they can
        await asyncio.sleep(0)
    assert entered == ["first"]
    first_done.set()
    second_done.set()
    await asyncio.gather(first, second)
    assert entered == ["first", "second"]


async def test_at_300_ms_round_trips_enough_sends_overlap_for_the_rate() -> None:
    clock = FakeClock()
    limit = FlightLimit(29.0, 16, clock=clock)
    await learn(limit, clock, 0.3)
    assert limit.limit >= 29 * 0.3


async def test_on_a_very_slow_api_never_more_than_the_cap() -> None:
    clock = FakeClock()
    limit = FlightLimit(29.0, 16, clock=clock)
    await learn(limit, clock, 5.0)
    assert limit.limit == 16
