"""The round life cycle, one path for every entry point: the admin's commands, the command line
and the scheduler all call ``RoundService``.

What it keeps true: rounds never overlap; dates are Solar Hijri years 1390–1430 (a Gregorian
year typed by mistake is refused with its Solar Hijri equivalent); a round cannot be scheduled to
open in the past (``start_now`` opens it at once instead, after the admin confirmed); opening
announces the round to every registered firm; closing scores it; publishing queues every scored
firm's summary and ends with a delivery report to whoever published; every action by a person
writes one audit row; admins hear when a round opens or closes by itself. Announcements,
reminders and notices go through the outbox, at most once per firm and kind.
"""

from __future__ import annotations

import asyncio
import html
import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from persiantools.jdatetime import JalaliDate, JalaliDateTime

from bot.clock import Clock
from bot.delivery.keys import admin_notice_key, firms_prefix, round_key
from bot.domain import callbacks as cb
from bot.domain.calendar import format_datetime, format_long_date
from bot.domain.questionnaire import available_versions
from bot.domain.quiet_hours import QuietHours
from bot.domain.text import localize_digits, number
from bot.i18n import N_, Translator, translator
from bot.services.access import audit
from bot.services.assessment import resubmit_reopened
from bot.settings import OperatorSettings
from storage.database import Database
from storage.models import Round
from storage.repositories import Repositories
from storage.repositories.base import stamp

log = logging.getLogger(__name__)

#: The audit log's user id for what the scheduler or the command line does on its own.
SYSTEM = 0
#: Solar Hijri years a round may use; anything else is a typing mistake.
YEARS = range(1390, 1431)

#: A notice's text in one admin's language, given their translator and language.
Notice = Callable[[Translator, str], str]


class Digits(str):
    """A parameter written in digits (a typed date), shown in the reader's digits; any other
    string (a round's title) is shown exactly as the admin typed it."""


class RoundRefused(Exception):
    """A round action the rules do not allow; ``render`` says why in the reader's language."""

    def __init__(self, msgid: str, **params: object) -> None:
        super().__init__(msgid)
        self.msgid = msgid
        self.params = params

    def render(self, lang: str, zone: ZoneInfo) -> str:
        t = translator(lang)
        values: dict[str, object] = {}
        for key, value in self.params.items():
            if isinstance(value, bool) or value is None:
                values[key] = value
            elif isinstance(value, int):
                values[key] = number(value, lang)
            elif isinstance(value, datetime):
                values[key] = format_datetime(value, lang, zone)
            elif isinstance(value, Digits):
                values[key] = localize_digits(value, lang)
            else:
                values[key] = value
        return t(self.msgid, **values)


class OpensInThePast(RoundRefused):
    """The opening time has passed: the admin may confirm opening the round now instead."""


@dataclass(frozen=True)
class RoundPolicy:
    """The settings the life cycle follows, from the bot's or the command line's settings."""

    zone: ZoneInfo
    quiet: QuietHours
    reminder_days: tuple[int, ...]
    stale_draft_hours: int
    admins: frozenset[int]

    @classmethod
    def from_settings(cls, settings: OperatorSettings) -> RoundPolicy:
        return cls(
            zone=settings.zone,
            quiet=QuietHours(settings.quiet_hours, settings.quiet_days, settings.zone),
            reminder_days=settings.reminder_days, stale_draft_hours=settings.stale_draft_hours,
            admins=settings.admins,
        )


@dataclass
class TickReport:
    opened: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    queued: int = 0


@dataclass(frozen=True)
class CloseResult:
    round: Round
    scored: int


@dataclass(frozen=True)
class PublishResult:
    round: Round
    queued: int


# --- what firms and admins receive ------------------------------------------------------------


def _text(typed: str) -> str:
    """A value an admin typed (a round's title), made safe for the HTML every message is sent as."""
    return html.escape(typed, quote=False)


def _assess_button(lang: str, label: str) -> list[list[dict[str, str]]]:
    return [[{"text": translator(lang)(label), "data": cb.ASSESS.build()}]]


def announcement(r: Round, lang: str, zone: ZoneInfo) -> dict[str, object]:
    t = translator(lang)
    text = t("📣 The self-assessment «{title}» is open until {date}. It takes about five minutes, "
             "and your firm receives its score and rank among its peers.",
             title=_text(r.title), date=format_long_date(r.closes_at, lang, zone))
    return {"type": "text", "text": text, "buttons": _assess_button(lang, "📋 Start the self-assessment")}


def reminder(r: Round, lang: str, days: int, zone: ZoneInfo) -> dict[str, object]:
    t = translator(lang)
    text = t.plural(
        "⏰ Only {days} day is left to answer the self-assessment «{title}»; it closes on {date}.",
        "⏰ Only {days} days are left to answer the self-assessment «{title}»; it closes on {date}.",
        days, days=number(days, lang), title=_text(r.title), date=format_long_date(r.closes_at, lang, zone),
    )
    return {"type": "text", "text": text, "buttons": _assess_button(lang, "📋 Continue the assessment")}


def stale_nudge(r: Round, lang: str, percent: int, zone: ZoneInfo) -> dict[str, object]:
    t = translator(lang)
    text = t("📝 You are {percent}% done with the self-assessment «{title}». Pick up where you left off; it closes on {date}.",
             percent=number(percent, lang), title=_text(r.title), date=format_long_date(r.closes_at, lang, zone))
    return {"type": "text", "text": text, "buttons": _assess_button(lang, "📋 Continue the assessment")}


def unsubmitted_notice(r: Round, lang: str, next_round: Round | None, zone: ZoneInfo) -> dict[str, object]:
    """What an owner who answered but never submitted hears when the round closes."""
    t = translator(lang)
    text = t("🔒 The self-assessment «{title}» has closed. Your answers were not submitted before it "
             "closed, so they are not scored this time.", title=_text(r.title))
    if next_round is not None:
        text += "\n" + t("The next round opens on {date}.", date=format_long_date(next_round.opens_at, lang, zone))
    else:
        text += "\n" + t("You will hear from us when the next round opens.")
    return {"type": "text", "text": text, "buttons": [[{"text": t("🏠 Menu"), "data": cb.MENU.build()}]]}


def opened_notice(t: Translator, lang: str, r: Round, announced: int) -> str:
    return t("📣 Round #{id} «{title}» opened by itself at its opening time; {n} firms are being told.",
             id=number(r.id, lang), title=_text(r.title), n=number(announced, lang))


def closed_notice(t: Translator, lang: str, r: Round, scored: int) -> str:
    return t("🔒 Round #{id} «{title}» closed by itself at its closing time; {n} firms were scored. "
             "Publish the results with /publish {id}.",
             id=number(r.id, lang), title=_text(r.title), n=number(scored, lang))


def publish_report(t: Translator, lang: str, r: Round, counts: dict[str, int]) -> str:
    text = t("📬 The results of round #{id} «{title}» are out: {sent} firms received them, "
             "{blocked} had blocked the bot, {failed} could not be reached.",
             id=number(r.id, lang), title=_text(r.title), sent=number(counts.get("sent", 0), lang),
             blocked=number(counts.get("unreachable", 0), lang), failed=number(counts.get("failed", 0), lang))
    if counts.get("uncertain", 0):
        # The Bot API failed after receiving these summaries: they may have arrived, so they are not resent.
        text += "\n" + t("Uncertain (may have arrived, not sent again): {n}", n=number(counts["uncertain"], lang))
    return text


# --- the rules ----------------------------------------------------------------------------------


def check_year(moment: datetime, zone: ZoneInfo) -> None:
    """Refuses a date outside 1390–1430; a Gregorian year gets its Solar Hijri equivalent."""
    local = JalaliDateTime.to_jalali(moment.astimezone(zone))
    if local.year in YEARS:
        return
    typed = f"{local.year:04d}/{local.month:02d}/{local.day:02d}"
    try:
        solar = JalaliDate(date(local.year, local.month, local.day)).strftime("%Y/%m/%d")
    except ValueError:
        solar = None
    if solar is not None and 1900 <= local.year <= 2100:
        raise RoundRefused(N_("{typed} looks like a Gregorian date; dates are Solar Hijri here. Did you mean {solar}?"),
                           typed=Digits(typed), solar=Digits(solar))
    raise RoundRefused(N_("The year {year} is out of range; rounds use Solar Hijri years 1390 to 1430."),
                       year=Digits(local.year))


async def _existing(repo: Repositories, round_id: int) -> Round:
    found = await repo.rounds.get(round_id)
    if found is None:
        raise RoundRefused(N_("There is no round #{id}."), id=round_id)
    return found


def _check_closable(r: Round) -> None:
    if r.state != "open":
        raise RoundRefused(N_("Round #{id} is not open."), id=r.id)


def _check_cancellable(r: Round, *, answered: bool) -> None:
    if r.state == "closed" or answered:
        raise RoundRefused(N_("Round #{id} has answers, so it cannot be cancelled."), id=r.id)


def _check_reopenable(r: Round) -> None:
    if r.state != "closed":
        raise RoundRefused(N_("Round #{id} is not closed."), id=r.id)
    if r.published_at is not None:
        raise RoundRefused(N_("Round #{id} was published on {date}; a published round cannot be reopened."),
                           id=r.id, date=r.published_at)


def _check_publishable(r: Round) -> None:
    if r.state != "closed" or r.scored_at is None:
        raise RoundRefused(N_("Only a closed, scored round can be published."))
    if r.published_at is not None:
        raise RoundRefused(N_("Round #{id} was published on {date}."), id=r.id, date=r.published_at)


class RoundService:
    """Every round action, for the admin's commands, the command line and the scheduler."""

    def __init__(self, db: Database, clock: Clock, policy: RoundPolicy) -> None:
        self.db, self.clock, self.policy = db, clock, policy

    # -- checks shared by create, edit and extend --

    async def _check_span(
        self, repo: Repositories, opens: datetime, closes: datetime, now: datetime, *, besides: int | None = None,
    ) -> None:
        for moment in (opens, closes):
            check_year(moment, self.policy.zone)
        if closes <= opens:
            raise RoundRefused(N_("The closing time must come after the opening time."))
        if closes <= now:
            raise RoundRefused(N_("The closing time is already in the past."))
        for other in await repo.rounds.overlapping(opens, closes, besides=besides):
            raise RoundRefused(
                N_("It would overlap round #{id} «{title}» ({opens} to {closes}); rounds may not overlap."),
                id=other.id, title=other.title, opens=other.opens_at, closes=other.closes_at,
            )

    async def validate(self, *, opens: datetime, closes: datetime, besides: int | None = None) -> None:
        """Raises RoundRefused if a round with this span would break a rule (before asking the
        admin to confirm it; the action checks again when it runs)."""
        async with self.db.read() as repo:
            await self._check_span(repo, opens, closes, self.clock.now(), besides=besides)

    async def get(self, round_id: int) -> Round:
        async with self.db.read() as repo:
            return await _existing(repo, round_id)

    async def editable(self) -> list[Round]:
        """The rounds ``edit`` accepts: those waiting to open (every field) and the open one
        (its title only)."""
        async with self.db.read() as repo:
            return [r for r in await repo.rounds.all() if r.state in ("scheduled", "open")]

    # -- the actions --

    async def create(
        self, actor: int, *, title: str, opens: datetime, closes: datetime,
        weights: dict[str, float] | None = None, version: int | None = None, start_now: bool = False,
    ) -> Round:
        """Schedules a round; with ``start_now`` (confirmed by the admin) it opens at once."""
        title = title.strip()
        if not title:
            raise RoundRefused(N_("The round needs a title."))
        versions = available_versions()
        version = max(versions) if version is None else version
        if version not in versions:
            raise RoundRefused(N_("There is no questionnaire version {version}."), version=version)
        now = self.clock.now()
        if start_now:
            opens = now
        async with self.db.transaction() as repo:
            if opens < now and not start_now:
                raise OpensInThePast(N_("The opening time {opens} has already passed."), opens=opens)
            await self._check_span(repo, opens, closes, now)
            created = await repo.rounds.create(
                title=title, questionnaire_version=version, opens_at=opens, closes_at=closes,
                state="scheduled", weights=weights,
            )
            if start_now:
                await self._open(repo, created, now)
            await audit(repo, user_id=actor, action="round_create", target=f"round {created.id}",
                        detail="opened at once" if start_now else None)
            result = await repo.rounds.get(created.id)
        assert result is not None
        log.info("round %s created by %s", created.id, actor)
        return result

    async def edit(
        self, actor: int, round_id: int, *, title: str | None = None, opens: datetime | None = None,
        closes: datetime | None = None, weights: dict[str, float] | None = None, start_now: bool = False,
    ) -> Round:
        """Changes a round that has not opened (an open round may only be renamed)."""
        now = self.clock.now()
        async with self.db.transaction() as repo:
            found = await _existing(repo, round_id)
            if title is not None and not title.strip():
                raise RoundRefused(N_("The round needs a title."))
            dated = opens is not None or closes is not None or weights is not None
            if found.state == "closed" or (found.state == "open" and dated):
                raise RoundRefused(N_("Only a round that has not opened can be edited; "
                                      "use /extend to move the closing date of an open round."))
            new_opens = opens or found.opens_at
            if start_now:
                new_opens = now
            new_closes = closes or found.closes_at
            if found.state == "scheduled":
                if new_opens < now and not start_now:
                    raise OpensInThePast(N_("The opening time {opens} has already passed."), opens=new_opens)
                await self._check_span(repo, new_opens, new_closes, now, besides=found.id)
            await repo.rounds.update(
                found.id, title=title.strip() if title else None, opens_at=new_opens if found.state == "scheduled" else None,
                closes_at=closes, weights=weights,
            )
            changed = [name for name, value in (("title", title), ("opens", opens), ("closes", closes), ("weights", weights))
                       if value is not None]
            if start_now:
                updated = await repo.rounds.get(found.id)
                assert updated is not None
                await self._open(repo, updated, now)
                changed.append("opened at once")
            await audit(repo, user_id=actor, action="round_edit", target=f"round {found.id}", detail=", ".join(changed))
            result = await repo.rounds.get(found.id)
        assert result is not None
        return result

    async def open_now(self, actor: int, round_id: int) -> tuple[Round, int]:
        """Opens a scheduled round now and announces it; returns it and the firms told."""
        now = self.clock.now()
        async with self.db.transaction() as repo:
            found = await _existing(repo, round_id)
            current = await repo.rounds.open_round()
            if found.state != "scheduled":
                raise RoundRefused(N_("Round #{id} is not waiting to open."), id=found.id)
            if current is not None:
                raise RoundRefused(N_("Round #{id} is open; close it before opening another."), id=current.id)
            if found.closes_at <= now:
                raise RoundRefused(N_("Its closing time has passed; extend it first with /extend."))
            await self._check_span(repo, now, found.closes_at, now, besides=found.id)
            await repo.rounds.update(found.id, opens_at=now)
            announced = await self._open(repo, found, now)
            await audit(repo, user_id=actor, action="round_open", target=f"round {found.id}")
            opened = await repo.rounds.get(found.id)
        assert opened is not None
        return opened, announced

    async def preview_close(self, round_id: int) -> int:
        """Checks the round can be closed; returns how many firms are still answering (what
        closing now would cut short), for the admin's confirmation."""
        async with self.db.read() as repo:
            found = await _existing(repo, round_id)
            _check_closable(found)
            return (await repo.rounds.response_counts(round_id)).get("draft", 0)

    async def preview_cancel(self, round_id: int) -> Round:
        """Checks the round can be cancelled, for the admin's confirmation."""
        async with self.db.read() as repo:
            found = await _existing(repo, round_id)
            _check_cancellable(found, answered=bool(await repo.rounds.response_counts(round_id)))
            return found

    async def close(self, actor: int, round_id: int) -> CloseResult:
        """Closes the open round now and scores it."""
        now = self.clock.now()
        async with self.db.transaction() as repo:
            found = await _existing(repo, round_id)
            _check_closable(found)
            await repo.rounds.update(found.id, closes_at=now)
            await resubmit_reopened(repo, found)
            await repo.rounds.set_state(found.id, "closed")
            await audit(repo, user_id=actor, action="round_close", target=f"round {found.id}")
            await self._tell_unsubmitted(repo, found, now)
        scored = await self._score(found.id)
        return CloseResult(round=await self.get(found.id), scored=scored)

    async def _check_reopen(self, repo: Repositories, round_id: int, closes: datetime, now: datetime) -> Round:
        found = await _existing(repo, round_id)
        _check_reopenable(found)
        current = await repo.rounds.open_round()
        if current is not None:
            raise RoundRefused(N_("Round #{id} «{title}» is open; only one round can be open at a time."),
                               id=current.id, title=current.title)
        await self._check_span(repo, found.opens_at, closes, now, besides=found.id)
        return found

    async def preview_reopen(self, round_id: int, closes: datetime) -> Round:
        """Checks a closed, unpublished round can open again until ``closes`` (before asking the
        admin to confirm)."""
        async with self.db.read() as repo:
            return await self._check_reopen(repo, round_id, closes, self.clock.now())

    async def reopen(self, actor: int, round_id: int, closes: datetime) -> Round:
        """Opens a round closed by mistake again (never one already published): firms can
        answer and change their answers until ``closes``, and it is scored again when it closes."""
        now = self.clock.now()
        async with self.db.transaction() as repo:
            found = await self._check_reopen(repo, round_id, closes, now)
            await repo.rounds.reopen(found.id, closes)
            await audit(repo, user_id=actor, action="round_reopen", target=f"round {found.id}", detail=stamp(closes))
            result = await repo.rounds.get(found.id)
        assert result is not None
        return result

    async def extend(self, actor: int, round_id: int, closes: datetime) -> Round:
        """Moves the closing time of a scheduled or open round later."""
        now = self.clock.now()
        async with self.db.transaction() as repo:
            found = await _existing(repo, round_id)
            if found.state == "closed":
                raise RoundRefused(N_("Round #{id} is already closed."), id=found.id)
            if closes <= found.closes_at:
                raise RoundRefused(N_("The new closing time must be later than the current one ({current})."),
                                   current=found.closes_at)
            await self._check_span(repo, found.opens_at, closes, now, besides=found.id)
            await repo.rounds.update(found.id, closes_at=closes)
            await audit(repo, user_id=actor, action="round_extend", target=f"round {found.id}", detail=stamp(closes))
            result = await repo.rounds.get(found.id)
        assert result is not None
        return result

    async def cancel(self, actor: int, round_id: int) -> Round:
        """Deletes a round nobody has answered (scheduled, or open by mistake)."""
        async with self.db.transaction() as repo:
            found = await _existing(repo, round_id)
            _check_cancellable(found, answered=bool(await repo.rounds.response_counts(found.id)))
            await repo.rounds.delete(found.id)
            await audit(repo, user_id=actor, action="round_cancel", target=f"round {found.id}", detail=found.title)
        return found

    async def preview_publish(self, round_id: int) -> int:
        """Checks the round can be published; returns how many firms will hear, for the admin's
        confirmation."""
        async with self.db.read() as repo:
            _check_publishable(await _existing(repo, round_id))
            return await repo.scores.count(round_id)

    async def publish(self, actor: int, round_id: int) -> PublishResult:
        """Queues every scored firm's summary and chart (once each); the delivery report goes
        to ``actor`` when the last of them is sent."""
        now = self.clock.now()
        not_before = self.policy.quiet.next_allowed(now)
        async with self.db.transaction() as repo:
            found = await _existing(repo, round_id)
            _check_publishable(found)
            await repo.rounds.mark_published(found.id, now, by=actor)
            queued = 0
            for firm_id, owner_id in await repo.scores.owners(found.id):
                # Two rows, not one: each is one Bot API call, so a crash repeats at most one.
                for part in ("summary", "chart"):
                    queued += await repo.outbox.add(
                        kind=part, dedupe_key=round_key(found.id, firm_id, part), chat_id=owner_id,
                        payload={"type": part, "round_id": found.id, "firm_id": firm_id},
                        not_before=not_before,
                    )
            await audit(repo, user_id=actor, action="round_publish", target=f"round {found.id}",
                        detail=f"{queued // 2} summaries")
        return PublishResult(round=await self.get(found.id), queued=queued // 2)

    # -- the scheduler --

    async def tick(self, now: datetime) -> TickReport:
        """Does whatever is due at ``now``; every step is idempotent, so it can run any time."""
        report = TickReport()
        async with self.db.transaction() as repo:
            await self._close_due(repo, now, report)
            await self._open_due(repo, now, report)
            current = await repo.rounds.open_round()
            if current is not None:
                report.queued += await self._remind(repo, current, now)
                report.queued += await self._nudge_stale(repo, current, now)
        for round_id in report.closed:
            scored = await self._score(round_id)
            closed = await self.get(round_id)
            report.queued += await self._notify_admins(
                closed, "closed", partial(closed_notice, r=closed, scored=scored), now)
        report.queued += await self._report_publications(now)
        return report

    async def _score(self, round_id: int) -> int:
        """Scores and ranks the round; ``score_round`` stamps ``scored_at`` in its last transaction."""
        # The scorer and numpy load on the first scoring (~50 ms of imports): in a thread, so
        # the event loop keeps answering owners meanwhile.
        await asyncio.to_thread(importlib.import_module, "bot.services.ranking")
        from bot.services.ranking import score_round  # already loaded: no work on the loop

        summary = await score_round(self.db, round_id)
        log.info("round %s scored: %s", round_id, summary)
        return summary.scored

    async def _open(self, repo: Repositories, r: Round, now: datetime) -> int:
        await repo.rounds.set_state(r.id, "open")
        log.info("round %s opened", r.id)
        return await self._announce(repo, r, now)

    async def _close_due(self, repo: Repositories, now: datetime, report: TickReport) -> None:
        for r in [await repo.rounds.open_round(), *await repo.rounds.due_to_open(now)]:
            if r is not None and r.closes_at <= now:
                # Also a scheduled round whose whole span passed while the bot was down.
                await resubmit_reopened(repo, r)
                await repo.rounds.set_state(r.id, "closed")
                await audit(repo, user_id=SYSTEM, action="round_close", target=f"round {r.id}", detail="at its closing time")
                report.queued += await self._tell_unsubmitted(repo, r, now)
                report.closed.append(r.id)
                log.info("round %s closed", r.id)

    async def _open_due(self, repo: Repositories, now: datetime, report: TickReport) -> None:
        for r in await repo.rounds.due_to_open(now):
            if await repo.rounds.open_round() is not None:
                log.warning("round %s is due but another round is open; it waits", r.id)
                return
            announced = await self._open(repo, r, now)
            await audit(repo, user_id=SYSTEM, action="round_open", target=f"round {r.id}", detail="at its opening time")
            report.opened.append(r.id)
            report.queued += announced
            report.queued += await self._queue_admin_notices(
                repo, r, "opened", partial(opened_notice, r=r, announced=announced), now)

    async def _announce(self, repo: Repositories, r: Round, now: datetime) -> int:
        """Queues the opening announcement for every registered firm (muted ones too)."""
        not_before = self.policy.quiet.next_allowed(now)
        opened = await repo.rounds.get(r.id) or r
        queued = 0
        for who in await repo.firms.recipients():
            queued += await repo.outbox.add(
                kind="announcement", dedupe_key=round_key(r.id, who.firm_id, "announcement"),
                chat_id=who.owner_id, payload=announcement(opened, who.language, self.policy.zone),
                not_before=not_before,
            )
        return queued

    async def _tell_unsubmitted(self, repo: Repositories, r: Round, now: datetime) -> int:
        """Queues, for every firm whose answers to the closing round were never submitted, a
        notice that they are not scored (muted firms too: it is about their own answers)."""
        not_before = self.policy.quiet.next_allowed(now)
        next_round = await repo.rounds.next_scheduled(now)
        queued = 0
        for who in await repo.firms.unsubmitted_drafts(r.id):
            queued += await repo.outbox.add(
                kind="closing", dedupe_key=round_key(r.id, who.firm_id, "unsubmitted"),
                chat_id=who.owner_id, payload=unsubmitted_notice(r, who.language, next_round, self.policy.zone),
                not_before=not_before,
            )
        return queued

    async def _remind(self, repo: Repositories, r: Round, now: datetime) -> int:
        # Only thresholds that fell inside the round's span, and of those only the latest that
        # has passed: after downtime the firm gets "1 day left", not three reminders at once.
        passed = [
            d for d in self.policy.reminder_days
            if r.closes_at - timedelta(days=d) <= now and r.closes_at - timedelta(days=d) >= r.opens_at
        ]
        if not passed or now >= r.closes_at:
            return 0
        days = min(passed)
        not_before = self.policy.quiet.next_allowed(now)
        queued = 0
        for who in await repo.firms.not_submitted(r.id):
            if who.muted:
                continue
            queued += await repo.outbox.add(
                kind="reminder", dedupe_key=round_key(r.id, who.firm_id, f"remind{days}d"),
                chat_id=who.owner_id, payload=reminder(r, who.language, days, self.policy.zone),
                not_before=not_before,
            )
        return queued

    async def _nudge_stale(self, repo: Repositories, r: Round, now: datetime) -> int:
        from bot.services.assessment import questionnaire_of

        cutoff = stamp(now - timedelta(hours=self.policy.stale_draft_hours))
        not_before = self.policy.quiet.next_allowed(now)
        questionnaire = questionnaire_of(r)
        queued = 0
        for who, submission_id in await repo.firms.stale_drafts(r.id, untouched_since=cutoff):
            if who.muted:
                continue
            # Share of the questions this firm will see: a skip rule shortens its questionnaire.
            answers = await repo.answers.all(submission_id)
            visible = questionnaire.visible(who.sector, answers)
            answered = sum(q.id in answers for q in visible)
            percent = min(99, round(100 * answered / (len(visible) or 1)))
            queued += await repo.outbox.add(
                kind="reminder", dedupe_key=round_key(r.id, who.firm_id, "stale"),
                chat_id=who.owner_id, payload=stale_nudge(r, who.language, percent, self.policy.zone),
                not_before=not_before,
            )
        return queued

    # -- telling admins --

    async def _admin_ids(self, repo: Repositories) -> set[int]:
        return set(self.policy.admins) | await repo.access.promoted_admins()

    async def _queue_admin_notices(
        self, repo: Repositories, r: Round, event: str, text: Notice, now: datetime, *, to: set[int] | None = None,
    ) -> int:
        # Admins are told at once, quiet hours or not: it is their own round.
        queued = 0
        for admin in sorted(to if to is not None else await self._admin_ids(repo)):
            user = await repo.users.get(admin)
            lang = user.language if user else "fa"
            queued += await repo.outbox.add(
                kind="text", dedupe_key=admin_notice_key(r.id, admin, event), chat_id=admin,
                payload={"type": "text", "text": text(translator(lang), lang)}, not_before=now,
            )
        return queued

    async def _notify_admins(self, r: Round, event: str, text: Notice, now: datetime) -> int:
        async with self.db.transaction() as repo:
            return await self._queue_admin_notices(repo, r, event, text, now)

    async def _report_publications(self, now: datetime) -> int:
        """Sends the final delivery report of each published round whose summaries are all out."""
        queued = 0
        async with self.db.read() as repo:
            published = await repo.rounds.unreported_publications()
        for r in published:
            async with self.db.transaction() as repo:
                counts = await repo.outbox.counts_with_key_prefix(firms_prefix(r.id), kinds=("summary",))
                if counts.get("pending", 0) or counts.get("sending", 0):
                    continue
                to = {r.published_by} if r.published_by not in (None, SYSTEM) else None
                queued += await self._queue_admin_notices(
                    repo, r, "published", partial(publish_report, r=r, counts=counts), now, to=to)
                await repo.rounds.mark_publish_reported(r.id, now)
        return queued
