"""Sends the outbox, one message at a time at the pacer's rate, surviving crashes.

A row is committed as 'sending' just before its HTTP call and as 'sent' (with the message id)
just after.  A SIGKILL between the two leaves one row 'sending'; on start-up it is sent again.
So a kill can cause at most one duplicate message and never a lost one.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import ExtBot

from bot.clock import Clock
from bot.delivery.pacer import Pacer, retry_seconds
from bot.delivery.prepared import Prepared, Preparer
from bot.domain.quiet_hours import QuietHours
from storage.database import Database
from storage.repositories.outbox import OutboxRow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
BACKOFF_BASE_SECONDS = 2.0
IDLE_POLL_SECONDS = 5.0


def markup(buttons: list[list[dict[str, str]]]) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b["text"], callback_data=b["data"]) for b in row] for row in buttons]
    )


async def prepare_text(row: OutboxRow) -> Prepared:
    """Messages whose text was written (in the recipient's language) when they were queued."""
    return Prepared("text", text=row.payload["text"], buttons=row.payload.get("buttons", []))


class DeliveryWorker:
    """The background task that drains the outbox."""

    def __init__(
        self, *, bot: ExtBot[dict[str, Any]], db: Database, pacer: Pacer, clock: Clock, quiet: QuietHours,
        unreachable: set[int],
    ) -> None:
        self.bot, self.db, self.pacer, self.clock, self.quiet = bot, db, pacer, clock, quiet
        self.unreachable = unreachable
        self.preparers: dict[str, Preparer] = {"text": prepare_text}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.sent = 0

    def wake(self) -> None:
        """Called after queueing, so new messages go out without waiting for the next poll."""
        self._wake.set()

    async def start(self) -> None:
        async with self.db.transaction() as repo:
            recovered = await repo.outbox.recover_in_flight()
        if recovered:
            log.warning("resending %s message(s) that were in flight when the bot stopped", recovered)
        self._task = asyncio.create_task(self._run(), name="khooshe-delivery")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                if not await self.send_one():
                    await self._idle()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery worker error; continuing")
                await asyncio.sleep(1)

    async def _idle(self) -> None:
        self._wake.clear()
        now = self.clock.now()
        async with self.db.read() as repo:
            due = await repo.outbox.next_due_at()
        delay = IDLE_POLL_SECONDS
        if due is not None:
            delay = min(delay, max((due - now).total_seconds(), 0.05))
        if not self.quiet.allowed(now):
            delay = min(IDLE_POLL_SECONDS, max((self.quiet.next_allowed(now) - now).total_seconds(), 0.05))
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=delay)
        except TimeoutError:
            pass

    async def drain(self) -> int:
        """Sends everything due now (tests and benchmarks); returns how many were handled."""
        handled = 0
        while await self.send_one():
            handled += 1
        return handled

    async def send_one(self) -> bool:
        """Sends the next due message; False when nothing may be sent now."""
        now = self.clock.now()
        if not self.quiet.allowed(now):
            return False
        async with self.db.transaction() as repo:
            row = await repo.outbox.claim_next(now)
        if row is None:
            return False
        if row.chat_id in self.unreachable:
            await self._finish(row, "unreachable", "the user has blocked the bot")
            return True
        preparer = self.preparers.get(row.payload.get("type", "text"))
        prepared = await preparer(row) if preparer else None
        if prepared is None:
            await self._finish(row, "cancelled", "nothing to send any more")
            return True
        await self.pacer.acquire()
        try:
            message = await self._call(row.chat_id, prepared)
        except RetryAfter as exc:
            seconds = retry_seconds(exc)
            self.pacer.pause(seconds)
            async with self.db.transaction() as repo:
                await repo.outbox.give_back(row.id, at=self.clock.now(), error=f"429 retry after {seconds}s")
        except Forbidden as exc:
            self.unreachable.add(row.chat_id)
            async with self.db.transaction() as repo:
                await repo.outbox.finish(row.id, status="unreachable", error=str(exc))
                await repo.users.set_unreachable(user_id=row.chat_id, at=self.clock.now())
        except BadRequest as exc:
            log.error("outbox %s (%s) rejected: %s", row.id, row.kind, exc)
            await self._finish(row, "failed", str(exc))
        except (TimedOut, NetworkError) as exc:
            if row.attempts >= MAX_ATTEMPTS:
                await self._finish(row, "failed", str(exc))
            else:
                backoff = timedelta(seconds=BACKOFF_BASE_SECONDS * 2 ** (row.attempts - 1))
                async with self.db.transaction() as repo:
                    await repo.outbox.retry_later(row.id, at=self.clock.now() + backoff, error=str(exc))
        else:
            async with self.db.transaction() as repo:
                await repo.outbox.mark_sent(row.id, message_id=message.message_id, at=self.clock.now())
            self.sent += 1
        return True

    async def _finish(self, row: OutboxRow, status: Any, error: str) -> None:
        async with self.db.transaction() as repo:
            await repo.outbox.finish(row.id, status=status, error=error)

    async def _call(self, chat_id: int, prepared: Prepared) -> Message:
        return await send_prepared(self.bot, chat_id, prepared, bulk=True)


async def send_prepared(bot: ExtBot[dict[str, Any]], chat_id: int, prepared: Prepared, *, bulk: bool) -> Message:
    """Sends one prepared message; previews use it too, so they look exactly like delivery."""
    limit = {"bulk": True} if bulk else None
    if prepared.method == "photo":
        assert prepared.photo is not None
        return await bot.send_photo(
            chat_id, prepared.photo, caption=prepared.text or None, parse_mode=ParseMode.HTML,
            reply_markup=markup(prepared.buttons), rate_limit_args=limit,
        )
    if prepared.method == "document":
        assert prepared.document is not None
        return await bot.send_document(
            chat_id, prepared.document, caption=prepared.text or None, parse_mode=ParseMode.HTML,
            reply_markup=markup(prepared.buttons), rate_limit_args=limit,
        )
    return await bot.send_message(
        chat_id, prepared.text, parse_mode=ParseMode.HTML, reply_markup=markup(prepared.buttons),
        disable_web_page_preview=True, rate_limit_args=limit,
    )
