"""Sends the outbox: a few messages in flight at once, all paced together at the pacer's rate,
surviving crashes.

Several sends run side by side (up to ``concurrency``) so a slow Bot API lengthens each send but
not the rate: at 300 ms a round trip, one send at a time could not exceed ~3 messages a second.
They share one pacer, so the bulk messages as a whole still leave at ``KHOOSHE_SEND_RATE``, and
a 429 holds them all; and only as many are on the wire as the measured round trip needs
(``FlightLimit``), so on a fast API it is one at a time, as before. One chat never has two messages in flight (the claim skips it), so a
firm's messages arrive in the order they were queued.

A row is committed as 'sending' when a lane claims it, marked *departed* (committed) once it has
its slot and just before its HTTP call, and 'sent' (with the message id) just after.  A SIGKILL
leaves the rows in hand 'sending'; on start-up those not yet departed (preparing, waiting for the
pacer) are sent, since they certainly never left, and the departed ones become 'uncertain': the
message may have reached the firm, so it is counted in the report and never sent again. So a kill
causes no duplicate, however many sends were on the wire, and no silent loss: every message not
delivered is in the report.

A failure after the request went out (a 5xx answer, a time-out waiting for it) may mean the
message was delivered: the row becomes 'uncertain', is counted in its broadcast's report, and is
never sent again. A failure before anything was sent (no connection could be opened) is retried.
Any other refusal (409, a migrated chat, a body that is not JSON) or an unexpected exception
ends the row 'failed': no row stays 'sending' while the bot runs.

``stop()`` is the clean way out: the worker takes no new row, lets the sends already on the wire
finish (their rows end 'sent'), and gives back rows it had claimed but not yet sent.  If a send
hangs past the deadline it is cancelled; having departed, its row ends 'uncertain', as after a
crash, so nothing is left 'sending' and nothing is sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import ExtBot

from bot.clock import Clock
from bot.delivery.flights import FlightLimit
from bot.delivery.pacer import Pacer, retry_seconds
from bot.delivery.prepared import Prepared, Preparer
from bot.domain.quiet_hours import QuietHours
from bot.transport.failures import never_sent
from storage.database import Database
from storage.repositories.outbox import IN_FLIGHT_AT_STOP, OutboxRow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
BACKOFF_BASE_SECONDS = 2.0
IDLE_POLL_SECONDS = 5.0
# How long stop() waits for a send on the wire by default, and then for a cancelled row's give-back.
STOP_SECONDS = 3.5
GIVE_BACK_SECONDS = 0.5
PREPARE_AT_ONCE = 2


def markup(buttons: list[list[dict[str, str]]]) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b["text"], callback_data=b["data"]) for b in row] for row in buttons]
    )


async def prepare_text(row: OutboxRow) -> Prepared:
    """Messages whose text was written (in the recipient's language) when they were queued."""
    return Prepared("text", text=row.payload["text"], buttons=row.payload.get("buttons", []))


@dataclass
class Flight:
    """One send_one() call's progress, so stop() knows whether to wait for it or cancel it."""

    # Claiming a row or sending it (until the outcome is recorded): stop() waits for this, so a
    # message on the wire ends 'sent'. Preparing and waiting for the pacer are cancelled at once.
    must_finish: bool = False
    # The message once the Bot API has accepted it, while it is not yet marked 'sent'.
    accepted: Message | None = None
    # The row's departure is committed: its request may be on its way (a cancel makes it uncertain).
    departed: bool = False


@dataclass
class Lane:
    """One of the worker's concurrent senders, and the row it has in hand (None while idle)."""

    flight: Flight | None = None


class DeliveryWorker:
    """The background tasks that drain the outbox: ``concurrency`` lanes, one send each."""

    def __init__(
        self, *, bot: ExtBot[dict[str, Any]], db: Database, pacer: Pacer, clock: Clock, quiet: QuietHours,
        unreachable: set[int], concurrency: int = 1, read_timeout: float | None = None,
    ) -> None:
        self.bot, self.db, self.pacer, self.clock, self.quiet = bot, db, pacer, clock, quiet
        self.unreachable = unreachable
        self.concurrency = max(1, concurrency)
        # How long a send waits for its answer (None: the request layer's default).
        self.read_timeout = read_timeout
        self.flights = FlightLimit(1.0 / pacer.interval, self.concurrency, clock=time.monotonic)
        self.preparers: dict[str, Preparer] = {"text": prepare_text}
        self._wake = asyncio.Event()
        # Preparing (a chart is drawn in a thread) takes CPU the event loop needs to start each send
        # on time; a few at once keep the lanes fed without starving it.
        self._preparing = asyncio.Semaphore(PREPARE_AT_ONCE)
        self._lanes: dict[asyncio.Task[None], Lane] = {}
        self._stopping = False
        self.sent = 0

    def stopping(self) -> bool:
        """Whether stop() was called; asked after every await, since it may come at any of them."""
        return self._stopping

    def wake(self) -> None:
        """Called after queueing, so new messages go out without waiting for the next poll."""
        self._wake.set()

    async def start(self) -> None:
        self._stopping = False
        async with self.db.transaction() as repo:
            queued, uncertain = await repo.outbox.recover_in_flight()
        if queued:
            log.info("%s message(s) claimed but not yet sent when the bot stopped are queued again", queued)
        if uncertain:
            log.warning("%s message(s) were on the wire when the bot stopped: uncertain, not resent", uncertain)
        for n in range(self.concurrency):
            lane = Lane()
            self._lanes[asyncio.create_task(self._run(lane), name=f"khooshe-delivery-{n + 1}")] = lane

    async def stop(self, timeout: float | None = None) -> None:
        """Takes no new row and lets the sends already on the wire finish for up to ``timeout``
        seconds; a row claimed but not yet sent, or whose send is still hanging then, is put
        back in the queue ('pending'), so nothing is left 'sending'."""
        timeout = STOP_SECONDS if timeout is None else max(timeout, 0.0)
        lanes, self._lanes = self._lanes, {}
        if not lanes:
            return
        self._stopping = True
        self._wake.set()
        for task, lane in lanes.items():
            if lane.flight is None or not lane.flight.must_finish:
                task.cancel()  # idle, preparing or waiting for the pacer: nothing has gone out
        _, hanging = await asyncio.wait(lanes, timeout=timeout)
        if hanging:
            log.warning("%s message(s) being sent did not finish within %.1f s; cancelling them",
                        len(hanging), timeout)
            for task in hanging:
                task.cancel()
            _, hanging = await asyncio.wait(hanging, timeout=GIVE_BACK_SECONDS)
            if hanging:
                log.error("the delivery worker did not stop; its rows are settled on the next start")
                return
        for task in lanes:
            if not task.cancelled() and task.exception() is not None:
                log.error("delivery worker failed while stopping", exc_info=task.exception())

    async def _run(self, lane: Lane) -> None:
        while not self._stopping:
            try:
                lane.flight = Flight()
                sent = await self.send_one(lane.flight)
                lane.flight = None
                if not sent:
                    await self._idle()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery worker error; continuing")
                lane.flight = None
                await asyncio.sleep(1)

    async def _idle(self) -> None:
        self._wake.clear()
        if self._stopping:
            return
        now = self.clock.now()
        async with self.db.read() as repo:
            due = await repo.outbox.next_due_at()
        delay = IDLE_POLL_SECONDS
        if due is not None:
            delay = min(delay, max((due - now).total_seconds(), 0.05))
        if not self.quiet.allowed(now):
            delay = min(IDLE_POLL_SECONDS, max((self.quiet.next_allowed(now) - now).total_seconds(), 0.05))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=delay)

    async def drain(self) -> int:
        """Sends everything due now (tests and benchmarks); returns how many were handled."""
        handled = 0
        while await self.send_one():
            handled += 1
        return handled

    async def send_one(self, flight: Flight | None = None) -> bool:
        """Sends the next due message; False when nothing may be sent now."""
        flight = flight or Flight()
        now = self.clock.now()
        if not self.quiet.allowed(now):
            return False
        flight.must_finish = True  # a claim cancelled mid-commit could leave its row 'sending'
        async with self.db.transaction() as repo:
            row = await repo.outbox.claim_next(now)
        flight.must_finish = False
        if row is None:
            return False
        try:
            await self._deliver(row, flight)
        except asyncio.CancelledError:
            await self._interrupted(row, flight)
            raise
        except Exception as exc:
            # Whatever went wrong (a preparer's bug, an answer nobody expected), the row must not
            # stay 'sending' until the next start: it ends 'failed', or 'sent' if it was accepted.
            log.exception("outbox %s (%s): unexpected failure", row.id, row.kind)
            await self._settle_unexpected(row, flight, exc)
        finally:
            flight.must_finish = False
        return True

    async def _deliver(self, row: OutboxRow, flight: Flight) -> None:
        """Sends one claimed row and records the outcome."""
        if self.stopping():  # stop() came during the claim: leave the row for the next start
            await self._give_back(row, "stopped before sending")
            return
        if row.chat_id in self.unreachable:
            await self._finish(row, "unreachable", "the user has blocked the bot")
            return
        preparer = self.preparers.get(row.payload.get("type", "text"))
        async with self._preparing:
            prepared = await preparer(row) if preparer else None
        if prepared is None:
            await self._finish(row, "cancelled", "nothing to send any more")
            return
        try:
            async with self.flights.flight() as departing:
                await self.pacer.acquire()
                if self.stopping():  # stop() came while waiting for the slot: leave it for the next start
                    await self._give_back(row, "stopped before sending")
                    return
                flight.must_finish = True
                # The round trip the flight limit learns runs from here: the commit below takes
                # the lane's time too (on a busy machine, as long as the request).
                departing()
                # Committed before the request leaves: a crash from here on cannot tell whether
                # the firm got it, and the next start must know that (``recover_in_flight``).
                async with self.db.transaction() as repo:
                    await repo.outbox.depart(row.id, at=self.clock.now())
                flight.departed = True
                message = await self._call(row.chat_id, prepared)
        except RetryAfter as exc:
            seconds = retry_seconds(exc)
            self.pacer.pause(seconds)
            await self._give_back(row, f"429 retry after {seconds}s")
        except Forbidden as exc:
            self.unreachable.add(row.chat_id)
            async with self.db.transaction() as repo:
                await repo.outbox.finish(row.id, status="unreachable", error=str(exc))
                await repo.users.set_unreachable(user_id=row.chat_id, at=self.clock.now())
        except BadRequest as exc:
            log.error("outbox %s (%s) rejected: %s", row.id, row.kind, exc)
            await self._finish(row, "failed", str(exc))
        except (TimedOut, NetworkError) as exc:
            if not never_sent(exc):
                # The server may have delivered it and lost only the answer: sending it again could
                # give the firm a second copy, so it is reported as uncertain instead.
                error = str(exc) or type(exc).__name__
                log.warning("outbox %s (%s) uncertain, not resent: %s", row.id, row.kind, error)
                await self._finish(row, "uncertain", error)
            elif row.attempts >= MAX_ATTEMPTS:
                await self._finish(row, "failed", str(exc))
            else:
                backoff = timedelta(seconds=BACKOFF_BASE_SECONDS * 2 ** (row.attempts - 1))
                async with self.db.transaction() as repo:
                    await repo.outbox.retry_later(row.id, at=self.clock.now() + backoff, error=str(exc))
        except TelegramError as exc:
            # Any other answer the server gave (409 Conflict, a chat that migrated, a 401/404, a
            # body that is not JSON): it refused this send, and the same send would be refused again.
            log.error("outbox %s (%s) refused: %s: %s", row.id, row.kind, type(exc).__name__, exc)
            await self._finish(row, "failed", f"{type(exc).__name__}: {exc}")
        else:
            flight.accepted = message
            async with self.db.transaction() as repo:
                await repo.outbox.mark_sent(row.id, message_id=message.message_id, at=self.clock.now())
            self.sent += 1

    async def _settle_unexpected(self, row: OutboxRow, flight: Flight, exc: Exception) -> None:
        try:
            async with self.db.transaction() as repo:
                current = await repo.outbox.by_key(row.dedupe_key)
                if current is None or current.status != "sending":
                    return
                if flight.accepted is not None:
                    await repo.outbox.mark_sent(row.id, message_id=flight.accepted.message_id, at=self.clock.now())
                    self.sent += 1
                else:
                    await repo.outbox.finish(row.id, status="failed", error=f"{type(exc).__name__}: {exc}")
        except Exception:  # the database itself failed: the row is recovered on the next start
            log.exception("could not settle outbox row %s", row.id)

    async def _give_back(self, row: OutboxRow, error: str) -> None:
        async with self.db.transaction() as repo:
            await repo.outbox.give_back(row.id, at=self.clock.now(), error=error)

    async def _interrupted(self, row: OutboxRow, flight: Flight) -> None:
        """The row's task was cancelled (shutdown): record what is known so it is not left
        'sending' — 'sent' if the Bot API had accepted it, 'uncertain' if its request had
        departed (cut off on the wire, it may have reached the user), otherwise back in the
        queue (it never left)."""
        try:
            async with self.db.transaction() as repo:
                current = await repo.outbox.by_key(row.dedupe_key)
                if current is None or current.status != "sending":
                    return  # its outcome was committed just before the cancel landed
                if flight.accepted is not None:
                    await repo.outbox.mark_sent(row.id, message_id=flight.accepted.message_id, at=self.clock.now())
                    self.sent += 1
                elif flight.departed:
                    await repo.outbox.finish(row.id, status="uncertain", error=IN_FLIGHT_AT_STOP)
                else:
                    await repo.outbox.give_back(row.id, at=self.clock.now(), error="interrupted by shutdown")
        except Exception:  # the row stays 'sending' and is recovered on the next start
            log.exception("could not put back outbox row %s", row.id)

    async def _finish(self, row: OutboxRow, status: Any, error: str) -> None:
        async with self.db.transaction() as repo:
            await repo.outbox.finish(row.id, status=status, error=error)

    async def _call(self, chat_id: int, prepared: Prepared) -> Message:
        return await send_prepared(self.bot, chat_id, prepared, bulk=True, read_timeout=self.read_timeout)


async def send_prepared(
    bot: ExtBot[dict[str, Any]], chat_id: int, prepared: Prepared, *, bulk: bool, read_timeout: float | None = None,
) -> Message:
    """Sends one prepared message; previews use it too, so they look exactly like delivery.
    ``read_timeout`` (None: the request layer's) bounds the wait for the server's answer."""
    limit = {"bulk": True} if bulk else None
    waits: dict[str, Any] = {} if read_timeout is None else {"read_timeout": read_timeout}
    if prepared.method == "photo":
        assert prepared.photo is not None
        return await bot.send_photo(
            chat_id, prepared.photo, caption=prepared.text or None, parse_mode=ParseMode.HTML,
            reply_markup=markup(prepared.buttons), rate_limit_args=limit, **waits,
        )
    if prepared.method == "document":
        assert prepared.document is not None
        return await bot.send_document(
            chat_id, prepared.document, caption=prepared.text or None, parse_mode=ParseMode.HTML,
            reply_markup=markup(prepared.buttons), rate_limit_args=limit, **waits,
        )
    return await bot.send_message(
        chat_id, prepared.text, parse_mode=ParseMode.HTML, reply_markup=markup(prepared.buttons),
        disable_web_page_preview=True, rate_limit_args=limit, **waits,
    )
