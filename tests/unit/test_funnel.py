"""The funnel's figures on a real SQLite file: the median time per question (odd and even counts,
the first answer timed from the submission's start), the scope, and where drafts stopped."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest_asyncio

from bot.domain.questionnaire import load_questionnaire
from bot.services.funnel import REVIEW, median_of, stopped_at, timings
from storage.database import Database
from storage.repositories import base
from storage.repositories.base import use_clock
from tests.support.clock import TestClock
from tests.support.factories import add_firm
from tests.support.khooshe import seed

QUESTIONNAIRE = load_questionnaire(1)


@pytest_asyncio.fixture
async def clock() -> AsyncIterator[TestClock]:
    clock = TestClock()
    before = base._clock
    use_clock(clock.now)
    yield clock
    use_clock(before)


async def answered_after(db: Database, clock: TestClock, round_id: int, owner: int, seconds: list[int],
                         estate_id: int = 1) -> None:
    """A draft whose answers T1, T2, … came ``seconds`` apart (the first after its start)."""
    firm_id = await add_firm(db, owner, estate_id=estate_id)
    async with db.transaction() as repo:
        submission = await repo.submissions.start(round_id=round_id, firm_id=firm_id, cursor="T1")
    for i, wait in enumerate(seconds):
        clock.advance(timedelta(seconds=wait))
        async with db.transaction() as repo:
            await repo.answers.put(submission_id=submission.id, qid=f"T{i + 1}", value="yes")


async def open_round(db: Database, clock: TestClock) -> int:
    await seed(db, now=clock.now())
    async with db.read() as repo:
        current = await repo.rounds.open_round()
    assert current is not None
    return current.id


async def test_median_of_an_odd_count_is_the_middle_answer(db: Database, clock: TestClock) -> None:
    round_id = await open_round(db, clock)
    for owner, first in zip(range(9001, 9006), [10, 20, 30, 40, 1000], strict=True):
        await answered_after(db, clock, round_id, owner, [first])
    async with db.read() as repo:
        medians = {m.qid: m for m in timings(await repo.funnel.answer_time_histogram(round_id, None), QUESTIONNAIRE)}
    assert medians["T1"].median_seconds == 30 and medians["T1"].answers == 5


async def test_median_of_an_even_count_is_the_mean_of_the_middle_two(db: Database, clock: TestClock) -> None:
    round_id = await open_round(db, clock)
    for owner, second in zip(range(9001, 9005), [5, 60, 100, 4000], strict=True):
        await answered_after(db, clock, round_id, owner, [1, second])
    async with db.read() as repo:
        histogram = await repo.funnel.answer_time_histogram(round_id, None)
    assert median_of([(s, n) for qid, s, n in histogram if qid == "T2"]) == 80
    assert median_of([(s, n) for qid, s, n in histogram if qid == "T1"]) == 1


async def test_median_counts_only_the_estates_in_scope(db: Database, clock: TestClock) -> None:
    round_id = await open_round(db, clock)
    await answered_after(db, clock, round_id, 9001, [10])
    await answered_after(db, clock, round_id, 9002, [500], estate_id=2)
    async with db.read() as repo:
        assert await repo.funnel.answer_time_histogram(round_id, [1]) == [("T1", 10, 1)]
        assert await repo.funnel.answer_time_histogram(round_id, []) == []
        assert await repo.funnel.firm_count([2]) == 1


async def test_times_past_ninety_minutes_count_to_the_minute(db: Database, clock: TestClock) -> None:
    round_id = await open_round(db, clock)
    await answered_after(db, clock, round_id, 9001, [2 * 3600 + 29])
    async with db.read() as repo:
        assert await repo.funnel.answer_time_histogram(round_id, None) == [("T1", 2 * 3600, 1)]


def test_median_of_repeated_values() -> None:
    assert median_of([(10, 2), (30, 1)]) == 10
    assert median_of([(10, 2), (30, 2)]) == 20


def test_a_draft_stopped_at_the_question_on_screen() -> None:
    assert stopped_at("T5", "T3", QUESTIONNAIRE) == "T5"
    assert stopped_at(REVIEW, "P3", QUESTIONNAIRE) == REVIEW


def test_a_draft_without_a_screen_stopped_at_its_last_answer() -> None:
    assert stopped_at(None, "T3", QUESTIONNAIRE) == "T3"
    assert stopped_at(None, None, QUESTIONNAIRE) is None


