"""Broadcasts: starting them on time (the audience frozen into the outbox), progress edited in
place for the sender, the final report, and cancelling.

Everything is driven from the database, so a broadcast that was scheduled, or running, when the
bot stopped carries on at the next start: the outbox rows were written with the state change in
one transaction, and their dedupe keys keep each firm to one message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError

from bot.delivery.keys import broadcast_key, broadcast_prefix, broadcast_report_key
from bot.delivery.prepared import Prepared, Preparer
from bot.domain.calendar import format_datetime
from bot.domain.quiet_hours import QuietHours
from bot.domain.text import number
from bot.i18n import translator
from bot.services.access import access_of, audit
from bot.services.broadcasts import Tally
from bot.settings import Settings
from storage.database import Database
from storage.repositories import Repositories
from storage.repositories.broadcasts import Broadcast
from storage.repositories.outbox import OutboxRow

log = logging.getLogger(__name__)

KIND = "broadcast"
REPORT_KIND = "broadcast_report"
BAR_CELLS = 10
# The progress message is edited at most this often.
PROGRESS_SECONDS = 3.0


def prepared_content(content: dict[str, Any]) -> Prepared:
    """What firms receive (and the sender's preview): the text, or the file with its caption."""
    kind = content.get("kind", "text")
    if kind == "photo":
        return Prepared("photo", photo=content["file_id"], text=content.get("text", ""))
    if kind == "document":
        return Prepared("document", document=content["file_id"], text=content.get("text", ""))
    return Prepared("text", text=content["text"])


def preparers(db: Database) -> dict[str, Preparer]:
    """The worker's preparer for broadcast rows: the payload only names the broadcast."""
    cache: dict[int, Prepared | None] = {}

    async def prepare(row: OutboxRow) -> Prepared | None:
        broadcast_id = int(row.payload["broadcast_id"])
        if broadcast_id not in cache:
            async with db.read() as repo:
                found = await repo.broadcasts.get(broadcast_id)
            cache[broadcast_id] = prepared_content(found.content) if found else None
        return cache[broadcast_id]

    return {KIND: prepare}


def bar(done: int, total: int) -> str:
    filled = BAR_CELLS if total == 0 else min(BAR_CELLS, round(BAR_CELLS * done / total))
    return "▓" * filled + "░" * (BAR_CELLS - filled)


def progress_text(b: Broadcast, tally: Tally, lang: str, *, paused_until: str | None = None) -> str:
    t = translator(lang)
    done = tally.total - tally.remaining
    percent = 100 if tally.total == 0 else int(100 * done / tally.total)
    lines = [
        t("📣 Broadcast #{id} is being delivered", id=number(b.id, lang)),
        f"{bar(done, tally.total)} {number(percent, lang)}%",
        t("Delivered {delivered} · blocked the bot {blocked} · failed {failed} · remaining {remaining}",
          delivered=number(tally.delivered, lang), blocked=number(tally.blocked, lang),
          failed=number(tally.failed, lang), remaining=number(tally.remaining, lang)),
    ]
    if paused_until:
        lines.append(t("⏸ Waiting for quiet hours to end; sending resumes at {time} (Tehran time).", time=paused_until))
    return "\n".join(lines)


def report_text(b: Broadcast, tally: Tally, lang: str, *, cancelled: bool) -> str:
    t = translator(lang)
    head = (t("✖️ Broadcast #{id} was cancelled.", id=number(b.id, lang)) if cancelled
            else t("✅ Broadcast #{id} is finished.", id=number(b.id, lang)))
    lines = [
        head,
        t("Delivered: {n}", n=number(tally.delivered, lang)),
        t("Blocked the bot: {n}", n=number(tally.blocked, lang)),
        t("Failed: {n}", n=number(tally.failed, lang)),
    ]
    if tally.uncertain:
        # The Bot API failed after receiving these: they may have arrived, so they are not resent.
        lines.append(t("Uncertain (may have arrived, not sent again): {n}", n=number(tally.uncertain, lang)))
    if tally.cancelled:
        lines.append(t("Not sent (cancelled): {n}", n=number(tally.cancelled, lang)))
    return "\n".join(lines)


@dataclass
class BroadcastKeeper:
    """Starts due broadcasts, keeps each sender's progress message current, reports the end."""

    db: Database
    settings: Settings
    quiet: QuietHours
    bot: Bot
    wake: Callable[[], None] = lambda: None
    _shown: dict[int, str] = field(default_factory=dict)
    _edited_at: dict[int, float] = field(default_factory=dict)

    async def tick(self, now: datetime) -> int:
        """Does whatever is due; returns how many broadcasts started."""
        started = 0
        async with self.db.read() as repo:
            due = await repo.broadcasts.due(now)
        for b in due:
            started += await self.start(b.id, now)
        if started:
            self.wake()
        async with self.db.read() as repo:
            running = await repo.broadcasts.in_state("running")
        for b in running:
            try:
                await self._follow(b, now)
            except Exception:  # one broadcast's progress must not stop the others
                log.exception("broadcast %s: progress update failed", b.id)
        return started

    async def start(self, broadcast_id: int, now: datetime) -> int:
        """Freezes the audience into outbox rows and marks the broadcast running (one
        transaction, so a kill leaves it either scheduled or fully queued)."""
        async with self.db.transaction() as repo:
            b = await repo.broadcasts.get(broadcast_id)
            if b is None or b.state != "scheduled":
                return 0
            audience = dict(b.audience)
            access = await access_of(repo, self.settings.admins, b.created_by)
            if not access.is_admin:
                # A manager's scope is checked again when it starts: a role removed meanwhile stops it.
                allowed = [e for e in audience.get("estates") or [] if access.may_manage(int(e))]
                if not allowed or audience.get("estates") is None:
                    await repo.broadcasts.set_state(b.id, "cancelled", finished_at=now)
                    await audit(repo, user_id=b.created_by, action="broadcast_start", target=f"broadcast {b.id}",
                                ok=False, detail="the sender no longer manages these estates")
                    log.warning("broadcast %s cancelled: its sender lost the scope", b.id)
                    return 0
                audience["estates"] = allowed
            not_before = self.quiet.next_allowed(now)
            payload = {"type": KIND, "broadcast_id": b.id}
            queued = await repo.outbox.add_many(
                kind=KIND, not_before=not_before,
                rows=[(broadcast_key(b.id, owner), owner, payload) for _firm, owner in await repo.broadcasts.audience(audience)],
            )
            await repo.broadcasts.set_recipients(b.id, queued)
            await repo.broadcasts.set_state(b.id, "running")
        log.info("broadcast %s started: %s recipients", broadcast_id, queued)
        return 1

    async def _language(self, repo: Repositories, user_id: int) -> str:
        user = await repo.users.get(user_id)
        return user.language if user else "fa"

    async def _follow(self, b: Broadcast, now: datetime) -> None:
        async with self.db.read() as repo:
            tally = Tally.of(await repo.broadcasts.delivery_counts(broadcast_prefix(b.id)))
            lang = await self._language(repo, b.created_by)
        if tally.remaining == 0:
            await self.finish(b, now, cancelled=False)
            return
        paused = None
        if not self.quiet.allowed(now):
            paused = format_datetime(self.quiet.next_allowed(now), lang, self.settings.zone)
        await self._show(b, progress_text(b, tally, lang, paused_until=paused))

    async def _show(self, b: Broadcast, text: str, *, force: bool = False) -> None:
        """Sends the progress message once, then edits it when its text changed, at most every
        PROGRESS_SECONDS (unless ``force``: the final state is always shown)."""
        chat = b.progress_chat or b.created_by
        if b.progress_msg is None:
            try:
                message = await self.bot.send_message(chat, text, parse_mode=ParseMode.HTML)
            except TelegramError as exc:
                log.warning("broadcast %s: could not send the progress message: %s", b.id, exc)
                return
            async with self.db.transaction() as repo:
                await repo.broadcasts.set_progress_message(b.id, message.message_id)
            self._shown[b.id], self._edited_at[b.id] = text, time.monotonic()
            return
        if self._shown.get(b.id) == text:
            return
        if not force and time.monotonic() - self._edited_at.get(b.id, 0.0) < PROGRESS_SECONDS:
            return
        try:
            await self.bot.edit_message_text(text, chat_id=chat, message_id=b.progress_msg,
                                             parse_mode=ParseMode.HTML)
        except BadRequest as exc:
            if "not modified" not in str(exc):
                log.warning("broadcast %s: could not edit the progress message: %s", b.id, exc)
        except TelegramError as exc:
            log.warning("broadcast %s: could not edit the progress message: %s", b.id, exc)
            return
        self._shown[b.id], self._edited_at[b.id] = text, time.monotonic()

    async def finish(self, b: Broadcast, now: datetime, *, cancelled: bool) -> Tally:
        """Marks it done (or cancelled), queues the report and shows the final progress."""
        async with self.db.transaction() as repo:
            current = await repo.broadcasts.get(b.id)
            # Another tick, or a cancel, may have finished it meanwhile.
            if current is None or current.state not in (("scheduled", "running") if cancelled else ("running",)):
                return Tally.of(await repo.broadcasts.delivery_counts(broadcast_prefix(b.id)))
            b = current
            if cancelled:
                await repo.broadcasts.cancel_pending(broadcast_prefix(b.id))
            tally = Tally.of(await repo.broadcasts.delivery_counts(broadcast_prefix(b.id)))
            lang = await self._language(repo, b.created_by)
            await repo.broadcasts.set_state(b.id, "cancelled" if cancelled else "done", finished_at=now)
            report = report_text(b, tally, lang, cancelled=cancelled)
            if b.state == "running":
                await repo.outbox.add(
                    kind=REPORT_KIND, dedupe_key=broadcast_report_key(b.id),
                    chat_id=b.progress_chat or b.created_by, payload={"type": "text", "text": report},
                    not_before=now,
                )
        self.wake()
        if b.progress_msg is not None:
            await self._show(b, report, force=True)
        self._shown.pop(b.id, None)
        self._edited_at.pop(b.id, None)
        return tally

    async def cancel(self, broadcast_id: int, now: datetime) -> Tally | None:
        """Cancels a scheduled or running broadcast; None when it was neither."""
        async with self.db.read() as repo:
            b = await repo.broadcasts.get(broadcast_id)
        if b is None or b.state not in ("scheduled", "running"):
            return None
        return await self.finish(b, now, cancelled=True)
