"""Publishing a closed round: each scored firm gets its summary and chart through the outbox.

The outbox rows hold only ids; the text and the chart are prepared when the row is sent, in the
recipient's language at that moment, so 100,000 charts are never stored.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.delivery.prepared import Prepared, Preparer
from bot.domain.summary import PreviousResult, chart_labels, compose_summary
from bot.i18n import translator
from bot.services.assessment import questionnaire_of
from storage.database import Database
from storage.models import Round
from storage.repositories.outbox import OutboxRow
from storage.repositories.scores import TopEntry

MIN_GROUP = 5
TOP_LIMIT = 100


@dataclass(frozen=True)
class FirmResult:
    """What one firm's summary is made of."""

    text: str
    chart: bytes | None
    caption: str


async def firm_result(
    db: Database, round_: Round, firm_id: int, *, with_chart: bool = True, with_text: bool = True
) -> FirmResult | None:
    """Builds one firm's summary and chart in its owner's language, or None if it has no score."""
    async with db.read() as repo:
        score = await repo.scores.for_firm(round_.id, firm_id)
        firm = await repo.firms.by_id(firm_id)
        if score is None or firm is None:
            return None
        owner = await repo.users.get(firm.owner_id)
        peers = await repo.scores.peers_for(round_.id, "estate", score.estate_id)
        earlier = await repo.scores.previous_published_for_firm(firm_id, round_.id)
        top, _extended = await repo.scores.top(round_.id, TOP_LIMIT)
    lang = owner.language if owner else "fa"
    t = translator(lang)
    questionnaire = questionnaire_of(round_)
    medians = {metric: stat.median for metric, stat in peers.items()} if peers else None
    # "Among the country's top 100" is earned only when more firms than that were scored:
    # among 8, the last one is in the list too.
    in_top = (firm.consent_public and (score.size_nation or 0) > TOP_LIMIT
              and any(entry.firm_id == firm_id for entry in top))
    text = ""
    if with_text:
        text = compose_summary(
            t, lang, firm_name=firm.name, round_title=round_.title, score=score,
            questionnaire=questionnaire, estate_medians=medians, consented_top100=in_top,
            previous=PreviousResult(round_title=earlier[0], composite=earlier[1].composite,
                                    dimensions=earlier[1].dimensions) if earlier is not None else None,
        )
    labels = chart_labels(t, lang, questionnaire)
    chart = None
    if with_chart:
        # matplotlib costs ~30 MB; only a process that draws a chart pays for it.
        from bot.domain.charts import render_dimension_chart

        # Rendering takes tens of milliseconds; a thread keeps the bot answering meanwhile.
        chart = await asyncio.to_thread(
            lambda: render_dimension_chart(score.dimensions, medians, lang=lang,
                                           previous=earlier[1].dimensions if earlier is not None else None,
                                           **labels)
        )
    return FirmResult(text=text, chart=chart, caption=labels["title"])


@dataclass(frozen=True)
class OwnerResult:
    """The latest published result of an owner's firm, as /myrank shows it."""

    registered: bool
    #: Whether a round with a score of the firm has been published.
    published: bool = False
    #: The summary and chart; None also when the score vanished after it was found.
    result: FirmResult | None = None
    #: Nothing published: the latest closed round whose answers the firm never submitted.
    unsubmitted: Round | None = None
    #: Nothing published: the round open now, if the firm can still answer it.
    open_round: Round | None = None


@dataclass(frozen=True)
class PublicRanking:
    """The national top list as everyone may see it: only firms that agreed to be named, with
    their national rank and overall score; None round when nothing is published yet."""

    round: Round | None
    entries: tuple[TopEntry, ...] = ()
    #: How many firms were scored nationally (the field the ranks are out of).
    scored: int = 0


class ResultsService:
    """What a firm owner sees of published results."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def public_ranking(self) -> PublicRanking:
        """The latest published round's top ``TOP_LIMIT``, consenting firms only."""
        async with self.db.read() as repo:
            round_ = await repo.reports.latest_published_round()
            if round_ is None:
                return PublicRanking(round=None)
            top, _extended = await repo.scores.top(round_.id, TOP_LIMIT)
            scored = await repo.scores.count(round_.id)
        return PublicRanking(round=round_, entries=tuple(e for e in top if e.name), scored=scored)

    async def latest_for_owner(self, user_id: int) -> OwnerResult:
        async with self.db.read() as repo:
            firm = await repo.firms.by_owner(user_id)
            score = await repo.scores.latest_published_for_firm(firm.id) if firm else None
            round_ = await repo.rounds.get(score.round_id) if score else None
            unsubmitted = open_round = None
            if firm is not None and (score is None or round_ is None):
                missed = await repo.submissions.latest_unsubmitted_round(firm.id)
                unsubmitted = await repo.rounds.get(missed) if missed is not None else None
                current = await repo.rounds.open_round()
                mine = await repo.submissions.for_firm(round_id=current.id, firm_id=firm.id) if current else None
                open_round = current if current is not None and (mine is None or mine.status == "draft") else None
        if firm is None:
            return OwnerResult(registered=False)
        if score is None or round_ is None:
            return OwnerResult(registered=True, unsubmitted=unsubmitted, open_round=open_round)
        return OwnerResult(registered=True, published=True, result=await firm_result(self.db, round_, firm.id))


def preparers(db: Database) -> dict[str, Preparer]:
    """The worker's preparers for the two parts of a summary: the text, then the chart."""

    async def load(row: OutboxRow, *, chart: bool) -> FirmResult | None:
        async with db.read() as repo:
            round_ = await repo.rounds.get(int(row.payload["round_id"]))
        if round_ is None:
            return None
        return await firm_result(db, round_, int(row.payload["firm_id"]), with_chart=chart, with_text=not chart)

    async def text(row: OutboxRow) -> Prepared | None:
        result = await load(row, chart=False)
        return Prepared("text", text=result.text) if result else None

    async def chart(row: OutboxRow) -> Prepared | None:
        result = await load(row, chart=True)
        return Prepared("photo", photo=result.chart, text=result.caption) if result else None

    return {"summary": text, "chart": chart}
