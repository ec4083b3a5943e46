"""A repeat assessment starts from the firm's answers to its last round: what carries over, what
does not, and where the owner lands."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio

from bot.services.assessment import REVIEW, AssessmentService, Sitting
from storage.database import Database
from tests.support.clock import TEHRAN, TestClock
from tests.support.factories import add_firm, full_answers, submit

OWNER = 6101


@pytest_asyncio.fixture
async def db(seeded_db: Database) -> Database:
    await add_firm(seeded_db, OWNER)
    return seeded_db


@pytest.fixture
def service(db: Database) -> AssessmentService:
    return AssessmentService(db, TestClock(), TEHRAN)


async def earlier_round(db: Database, answers: dict[str, Any], *, title: str = "Summer 1405", days_ago: int = 100) -> None:
    """A closed round before the open one, with the owner's firm's submitted answers."""
    now = TestClock().now()
    async with db.transaction() as repo:
        round_ = await repo.rounds.create(
            title=title, questionnaire_version=1, opens_at=now - timedelta(days=days_ago),
            closes_at=now - timedelta(days=days_ago - 30), state="closed",
        )
        firm = await repo.firms.by_owner(OWNER)
    assert firm is not None
    await submit(db, round_.id, firm.id, answers)


async def begun_sitting(service: AssessmentService) -> Sitting:
    begun = await service.begin(OWNER)
    assert begun.sitting is not None
    return begun.sitting


async def stored(db: Database, sitting: Sitting) -> tuple[str | None, dict[str, object]]:
    async with db.read() as repo:
        submission = await repo.submissions.get(sitting.submission.id)
        answers = await repo.answers.all(sitting.submission.id)
    assert submission is not None
    return submission.cursor, answers


async def test_a_firm_without_an_earlier_submission_is_offered_nothing(service: AssessmentService) -> None:
    begun = await service.begin(OWNER)
    assert begun.outcome == "new" and begun.previous is None


async def test_a_new_draft_names_the_latest_earlier_round_answered(db: Database, service: AssessmentService) -> None:
    await earlier_round(db, full_answers(0), title="Spring 1405", days_ago=200)
    await earlier_round(db, full_answers(1), title="Summer 1405", days_ago=100)
    begun = await service.begin(OWNER)
    assert begun.previous is not None and begun.previous.title == "Summer 1405"


async def test_taking_over_fills_every_answer_but_the_note_and_opens_the_review(
    db: Database, service: AssessmentService,
) -> None:
    previous = {**full_answers(2), "P3": "we need a new boiler"}
    await earlier_round(db, previous)
    sitting = await begun_sitting(service)
    reused = await service.reuse_previous(sitting)
    cursor, answers = await stored(db, sitting)
    expected = {qid: value for qid, value in previous.items() if qid != "P3"}
    assert (reused.cursor, cursor, answers) == (REVIEW, REVIEW, expected)
    assert reused.carried == len(expected) and reused.title == "Summer 1405"


async def test_the_taken_over_answers_submit_with_the_scores_they_had(db: Database, service: AssessmentService) -> None:
    await earlier_round(db, full_answers(1))
    sitting = await begun_sitting(service)
    await service.reuse_previous(sitting)
    submitted = await service.submit(sitting)
    assert submitted.missing is None and submitted.scores is not None
    assert submitted.scores.composite is not None and submitted.scores.complete


async def test_answers_already_given_in_this_round_are_kept(db: Database, service: AssessmentService) -> None:
    await earlier_round(db, full_answers(1))  # T1 "yes"
    sitting = await begun_sitting(service)
    await service.answer(sitting, "T1", "no")
    await service.reuse_previous(sitting)
    _cursor, answers = await stored(db, sitting)
    assert answers["T1"] == "no"


async def test_an_answer_the_questionnaire_no_longer_takes_is_asked_again(db: Database, service: AssessmentService) -> None:
    await earlier_round(db, {**full_answers(1), "T4": "abacus", "T8": 250})
    sitting = await begun_sitting(service)
    reused = await service.reuse_previous(sitting)
    cursor, answers = await stored(db, sitting)
    assert (reused.cursor, cursor) == ("T4", "T4")
    assert "T4" not in answers and "T8" not in answers


async def test_taking_over_twice_adds_nothing_the_second_time(db: Database, service: AssessmentService) -> None:
    await earlier_round(db, full_answers(1))
    sitting = await begun_sitting(service)
    await service.reuse_previous(sitting)
    again = await service.reuse_previous(sitting)
    assert (again.carried, again.cursor) == (0, REVIEW)
