"""Where firms give up in the open (or latest) round: for an admin every estate, for a manager
their own estates (or one of them).

- **Stopped drafts**: submissions not submitted, by the question on their owner's screen (the
  draft's cursor; if it has none, the last question answered), in questionnaire order, the
  review screen last.
- **Time per question**: the median of the seconds between an answer and the submission's
  previous answer (the first one: since the submission was started), to the second under 90
  minutes and to the minute beyond (the repository counts answers per such step). An answer changed later
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

from bot.delivery.keys import round_key_parts
from bot.domain.questionnaire import load_questionnaire
from bot.domain.questionnaire.model import Questionnaire
from bot.domain.ranking import MIN_GROUP
from bot.services.access import Access, audit
from storage.database import Database
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


async def funnel_report(db: Database, access: Access, estate_id: int | None) -> FunnelView:
    """The funnel in the user's scope, read on a snapshot (the writer is not held while a
    national round's answers are counted), then audited as a view."""
    async with db.read() as repo:
        view = await funnel_view(repo, access, estate_id)
    async with db.transaction() as repo:
        await audit(repo, user_id=access.user_id, action="funnel",
                    target=f"estate:{estate_id}" if estate_id is not None else ("all" if view.estate_ids is None
                                                                                 else "own estates"))
    return view


async def funnel_view(repo: Repositories, access: Access, estate_id: int | None) -> FunnelView:
    """The funnel of the open (or latest) round in the user's scope."""
    scope = scope_of(access, estate_id)
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
    stops: Counter[str] = Counter()
    for cursor, last, drafts in await repo.funnel.draft_positions(round_.id, scope):
        if (where := stopped_at(cursor, last, questionnaire)) is not None:
            stops[where] += drafts
    view.stops = sorted(stops.items(), key=lambda item: order[item[0]])
    view.timings = timings(await repo.funnel.answer_time_histogram(round_.id, scope), questionnaire)
    prefix, suffix = round_key_parts(round_.id, ANNOUNCEMENT_KIND)
    view.announced, view.never_started = await repo.funnel.announcement_reach(round_.id, prefix, suffix, scope)
    return view


def median_of(histogram: Sequence[tuple[int, int]]) -> float:
    """The median of values given as (value, how many times); the mean of the middle two for an
    even count."""
    ordered = sorted(histogram)
    total = sum(n for _, n in ordered)
    wanted = [(total - 1) // 2, total // 2]  # 0-based ranks of the middle value(s)
    found: list[int] = []
    seen = 0
    for value, n in ordered:
        while wanted and wanted[0] < seen + n:
            found.append(value)
            wanted.pop(0)
        seen += n
    return sum(found) / len(found)


def timings(histogram: Sequence[tuple[str, int, int]], questionnaire: Questionnaire) -> list[Timing]:
    """The questions answered, in questionnaire order, with their median (from MIN_GROUP answers)."""
    by_question: dict[str, list[tuple[int, int]]] = {}
    for qid, seconds, n in histogram:
        by_question.setdefault(qid, []).append((seconds, n))
    out = []
    for q in questionnaire.questions:
        if q.id in by_question:
            answers = sum(n for _, n in by_question[q.id])
            out.append(Timing(q.id, median_of(by_question[q.id]) if answers >= MIN_GROUP else None, answers))
    return out
