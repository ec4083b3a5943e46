"""A round's life: opening and closing on time (catching up after downtime), announcements,
reminders and nudges for stale drafts, all queued in the outbox at most once per firm."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.calendar import format_long_date
from bot.i18n import translator
from bot.quiet_hours import QuietHours
from bot.settings import Settings
from bot.text import number
from storage.database import Database
from storage.models import Round
from storage.repositories import Repositories
from storage.repositories.base import stamp

log = logging.getLogger(__name__)

ASSESS_BUTTON = "m:assess"


@dataclass
class TickReport:
    opened: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    queued: int = 0


def round_key(round_id: int, firm_id: int, kind: str) -> str:
    """The outbox key that keeps each (firm, round, kind) to one message."""
    return f"round:{round_id}:firm:{firm_id}:{kind}"


def _assess_button(lang: str, label: str) -> list[list[dict[str, str]]]:
    return [[{"text": translator(lang)(label), "data": ASSESS_BUTTON}]]


def announcement(r: Round, lang: str, settings: Settings) -> dict[str, object]:
    t = translator(lang)
    text = t("📣 The self-assessment «{title}» is open until {date}. It takes about five minutes, and your firm receives its score and rank among its peers.",
             title=r.title, date=format_long_date(r.closes_at, lang, settings.zone))
    return {"type": "text", "text": text, "buttons": _assess_button(lang, "📋 Start the self-assessment")}


def reminder(r: Round, lang: str, days: int, settings: Settings) -> dict[str, object]:
    t = translator(lang)
    text = t.plural(
        "⏰ Only {days} day is left to answer the self-assessment «{title}»; it closes on {date}.",
        "⏰ Only {days} days are left to answer the self-assessment «{title}»; it closes on {date}.",
        days, days=number(days, lang), title=r.title,
        date=format_long_date(r.closes_at, lang, settings.zone),
    )
    return {"type": "text", "text": text, "buttons": _assess_button(lang, "📋 Continue the assessment")}


def stale_nudge(r: Round, lang: str, percent: int, settings: Settings) -> dict[str, object]:
    t = translator(lang)
    text = t("📝 You are {percent}% done with the self-assessment «{title}». Pick up where you left off; it closes on {date}.",
             percent=number(percent, lang), title=r.title,
             date=format_long_date(r.closes_at, lang, settings.zone))
    return {"type": "text", "text": text, "buttons": _assess_button(lang, "📋 Continue the assessment")}


class RoundKeeper:
    """Does whatever is due at ``now``; every step is idempotent, so it can run any time."""

    def __init__(self, db: Database, settings: Settings, quiet: QuietHours) -> None:
        self.db, self.settings, self.quiet = db, settings, quiet

    async def tick(self, now: datetime) -> TickReport:
        report = TickReport()
        async with self.db.transaction() as repo:
            await self._close_due(repo, now, report)
            await self._open_due(repo, now, report)
            current = await repo.rounds.open_round()
            if current is not None:
                report.queued += await self._remind(repo, current, now)
                report.queued += await self._nudge_stale(repo, current, now)
        for round_id in report.closed:
            await self.after_close(round_id, now)
        return report

    async def after_close(self, round_id: int, now: datetime) -> None:
        """Scores and ranks the closed round."""
        from bot.services.ranking import score_round

        summary = await score_round(self.db, round_id)
        async with self.db.transaction() as repo:
            await repo.rounds.mark_scored(round_id, now)
        log.info("round %s scored: %s", round_id, summary)

    async def _close_due(self, repo: Repositories, now: datetime, report: TickReport) -> None:
        for r in [await repo.rounds.open_round(), *await repo.rounds.due_to_open(now)]:
            if r is not None and r.closes_at <= now:
                # Also a scheduled round whose whole span passed while the bot was down.
                await repo.rounds.set_state(r.id, "closed")
                report.closed.append(r.id)
                log.info("round %s closed", r.id)

    async def _open_due(self, repo: Repositories, now: datetime, report: TickReport) -> None:
        for r in await repo.rounds.due_to_open(now):
            if await repo.rounds.open_round() is not None:
                log.warning("round %s is due but another round is open; it waits", r.id)
                return
            await repo.rounds.set_state(r.id, "open")
            report.opened.append(r.id)
            log.info("round %s opened", r.id)
            report.queued += await self.announce(repo, r, now)

    async def announce(self, repo: Repositories, r: Round, now: datetime) -> int:
        """Queues the opening announcement for every registered firm (muted ones too)."""
        not_before = self.quiet.next_allowed(now)
        queued = 0
        for who in await repo.firms.recipients():
            queued += await repo.outbox.add(
                kind="announcement", dedupe_key=round_key(r.id, who.firm_id, "announcement"),
                chat_id=who.owner_id, payload=announcement(r, who.language, self.settings),
                not_before=not_before,
            )
        return queued

    async def _remind(self, repo: Repositories, r: Round, now: datetime) -> int:
        # Only thresholds that fell inside the round's span, and of those only the latest that
        # has passed: after downtime the firm gets "1 day left", not three reminders at once.
        passed = [
            d for d in self.settings.reminder_days
            if r.closes_at - timedelta(days=d) <= now and r.closes_at - timedelta(days=d) >= r.opens_at
        ]
        if not passed or now >= r.closes_at:
            return 0
        days = min(passed)
        not_before = self.quiet.next_allowed(now)
        queued = 0
        for who in await repo.firms.not_submitted(r.id):
            if who.muted:
                continue
            queued += await repo.outbox.add(
                kind="reminder", dedupe_key=round_key(r.id, who.firm_id, f"remind{days}d"),
                chat_id=who.owner_id, payload=reminder(r, who.language, days, self.settings),
                not_before=not_before,
            )
        return queued

    async def _nudge_stale(self, repo: Repositories, r: Round, now: datetime) -> int:
        from bot.assessment import questionnaire_of

        cutoff = stamp(now - timedelta(hours=self.settings.stale_draft_hours))
        not_before = self.quiet.next_allowed(now)
        questionnaire = questionnaire_of(r)
        queued = 0
        for who, answered in await repo.firms.stale_drafts(r.id, untouched_since=cutoff):
            if who.muted:
                continue
            total = len(questionnaire.questions_for(who.sector)) or 1
            percent = min(99, round(100 * answered / total))
            queued += await repo.outbox.add(
                kind="reminder", dedupe_key=round_key(r.id, who.firm_id, "stale"),
                chat_id=who.owner_id, payload=stale_nudge(r, who.language, percent, self.settings),
                not_before=not_before,
            )
        return queued
