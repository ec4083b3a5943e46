"""Where an owner stands in the open round, and which question comes next."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain.calendar import solar_year
from bot.domain.questionnaire import Question, Questionnaire, load_questionnaire
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


def questions_for(round_: Round, firm: Firm) -> list[Question]:
    return load_questionnaire(round_.questionnaire_version).questions_for(firm.sector)


def questionnaire_of(round_: Round) -> Questionnaire:
    return load_questionnaire(round_.questionnaire_version)


async def status_for(repo: Repositories, *, firm: Firm | None, now: datetime) -> RoundStatus:
    """Finds the open round and the firm's progress in it."""
    round_ = await repo.rounds.open_round()
    if round_ is None:
        return RoundStatus(round=None, next_round=await repo.rounds.next_scheduled(now))
    if firm is None:
        return RoundStatus(round=round_)
    questions = questions_for(round_, firm)
    submission = await repo.submissions.for_firm(round_id=round_.id, firm_id=firm.id)
    answered = 0
    if submission is not None:
        answers = await repo.answers.all(submission.id)
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
