"""A firm that answered but never submitted hears, when the round closes, that its answers are not
scored, and /myrank says so instead of "not published yet"."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from bot.emulator import FakeBotApi
from storage.database import Database
from tests.support.clock import TestClock
from tests.support.factories import add_firm, full_answers, submit
from tests.support.khooshe import Khooshe, start_khooshe, stop_khooshe
from tests.support.scenarios import OWNERS, prepare_closed_round

DRAFTER = 5301  # answered three questions, never submitted
SILENT = 5302  # never started
REOPENER = 5303  # submitted, reopened the answers to change them, left them so

NOTICE = "پاسخ‌های شما پیش از بسته شدن ارسال نشده بود"


@pytest_asyncio.fixture
async def closing(api: FakeBotApi, db_path: Path) -> AsyncIterator[Khooshe]:
    async with Database(db_path) as db:
        round_id = await prepare_closed_round(db, OWNERS)
        drafter = await add_firm(db, DRAFTER)
        await submit(db, round_id, drafter, {"T1": "yes", "T2": "no", "T3": ["social"]}, status="draft")
        await add_firm(db, SILENT)
        reopener = await add_firm(db, REOPENER)
        await submit(db, round_id, reopener, full_answers(1))
        async with db.transaction() as repo:
            submission = await repo.submissions.for_firm(round_id=round_id, firm_id=reopener)
            assert submission is not None and await repo.submissions.reopen(submission.id)
    for uid in (*OWNERS, DRAFTER, SILENT, REOPENER):
        api.user(uid)
    running = await start_khooshe(api, db_path, clock=TestClock(), seeded=True, tick_seconds=3600)
    await running.tick()  # its closing time has passed: closed and scored by the scheduler
    await running.drain()
    yield running
    await stop_khooshe(running)


async def test_a_firm_with_unsubmitted_answers_is_told_when_the_round_closes(closing: Khooshe) -> None:
    notice = await closing.user(DRAFTER).wait_for(NOTICE)
    assert "«Autumn 1405»" in notice.text
    assert notice.buttons == [["🏠 منو"]]


async def test_firms_that_submitted_or_never_started_get_no_closing_notice(closing: Khooshe) -> None:
    for uid in (OWNERS[0], SILENT):
        assert [m.text for m in closing.api.messages(uid) if NOTICE in m.text] == []


async def test_myrank_says_the_answers_were_not_submitted(closing: Khooshe) -> None:
    owner = closing.user(DRAFTER)
    await owner.wait_for(NOTICE)
    await owner.send("/myrank")
    reply = await owner.wait_for("ارسال نشد")
    assert "«Autumn 1405»" in reply.text and "منتشر" not in reply.text
    assert reply.buttons == [["🏠 منو"]]


async def test_answers_reopened_and_left_complete_are_scored_at_the_close(closing: Khooshe) -> None:
    async with closing.db.read() as repo:
        firm = await repo.firms.by_owner(REOPENER)
        round_ = (await repo.rounds.all())[0]
        assert firm is not None
        score = await repo.scores.for_firm(round_.id, firm.id)
    assert score is not None and score.composite is not None
    assert [m.text for m in closing.api.messages(REOPENER) if NOTICE in m.text] == []
