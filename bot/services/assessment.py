"""Where an owner stands in the open round, which question comes next, and the use cases of
answering it (``AssessmentService``).

Every answer is committed together with the next cursor (the question on screen) before the
handler shows that question, so after a restart the conversation resumes there and nothing is
asked twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.domain.calendar import solar_year
from bot.domain.questionnaire import Question, Questionnaire, load_questionnaire
from bot.domain.questionnaire.answers import (
    InvalidAnswer,
    check_refusal,
    choose,
    expectation,
    finish_multi,
    parse_typed,
    toggle,
    typed_choice,
    validate_stored,
)
from bot.domain.scoring import SubmissionScore, score_submission
from storage.database import Database
from storage.models import Firm, Round, Submission
from storage.repositories import Repositories

REVIEW = "review"


@dataclass(frozen=True)
class RoundStatus:
    """The open round (if any) as one firm sees it."""

    round: Round | None
    next_round: Round | None = None
    submission: Submission | None = None
    answered: int = 0
    total: int = 0

    @property
    def submitted(self) -> bool:
        return self.submission is not None and self.submission.status == "submitted"


def reference_year(round_: Round) -> int:
    """The last complete Solar Hijri year when the round opened: the "last fiscal year"."""
    return solar_year(round_.opens_at) - 1


def questions_for(round_: Round, firm: Firm, answers: Mapping[str, Any]) -> list[Question]:
    """The questions the firm is asked, given its answers so far: those of its sector, less the
    ones an earlier answer skips (questionnaire version 2)."""
    return load_questionnaire(round_.questionnaire_version).visible(firm.sector, answers)


def questionnaire_of(round_: Round) -> Questionnaire:
    return load_questionnaire(round_.questionnaire_version)


async def status_for(repo: Repositories, *, firm: Firm | None, now: datetime) -> RoundStatus:
    """Finds the open round and the firm's progress in it."""
    round_ = await repo.rounds.open_round()
    if round_ is None:
        return RoundStatus(round=None, next_round=await repo.rounds.next_scheduled(now))
    if firm is None:
        return RoundStatus(round=round_)
    submission = await repo.submissions.for_firm(round_id=round_.id, firm_id=firm.id)
    answers = await repo.answers.all(submission.id) if submission is not None else {}
    questions = questions_for(round_, firm, answers)
    answered = sum(1 for q in questions if q.id in answers)
    return RoundStatus(
        round=round_, submission=submission, answered=answered, total=len(questions)
    )


def first_unanswered(questions: list[Question], answers: dict[str, Any]) -> str:
    """The first question without an answer, or the review screen when all are answered."""
    for q in questions:
        if q.id not in answers:
            return q.id
    return REVIEW


def after(questions: list[Question], answers: dict[str, Any], current: str) -> str:
    """Where to go once ``current`` is answered: the next unanswered question after it, then
    any earlier one still open, then the review screen.

    After "back" this skips questions already answered; after an edit from the review screen
    it returns straight to the review.
    """
    ids = [q.id for q in questions]
    start = ids.index(current) + 1 if current in ids else 0
    for qid in ids[start:] + ids[:start]:
        if qid not in answers:
            return qid
    return REVIEW


def before(questions: list[Question], current: str) -> str | None:
    """The question before ``current`` (the last one when on the review screen)."""
    ids = [q.id for q in questions]
    if current == REVIEW:
        return ids[-1] if ids else None
    index = ids.index(current) if current in ids else 0
    return ids[index - 1] if index > 0 else None


def carried_over(
    round_: Round, firm: Firm, answers: Mapping[str, Any], previous: Mapping[str, Any], *,
    current_year: int,
) -> dict[str, Any]:
    """The earlier round's answers that can stand for this round's unanswered questions: those
    the firm is asked, still well-formed (an option that was dropped, a year now out of range
    do not carry) and not refused given the other answers. Words of the firm's own (free-text
    notes) belong to their round and never carry."""
    free_text = questionnaire_of(round_).free_text_ids
    candidates = {
        qid: value for qid, value in previous.items() if qid not in answers and qid not in free_text
    }
    merged = {**answers, **candidates}
    carried: dict[str, Any] = {}
    for question in questions_for(round_, firm, merged):
        if question.id not in candidates:
            continue
        value = candidates[question.id]
        if not validate_stored(question, value, current_year=current_year):
            continue
        try:
            check_refusal(question, value, {**answers, **carried})
        except InvalidAnswer:
            continue
        carried[question.id] = value
    # Dropping a refused or malformed answer can undo a skip it caused; keep only answers to
    # questions still asked once the carried set is final.
    asked = {q.id for q in questions_for(round_, firm, {**answers, **carried})}
    return {qid: value for qid, value in carried.items() if qid in asked}


async def resubmit_reopened(repo: Repositories, round_: Round) -> int:
    """At a round's close: answers that were submitted, reopened for a change and left so are
    submitted again when still complete (the owner's submission stands); returns how many."""
    free_text = questionnaire_of(round_).free_text_ids
    resubmitted = 0
    for submission in await repo.submissions.reopened_drafts(round_.id):
        firm = await repo.firms.by_id(submission.firm_id)
        answers = await repo.answers.all(submission.id)
        if firm is not None and provisional(round_, firm, answers).complete:
            await repo.submissions.submit(submission.id, free_text=free_text)
            resubmitted += 1
    return resubmitted


def provisional(round_: Round, firm: Firm, answers: dict[str, Any]) -> SubmissionScore:
    """Scores the answers the way the round will score them when it closes."""
    return score_submission(
        questionnaire_of(round_), answers, sector=firm.sector,
        reference_year=reference_year(round_), weights=round_.weights,
    )


@dataclass
class Sitting:
    """Everything one update needs: the round, the firm, its draft and answers."""

    round: Round
    firm: Firm
    submission: Submission
    answers: dict[str, Any]

    @property
    def questions(self) -> list[Question]:
        """The questions this firm is asked, as its answers stand now (skips change with them)."""
        return questions_for(self.round, self.firm, self.answers)

    @property
    def cursor(self) -> str:
        return self.submission.cursor or REVIEW

    def question(self, qid: str) -> Question | None:
        return next((q for q in self.questions if q.id == qid), None)

    def is_current(self, submission_id: str, qid: str) -> bool:
        """Whether a button (of this submission, for ``qid``) belongs to the screen now shown;
        a double tap or an old message's button does not."""
        return str(self.submission.id) == submission_id and qid == self.cursor

    def ticks(self, question: Question) -> list[str]:
        """The options ticked so far: the unconfirmed ticks, else the stored answer."""
        pending = self.submission.pending
        if pending and pending.get("qid") == question.id:
            return list(pending["value"])
        return list(self.answers.get(question.id) or [])


@dataclass(frozen=True)
class Begun:
    """What /assess found: no firm, no open round, already submitted (with the scores), or a
    draft started (``new``) or resumed at ``cursor``."""

    outcome: Literal["unregistered", "closed", "submitted", "new", "resume"]
    round: Round | None = None
    scores: SubmissionScore | None = None
    sitting: Sitting | None = None
    cursor: str = REVIEW
    answered: int = 0
    total: int = 0
    #: The earlier round whose submitted answers can be taken over (a new draft only).
    previous: Round | None = None


@dataclass(frozen=True)
class Reused:
    """The earlier round's answers taken over: how many, and where the owner goes next (the
    review screen, or the first question they still have to answer)."""

    carried: int
    cursor: str
    title: str = ""


@dataclass(frozen=True)
class Typed:
    """A typed answer: on the review screen or a button question it does not answer
    (``review``, ``buttons``), refused (``invalid``, with the reason), saved (``saved``, with
    the next cursor), or a typed yes or no saved as that button's option (``chosen``, with the
    next cursor and the stored value)."""

    outcome: Literal["review", "buttons", "invalid", "saved", "chosen"]
    cursor: str
    error: InvalidAnswer | None = None
    value: Any = None


@dataclass(frozen=True)
class Submitted:
    """Submit pressed: submitted with these scores, or sent back to the first ``missing`` question."""

    scores: SubmissionScore | None = None
    missing: str | None = None


class AssessmentService:
    """Starting, answering, stepping back, editing from the review, submitting and leaving."""

    def __init__(self, db: Database, clock: Clock, zone: ZoneInfo) -> None:
        self.db, self.clock, self.zone = db, clock, zone

    async def load(self, user_id: int) -> Sitting | None:
        """Reads the owner's draft in the open round, or None when there is nothing to answer."""
        async with self.db.read() as repo:
            firm = await repo.firms.by_owner(user_id)
            round_ = await repo.rounds.open_round()
            if firm is None or round_ is None:
                return None
            submission = await repo.submissions.for_firm(round_id=round_.id, firm_id=firm.id)
            if submission is None or submission.status != "draft":
                return None
            answers = await repo.answers.all(submission.id)
        return Sitting(round_, firm, submission, answers)

    async def begin(self, user_id: int) -> Begun:
        """Starts or resumes the draft at its first unanswered question."""
        async with self.db.transaction() as repo:
            firm = await repo.firms.by_owner(user_id)
            if firm is None:
                return Begun("unregistered")
            status = await status_for(repo, firm=firm, now=self.clock.now())
            if status.round is None:
                return Begun("closed")
            if status.submitted:
                assert status.submission is not None
                answers = await repo.answers.all(status.submission.id)
                return Begun("submitted", round=status.round, scores=provisional(status.round, firm, answers))
            first = questions_for(status.round, firm, {})[0]
            submission = await repo.submissions.start(
                round_id=status.round.id, firm_id=firm.id, cursor=first.id
            )
            answers = await repo.answers.all(submission.id)
            cursor = first_unanswered(questions_for(status.round, firm, answers), answers)
            await repo.submissions.move(submission_id=submission.id, cursor=cursor)
            previous = None
            if not answers:
                earlier = await repo.submissions.previous_submitted(firm_id=firm.id, round_id=status.round.id)
                if earlier is not None:
                    previous = await repo.rounds.get(earlier.round_id)
        sitting = await self.load(user_id)
        assert sitting is not None
        return Begun("resume" if answers else "new", round=status.round, sitting=sitting, cursor=cursor,
                     answered=status.answered, total=status.total, previous=previous)

    async def reuse_previous(self, sitting: Sitting) -> Reused:
        """Takes the firm's answers to its latest earlier round over for every question still
        unanswered in this draft, in one transaction with the next cursor: the review screen
        when nothing required is left open, else the first question to answer."""
        async with self.db.transaction() as repo:
            earlier = await repo.submissions.previous_submitted(
                firm_id=sitting.firm.id, round_id=sitting.round.id)
            previous = await repo.answers.all(earlier.id) if earlier is not None else {}
            earlier_round = await repo.rounds.get(earlier.round_id) if earlier is not None else None
            carried = carried_over(sitting.round, sitting.firm, sitting.answers, previous,
                                   current_year=self.current_year())
            answers = {**sitting.answers, **carried}
            # An optional question left (a note) is no reason to stop short of the review.
            required = [q for q in questions_for(sitting.round, sitting.firm, answers) if q.required]
            cursor = first_unanswered(required, answers)
            for qid, value in carried.items():
                await repo.answers.put(submission_id=sitting.submission.id, qid=qid, value=value)
            await repo.submissions.move(submission_id=sitting.submission.id, cursor=cursor)
        sitting.answers = answers
        return Reused(carried=len(carried), cursor=cursor,
                      title=earlier_round.title if earlier_round is not None else "")

    async def answer(self, sitting: Sitting, qid: str, value: Any) -> str:
        """Stores the answer and the next cursor in one transaction; returns the cursor.

        Answers to questions the new answer skips are dropped: they would not count, and should
        the skip be undone later, the question is asked afresh rather than passed over."""
        answers = {**sitting.answers, qid: value}
        skipped = questionnaire_of(sitting.round).skipped(sitting.firm.sector, answers)
        stale = [q for q in skipped if q in answers and q != qid]
        for q in stale:
            del answers[q]
        cursor = after(questions_for(sitting.round, sitting.firm, answers), answers, qid)
        async with self.db.transaction() as repo:
            await repo.answers.put(submission_id=sitting.submission.id, qid=qid, value=value)
            for q in stale:
                await repo.answers.delete(submission_id=sitting.submission.id, qid=q)
            await repo.submissions.move(submission_id=sitting.submission.id, cursor=cursor)
        sitting.answers = answers
        return cursor

    async def answer_typed(self, sitting: Sitting, text: str) -> Typed:
        """Parses and stores text typed for the question on screen."""
        question = sitting.question(sitting.cursor)
        if question is None:
            return Typed("review", sitting.cursor)
        if not question.is_typed:
            option = typed_choice(question, text)
            if option is None:
                return Typed("buttons", question.id)
            try:
                check_refusal(question, option, sitting.answers)
            except InvalidAnswer as exc:
                return Typed("invalid", question.id, error=exc)
            return Typed("chosen", await self.answer(sitting, question.id, option), value=option)
        this_year = self.current_year()
        try:
            value = parse_typed(question, text, current_year=this_year)
            check_refusal(question, value, sitting.answers)
        except InvalidAnswer as exc:
            return Typed("invalid", question.id, error=exc)
        return Typed("saved", await self.answer(sitting, question.id, value), value=value)

    def current_year(self) -> int:
        """The Solar Hijri year now, by the app's clock: the latest year a year question takes,
        and the pivot of two-digit years."""
        return solar_year(self.clock.now().astimezone(self.zone))

    def expected(self, sitting: Sitting) -> InvalidAnswer | None:
        """What the question on screen needs, as one short line; None on the review screen."""
        question = sitting.question(sitting.cursor)
        if question is None:
            return None
        return expectation(question, current_year=self.current_year())

    async def answer_press(self, sitting: Sitting, question: Question, op: str) -> tuple[str, Any] | None:
        """Stores the answer a button gives (``o.OPTION``, ``done`` after ticking, ``skip``);
        returns the next cursor and the value, or None for a button that answers nothing.
        Raises InvalidAnswer (nothing stored) when the answer breaks the question's rules."""
        if op == "done":
            value: Any = finish_multi(question, sitting.ticks(question))
        elif op.startswith("o."):
            value = choose(question, op[2:])
            check_refusal(question, value, sitting.answers)
        elif op == "skip" and not question.required:
            value = None
        else:
            return None
        return await self.answer(sitting, question.id, value), value

    async def tick(self, sitting: Sitting, question: Question, option: str) -> list[str] | None:
        """Ticks or unticks an option of a multiple-choice question, kept until Done; returns
        the ticks, or None when the option cannot be ticked (nothing stored)."""
        try:
            ticked = toggle(question, sitting.ticks(question), option)
        except InvalidAnswer:
            return None
        async with self.db.transaction() as repo:
            await repo.submissions.set_pending(submission_id=sitting.submission.id, qid=question.id, value=ticked)
        return ticked

    async def _move(self, sitting: Sitting, cursor: str) -> None:
        async with self.db.transaction() as repo:
            await repo.submissions.move(submission_id=sitting.submission.id, cursor=cursor)

    async def back(self, sitting: Sitting, current: str) -> str:
        """Moves to the question before ``current`` (a question, or the review); returns it."""
        target = before(sitting.questions, current) or current
        await self._move(sitting, target)
        return target

    async def edit(self, sitting: Sitting, submission_id: str, qid: str) -> str | None:
        """Moves from the review screen to ``qid`` to change its answer; None (nothing moved)
        when the button is not of the review now shown."""
        if str(sitting.submission.id) != submission_id or sitting.cursor != REVIEW or sitting.question(qid) is None:
            return None
        await self._move(sitting, qid)
        return qid

    async def submit(self, sitting: Sitting) -> Submitted:
        """Submits a complete draft; an incomplete one moves to its first missing question."""
        result = provisional(sitting.round, sitting.firm, sitting.answers)
        if not result.complete:
            await self._move(sitting, result.missing[0])
            return Submitted(missing=result.missing[0])
        async with self.db.transaction() as repo:
            await repo.submissions.submit(
                sitting.submission.id, free_text=questionnaire_of(sitting.round).free_text_ids)
        return Submitted(scores=result)

    async def reopen(self, user_id: int) -> Sitting | None:
        """Reopens the owner's submitted answers to the open round for changes, on the review
        screen; None when there is nothing to reopen (no submission, or the round is closing)."""
        now = self.clock.now()
        async with self.db.transaction() as repo:
            firm = await repo.firms.by_owner(user_id)
            round_ = await repo.rounds.open_round()
            if firm is None or round_ is None or round_.closes_at <= now:
                return None
            submission = await repo.submissions.for_firm(round_id=round_.id, firm_id=firm.id)
            if submission is None or not await repo.submissions.reopen(submission.id):
                return None
        return await self.load(user_id)

    async def leave(self, user_id: int) -> bool:
        """Steps out of the draft (every answer stays); False when there was none."""
        sitting = await self.load(user_id)
        if sitting is None:
            return False
        async with self.db.transaction() as repo:
            await repo.submissions.set_active(submission_id=sitting.submission.id, active=False)
        return True
