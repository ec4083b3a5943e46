"""The pacer shared by the delivery worker's concurrent sends, on a fake clock: no real time
passes, so every figure below is exact."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from bot.delivery.pacer import REPLY_FIRST_SECONDS, InteractiveRateLimiter, Pacer


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



class Failing:
    """A Bot API call that fails with the errors given, in turn, then succeeds; ``at`` records
    when each try started on the fake clock."""

    def __init__(self, time: FakeTime, errors: list[Exception], *, takes: float = 0.0) -> None:
        self.time, self.errors, self.takes = time, errors, takes
        self.at: list[float] = []

    async def __call__(self) -> str:
        self.at.append(self.time.now)
        self.time.now += self.takes
        if self.errors:
            raise self.errors.pop(0)
        return "sent"


async def reply(time: FakeTime, call: Failing, endpoint: str = "sendMessage") -> object:
    limiter = InteractiveRateLimiter(Pacer(29.0, clock=time.clock, sleep=time.sleep), clock=time.clock,
                                     sleep=time.sleep)
    return await limiter.process_request(call, (), {}, endpoint, {}, None)


async def test_a_reply_failing_with_502_three_times_is_sent_on_the_fourth_try() -> None:
    time = FakeTime()
    call = Failing(time, [NetworkError("Bad Gateway")] * 3)
    assert await reply(time, call) == "sent"


async def test_a_reply_that_keeps_failing_is_tried_eight_times_within_twelve_seconds() -> None:
    time = FakeTime()
    call = Failing(time, [NetworkError("Bad Gateway")] * 10)
    with pytest.raises(NetworkError):
        await reply(time, call)
    assert call.at == [0.0, 0.5, 1.5, 3.5, 5.5, 7.5, 9.5, 11.5]


async def test_a_reply_failing_with_502_seven_times_is_sent_on_the_eighth_try() -> None:
    time = FakeTime()
    call = Failing(time, [NetworkError("Bad Gateway")] * 7)
    assert await reply(time, call) == "sent"


async def test_a_reply_timing_out_twice_is_not_tried_a_third_time() -> None:
    time = FakeTime()
    call = Failing(time, [TimedOut()] * 3, takes=10.0)
    with pytest.raises(TimedOut):
        await reply(time, call)
    assert call.at == [0.0, 10.5]


async def test_a_reply_refused_with_400_is_not_tried_again() -> None:
    time = FakeTime()
    call = Failing(time, [BadRequest("Bad Request: can't parse entities")])
    with pytest.raises(BadRequest):
        await reply(time, call)
    assert call.at == [0.0]


async def test_an_edit_whose_lost_answer_had_applied_it_counts_as_done() -> None:
    time = FakeTime()
    call = Failing(time, [NetworkError("Bad Gateway"), BadRequest("Bad Request: message is not modified")])
    assert await reply(time, call, "editMessageText") is True


async def test_a_reply_told_to_wait_longer_than_ten_seconds_is_not_held() -> None:
    time = FakeTime()
    call = Failing(time, [RetryAfter(30)])
    with pytest.raises(RetryAfter):
        await reply(time, call)
    assert call.at == [0.0]


async def test_a_reply_met_by_five_429s_in_a_row_still_goes_out() -> None:
    time = FakeTime()
    call = Failing(time, [RetryAfter(1)] * 5)
    assert await reply(time, call) == "sent"


async def test_after_a_replys_429_the_bulk_sends_wait_longer_than_the_reply() -> None:
    time = FakeTime()
    pacer = Pacer(29.0, clock=time.clock, sleep=time.sleep)
    limiter = InteractiveRateLimiter(pacer, clock=time.clock, sleep=time.sleep)
    call = Failing(time, [RetryAfter(1)])
    await limiter.process_request(call, (), {}, "sendMessage", {}, None)
    await pacer.acquire()
    assert time.now >= call.at[-1] + REPLY_FIRST_SECONDS


async def test_replies_hold_the_bulk_sends_back_for_at_most_a_twentieth_of_the_rate() -> None:
    """20 replies at once at 29/s: one is charged (a twentieth of 29 is 1.45), so the bulk sends
    of that second lose one slot, not twenty."""
    time = FakeTime()
    pacer = Pacer(29.0, clock=time.clock, sleep=time.sleep)
    for _ in range(20):
        pacer.note()
    times = await start_times(pacer, time, senders=29)
    assert times[0] == pytest.approx(1 / 29)
    assert times[-1] == pytest.approx(29 / 29)


async def test_replies_within_their_share_each_take_a_bulk_slot() -> None:
    time = FakeTime()
    pacer = Pacer(20.0, clock=time.clock, sleep=time.sleep)
    pacer.note()  # the share is one reply a second at 20/s
    assert await start_times(pacer, time, senders=2) == pytest.approx([0.05, 0.1])
    time.now = 1.2  # a second later the share is back
    pacer.note()
    assert await start_times(pacer, time, senders=1) == pytest.approx([1.25])
