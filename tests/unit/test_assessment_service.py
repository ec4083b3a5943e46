"""The assessment's use cases on a real SQLite file: each answer is committed with the next
cursor, back and edit move the cursor, ticks wait for Done, submit refuses an incomplete draft."""

from __future__ import annotations

import pytest
import pytest_asyncio

from bot.domain.questionnaire.answers import MSG_BUTTONS, InvalidAnswer
from bot.services.assessment import REVIEW, AssessmentService, Sitting, resubmit_reopened
from storage.database import Database
from tests.support.clock import TEHRAN, TestClock, tehran
from tests.support.factories import add_firm, full_answers

OWNER = 6001


@pytest_asyncio.fixture
async def db(seeded_db: Database) -> Database:
    await add_firm(seeded_db, OWNER)
    return seeded_db


@pytest.fixture
def service(db: Database) -> AssessmentService:
    return AssessmentService(db, TestClock(), TEHRAN)


async def stored(db: Database, sitting: Sitting) -> tuple[str | None, dict[str, object]]:
    async with db.read() as repo:
        submission = await repo.submissions.get(sitting.submission.id)
        answers = await repo.answers.all(sitting.submission.id)
    assert submission is not None
    return submission.cursor, answers


async def test_begin_starts_a_draft_and_then_resumes_it(service: AssessmentService) -> None:
    assert (await service.begin(999)).outcome == "unregistered"
    begun = await service.begin(OWNER)
    assert begun.outcome == "new" and begun.cursor == "T1" and begun.sitting is not None
    assert (await service.answer_press(begun.sitting, begun.sitting.questions[0], "o.yes")) == ("T2", "yes")
    again = await service.begin(OWNER)
    assert again.outcome == "resume" and again.cursor == "T2" and again.answered == 1


async def test_each_answer_is_committed_with_the_next_cursor(db: Database, service: AssessmentService) -> None:
    sitting = (await service.begin(OWNER)).sitting
    assert sitting is not None
    cursor = await service.answer(sitting, "T1", "yes")
    assert cursor == "T2"
    assert await stored(db, sitting) == ("T2", {"T1": "yes"})


async def test_back_moves_the_cursor_and_the_next_answer_returns_past_answered_ones(
    db: Database, service: AssessmentService,
) -> None:
    sitting = (await service.begin(OWNER)).sitting
    assert sitting is not None
    await service.answer(sitting, "T1", "yes")
    await service.answer(sitting, "T2", "no")
    assert await service.back(sitting, "T3") == "T2"
    assert (await stored(db, sitting))[0] == "T2"
    assert await service.back(sitting, "T1") == "T1"  # nothing before the first question
    assert await service.answer(sitting, "T2", "yes") == "T3"


async def test_ticks_wait_for_done_and_an_empty_done_is_refused(db: Database, service: AssessmentService) -> None:
    sitting = (await service.begin(OWNER)).sitting
    assert sitting is not None
    t3 = sitting.question("T3")
    assert t3 is not None
    with pytest.raises(InvalidAnswer):
        await service.answer_press(sitting, t3, "done")
    assert await service.tick(sitting, t3, "social") == ["social"]
    assert "T3" not in (await stored(db, sitting))[1]
    reloaded = await service.load(OWNER)
    assert reloaded is not None
    assert await service.answer_press(reloaded, t3, "done") == ("T4", ["social"])
    assert (await stored(db, reloaded))[1]["T3"] == ["social"]


async def test_a_typed_answer_that_breaks_the_rules_stores_nothing(db: Database, service: AssessmentService) -> None:
    sitting = (await service.begin(OWNER)).sitting
    assert sitting is not None
    assert (await service.answer_typed(sitting, "12")).outcome == "buttons"
    await service.answer(sitting, "T8", 10)  # jump: T1–T7 still open, so the cursor goes back to T1
    await service.back(sitting, "T9")
    reloaded = await service.load(OWNER)
    assert reloaded is not None and reloaded.cursor == "T8"
    refused = await service.answer_typed(reloaded, "150")
    assert refused.outcome == "invalid" and refused.error is not None and refused.cursor == "T8"
    assert (await stored(db, reloaded))[1]["T8"] == 10
    saved = await service.answer_typed(reloaded, "40")
    assert saved.outcome == "saved" and (await stored(db, reloaded))[1]["T8"] == 40


async def test_submit_sends_an_incomplete_draft_to_its_first_missing_question(
    db: Database, service: AssessmentService,
) -> None:
    sitting = (await service.begin(OWNER)).sitting
    assert sitting is not None
    await service.answer(sitting, "T1", "yes")
    result = await service.submit(sitting)
    assert result.missing == "T2" and result.scores is None
    assert (await stored(db, sitting))[0] == "T2"
    assert (await service.begin(OWNER)).outcome == "resume"


async def test_a_complete_draft_is_submitted_with_its_scores(db: Database, service: AssessmentService) -> None:
    sitting = (await service.begin(OWNER)).sitting
    assert sitting is not None
    for qid, value in full_answers(2).items():
        await service.answer(sitting, qid, value)
    result = await service.submit(sitting)
    assert result.missing is None and result.scores is not None and result.scores.complete
    assert await service.load(OWNER) is None
    begun = await service.begin(OWNER)
    assert begun.outcome == "submitted" and begun.scores == result.scores


async def test_edit_from_the_review_moves_only_from_the_review(db: Database, service: AssessmentService) -> None:
    sitting = (await service.begin(OWNER)).sitting
    assert sitting is not None
    sid = str(sitting.submission.id)
    assert await service.edit(sitting, sid, "T2") is None  # on T1, not on the review
    for qid, value in full_answers(1).items():
        await service.answer(sitting, qid, value)
    on_review = await service.load(OWNER)
    assert on_review is not None and on_review.cursor == REVIEW
    assert await service.edit(on_review, "0", "T2") is None
    assert await service.edit(on_review, sid, "NOPE") is None
    assert await service.edit(on_review, sid, "T2") == "T2"
    assert (await stored(db, on_review))[0] == "T2"
    assert await service.answer(on_review, "T2", "no") == REVIEW


async def test_leaving_keeps_the_answers(db: Database, service: AssessmentService) -> None:
    assert await service.leave(OWNER) is False
    sitting = (await service.begin(OWNER)).sitting
    assert sitting is not None
    await service.answer(sitting, "T1", "yes")
    assert await service.leave(OWNER) is True
    async with db.read() as repo:
        submission = await repo.submissions.get(sitting.submission.id)
    assert submission is not None and not submission.active
    assert (await stored(db, sitting))[1] == {"T1": "yes"}


async def test_a_typed_yes_on_a_yes_no_question_is_stored_as_its_option(
    db: Database, service: AssessmentService,
) -> None:
    sitting = (await service.begin(OWNER)).sitting
    assert sitting is not None
    typed = await service.answer_typed(sitting, "آره")
    assert (typed.outcome, typed.value, typed.cursor) == ("chosen", "yes", "T2")
    assert await stored(db, sitting) == ("T2", {"T1": "yes"})


async def test_typed_text_that_is_no_option_of_a_button_question_stores_nothing(
    db: Database, service: AssessmentService,
) -> None:
    sitting = (await service.begin(OWNER)).sitting
    assert sitting is not None
    assert (await service.answer_typed(sitting, "شاید")).outcome == "buttons"
    assert await stored(db, sitting) == ("T1", {})


async def test_a_two_digit_year_pivots_on_the_clocks_solar_hijri_year(db: Database) -> None:
    # The same «۰۶» is 1406 once the clock is in 1406, and 1306 while it was 1405.
    clock = TestClock(tehran("1406/02/01 10:00"))
    later = AssessmentService(db, clock, TEHRAN)
    sitting = (await later.begin(OWNER)).sitting
    assert sitting is not None
    assert await later.answer(sitting, "E1", [70, 20, 10]) == "E2"
    reloaded = await later.load(OWNER)
    assert reloaded is not None
    typed = await later.answer_typed(reloaded, "۰۶")
    assert typed.outcome == "saved"
    assert (await stored(db, reloaded))[1]["E2"] == 1406


async def test_expected_names_what_the_question_on_screen_needs(service: AssessmentService) -> None:
    sitting = (await service.begin(OWNER)).sitting
    assert sitting is not None
    assert (needed := service.expected(sitting)) is not None
    assert needed.msgid == MSG_BUTTONS


async def submitted_sitting(service: AssessmentService) -> Sitting:
    """The owner's complete answers to the open round, submitted."""
    sitting = (await service.begin(OWNER)).sitting
    assert sitting is not None
    for qid, value in full_answers(1).items():
        await service.answer(sitting, qid, value)
    assert (await service.submit(sitting)).scores is not None
    return sitting


async def test_reopening_submitted_answers_opens_them_on_the_review(db: Database, service: AssessmentService) -> None:
    submitted = await submitted_sitting(service)
    reopened = await service.reopen(OWNER)
    assert reopened is not None and reopened.submission.status == "draft"
    assert reopened.submission.id == submitted.submission.id
    assert await stored(db, reopened) == (REVIEW, full_answers(1))


async def test_nothing_submitted_means_nothing_to_reopen(service: AssessmentService) -> None:
    await service.begin(OWNER)
    assert await service.reopen(OWNER) is None


async def test_at_the_close_reopened_answers_still_complete_are_submitted_again(
    db: Database, service: AssessmentService,
) -> None:
    await submitted_sitting(service)
    reopened = await service.reopen(OWNER)
    assert reopened is not None
    await service.answer(reopened, "T8", 60)
    async with db.transaction() as repo:
        assert await resubmit_reopened(repo, reopened.round) == 1
        again = await repo.submissions.get(reopened.submission.id)
    assert again is not None and again.status == "submitted"


async def test_at_the_close_reopened_answers_left_incomplete_stay_a_draft(db: Database, service: AssessmentService) -> None:
    await submitted_sitting(service)
    reopened = await service.reopen(OWNER)
    assert reopened is not None
    async with db.transaction() as repo:
        await repo.answers.delete(submission_id=reopened.submission.id, qid="T4")
    async with db.transaction() as repo:
        assert await resubmit_reopened(repo, reopened.round) == 0
        again = await repo.submissions.get(reopened.submission.id)
    assert again is not None and again.status == "draft"
