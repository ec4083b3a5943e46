"""Where firms give up in the open (or latest) round: for an admin every estate, for a manager
their own estates (or one of them).

- **Stopped drafts**: submissions not submitted, by the question on their owner's screen (the
  draft's cursor; if it has none, the last question answered), in questionnaire order, the
  review screen last.
- **Time per question**: the median of the seconds between an answer and the submission's
  previous answer (the first one: since the submission was started). An answer changed later
  counts from its last change. A question's median is shown only from ``MIN_GROUP`` answers.
- **Never started**: of the firms whose round announcement was delivered (outbox status
  ``sent``), those with no submission row.

With fewer than ``MIN_GROUP`` firms in the scope nothing but their number is shown: a count or a
share of two or three firms would tell the manager which firm it is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import median

from bot.delivery.keys import round_key_parts
from bot.domain.questionnaire import load_questionnaire
from bot.domain.questionnaire.model import Questionnaire
from bot.domain.ranking import MIN_GROUP
from bot.services.access import Access, audit
from storage.models import Round
from storage.repositories import Repositories

#: The review screen, as a draft's cursor.
REVIEW = "review"
ANNOUNCEMENT_KIND = "announcement"


@dataclass(frozen=True)
class Timing:
    qid: str
    #: None when fewer than MIN_GROUP answers were timed.
    median_seconds: float | None
    answers: int


@dataclass
class FunnelView:
    round: Round | None
    #: None: every estate; else the estates in scope.
    estate_ids: tuple[int, ...] | None
    firms: int
    questionnaire: Questionnaire | None = None
    #: Fewer than MIN_GROUP firms in scope: only ``firms`` is filled in.
    withheld: bool = False
    #: (question id or REVIEW, drafts stopped there), questionnaire order, the review last.
    stops: list[tuple[str, int]] = field(default_factory=list)
    timings: list[Timing] = field(default_factory=list)
    announced: int = 0
    never_started: int = 0

    @property
    def drafts(self) -> int:
        return sum(n for _, n in self.stops)


def scope_of(access: Access, estate_id: int | None) -> tuple[int, ...] | None:
    """The estates a funnel covers: the one asked for, else an admin's every estate (None) or a
    manager's own. The caller has checked ``access.may_manage(estate_id)``."""
    if estate_id is not None:
        return (estate_id,)
    return None if access.is_admin else access.estates


def stopped_at(cursor: str | None, last_answered: str | None, questionnaire: Questionnaire) -> str | None:
    if cursor == REVIEW or (cursor is not None and questionnaire.has_question(cursor)):
        return cursor
    if last_answered is not None and questionnaire.has_question(last_answered):
        return last_answered
    return None


async def funnel_view(repo: Repositories, access: Access, estate_id: int | None) -> FunnelView:
    """The funnel of the open (or latest) round in the user's scope; audited as a view."""
    scope = scope_of(access, estate_id)
    await audit(repo, user_id=access.user_id, action="funnel",
                target=f"estate:{estate_id}" if estate_id is not None else ("all" if scope is None else "own estates"))
    round_ = await repo.reports.current_or_latest_round()
    view = FunnelView(round=round_, estate_ids=scope, firms=await repo.funnel.firm_count(scope))
    if round_ is None:
        return view
    if view.firms < MIN_GROUP:
        view.withheld = True
        return view
    questionnaire = load_questionnaire(round_.questionnaire_version)
    view.questionnaire = questionnaire
    order = {q.id: i for i, q in enumerate(questionnaire.questions)}
    order[REVIEW] = len(order)
    stops = Counter(
        where for cursor, last in await repo.funnel.draft_positions(round_.id, scope)
        if (where := stopped_at(cursor, last, questionnaire)) is not None
    )
    view.stops = sorted(stops.items(), key=lambda item: order[item[0]])
    view.timings = timings(await repo.funnel.answer_seconds(round_.id, scope), questionnaire)
    prefix, suffix = round_key_parts(round_.id, ANNOUNCEMENT_KIND)
    view.announced, view.never_started = await repo.funnel.announcement_reach(round_.id, prefix, suffix, scope)
    return view


def timings(samples: Sequence[tuple[str, float]], questionnaire: Questionnaire) -> list[Timing]:
    """The median seconds per question, in questionnaire order, for the questions answered."""
    by_question: dict[str, list[float]] = {}
    for qid, seconds in samples:
        by_question.setdefault(qid, []).append(max(0.0, seconds))
    out = []
    for q in questionnaire.questions:
        values = by_question.get(q.id)
        if values:
            out.append(Timing(q.id, median(values) if len(values) >= MIN_GROUP else None, len(values)))
    return out
