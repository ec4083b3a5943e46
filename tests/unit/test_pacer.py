"""The pacer shared by the delivery worker's concurrent sends, on a fake clock: no real time
passes, so every figure below is exact."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from bot.delivery.pacer import Pacer


class FakeTime:
    """A clock that moves only when the pacer sleeps; ``during_next_sleep`` runs half-way
    through the next sleep (something another send does while this one waits)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.during_next_sleep: list[Callable[[], None]] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds / 2
        while self.during_next_sleep:
            self.during_next_sleep.pop(0)()
        self.now += seconds / 2
        await asyncio.sleep(0)  # let the other senders run, as a real sleep would


async def start_times(pacer: Pacer, time: FakeTime, senders: int) -> list[float]:
    """When each of ``senders`` concurrent senders got its slot, in order."""
    times: list[float] = []

    async def send() -> None:
        await pacer.acquire()
        times.append(time.now)

    await asyncio.gather(*(send() for _ in range(senders)))
    return times


async def test_concurrent_senders_share_one_rate() -> None:
    time = FakeTime()
    pacer = Pacer(10.0, clock=time.clock, sleep=time.sleep)
    times = await start_times(pacer, time, senders=8)
    assert times == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7])


async def test_a_429_during_a_wait_holds_the_waiting_sender_too() -> None:
    time = FakeTime()
    pacer = Pacer(10.0, clock=time.clock, sleep=time.sleep)
    await pacer.acquire()  # t = 0; the next slot is at 0.1
    time.during_next_sleep.append(lambda: pacer.pause(2.0))  # another send's 429 at t = 0.05
    await pacer.acquire()
    assert time.now == pytest.approx(2.05)


async def test_after_a_pause_the_senders_are_spaced_again() -> None:
    time = FakeTime()
    pacer = Pacer(10.0, clock=time.clock, sleep=time.sleep)
    pacer.pause(1.0)
    times = await start_times(pacer, time, senders=3)
    assert times == pytest.approx([1.0, 1.1, 1.2])

