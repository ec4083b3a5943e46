"""The intake: updates are committed to the database before the Bot API is told they arrived,
read one by one, handled exactly once, and the unhandled ones are handled first after a restart.

python-telegram-bot's own polling confirms a batch (the next ``getUpdates`` offset) before its
handlers have run, so a crash in between loses what the user typed; and it reads a batch as a
whole, so one update it cannot read is fetched again forever and nobody is served. Here:
1. a fetched batch is stored (``inbox``) in one short transaction, then handed to the
   application one update at a time; only then is the next offset asked for;
2. the first transaction of an update's handler marks it "effected" together with its effect
   (``storage.database.handling_update``), and the update is "done" when its handler ends (a
   handler that writes nothing is only marked then; the "done" marks carry the snapshots of the
   guided flows those updates moved, ``bot.flows``);
3. on start, updates stored but never effected are handled before any new one, in order; a user
   whose update was effected but not done (killed between the commit and the reply) is shown
   their conversation where it now is, so nothing is applied twice and nobody is left waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.error import Conflict, RetryAfter, TelegramError
from telegram.ext import Application

from bot.clock import Clock
from bot.flows import KEEP_FLOWS, FlowSnapshots
from bot.intake.connection import BACKOFF_SECONDS, describe_trouble
from bot.intake.reading import UnreadableUpdate, read_update, user_of
from bot.platform.bot import KhoosheBot
from storage.database import Database

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query"]
# Handled updates are remembered this long, so one the server sends again is not handled twice.
KEEP_HANDLED = timedelta(days=2)
# How often the "done" marks of handled updates are written (one transaction for all of them, none
# when nothing was handled). A SIGKILL loses the marks of the last interval: those updates look
# interrupted, and their users are shown their screen again after the restart, a second copy of
# what they already had (the fault drill's kills: 1, 2 and 8 users a restart at 0.5 s).
FLUSH_SECONDS = 0.1
# Updates queued or being handled at most, before the next poll waits.
MAX_PENDING = 64
# How long close() waits for a flush under way before cancelling it.
CLOSE_SECONDS = 2.0


class Intake:
    """Feeds ``app.update_queue`` from the inbox; polls the Bot API unless a webhook feeds it."""

    def __init__(self, app: Application[Any, Any, Any, Any, Any, Any], db: Database, clock: Clock, *,
                 api_url: str, poll_timeout: float = 30.0, flush_seconds: float = FLUSH_SECONDS,
                 flows: FlowSnapshots | None = None) -> None:
        self.app = app
        self.db = db
        self.clock = clock
        self.api_url = api_url
        self.poll_timeout = poll_timeout
        self.flush_seconds = flush_seconds
        self._handled: set[int] = set()
        self.flows = flows
        # Flow snapshots to write with the next "done" marks, by user (None: the flow ended).
        self._flows: dict[int, str | None] = {}
        self._poller: asyncio.Task[None] | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self._accepting = asyncio.Lock()
        self._trouble: str | None = None

    @property
    def polling(self) -> bool:
        return self._poller is not None and not self._poller.done()

    async def start(self, *, poll: bool = True) -> int:
        """Queues what was received but not handled before (returns how many), then polls."""
        async with self.db.transaction(marks_update=False) as repo:
            await repo.inbox.settle_superseded()
        await self._resume_interrupted()
        async with self.db.read() as repo:
            waiting = await repo.inbox.unhandled()
        if waiting:
            log.info("handling %d update(s) received before the restart first (ids %s)", len(waiting),
                     ", ".join(str(update_id) for update_id, _ in waiting))
        await self._enqueue([(update_id, _loads(payload)) for update_id, payload in waiting])
        self._closing = asyncio.Event()
        self._flusher = asyncio.create_task(self._flush_forever(), name="khooshe-intake-flush")
        if poll:
            self._poller = asyncio.create_task(self._poll_forever(), name="khooshe-polling")
        return len(waiting)

    async def stop_polling(self) -> None:
        """No new updates from now on; the long poll in flight is abandoned (the server sends
        its updates again to the next poll, and stored ones are recognised)."""
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None

    async def close(self) -> None:
        """After the application has stopped: writes the last "handled" marks."""
        await self.stop_polling()
        if self._flusher is not None:
            # Asked to stop, not cancelled: a cancel landing inside its transaction could leave
            # the writer connection in it, and the last marks below could not be written.
            self._closing.set()
            try:
                await asyncio.wait_for(asyncio.shield(self._flusher), timeout=CLOSE_SECONDS)
            except TimeoutError:
                self._flusher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._flusher
            self._flusher = None
        await self.flush()

    # -------------------------------------------------------------- receiving

    async def accept(self, raw_updates: Iterable[dict[str, Any]]) -> int:
        """Stores a batch as it came and queues the updates not seen before; returns the next
        offset to ask for (0 for an empty batch).  The webhook calls this too, before it
        answers the server."""
        batch = [u for u in raw_updates if isinstance(u.get("update_id"), int)]
        if not batch:
            return 0
        rows = [(u["update_id"], user_of(u), json.dumps(u, ensure_ascii=False)) for u in batch]
        async with self._accepting:
            async with self.db.transaction(marks_update=False) as repo:
                fresh = await repo.inbox.store(rows)
            await self._enqueue([(u["update_id"], u) for u in batch if u["update_id"] in fresh])
        return int(max(u["update_id"] for u in batch)) + 1

    async def _enqueue(self, updates: list[tuple[int, dict[str, Any] | None]]) -> None:
        skipped: list[int] = []
        for update_id, raw in updates:
            if raw is None:
                skipped.append(update_id)
                continue
            try:
                update = read_update(raw, self.app.bot)
            except UnreadableUpdate as exc:
                log.warning("update %s skipped: it cannot be read (%s)", update_id, exc)
                skipped.append(update_id)
                continue
            await self.app.update_queue.put(update)
        if skipped:
            async with self.db.transaction(marks_update=False) as repo:
                await repo.inbox.finish(skipped, state="skipped")

    async def _resume_interrupted(self) -> None:
        """A user whose update had its effect saved when the bot stopped may never have seen
        the reply (the next question, say): their conversation is shown again where it is, as
        /register or /assess would show it, instead of handling the update a second time."""
        async with self.db.read() as repo:
            interrupted = await repo.inbox.interrupted_users()
            if not interrupted:
                return
            registering = await repo.drafts.active_steps()
            answering = await repo.submissions.active_cursors()
        resumes: list[tuple[int, dict[str, Any] | None]] = []
        for n, user_id in enumerate(interrupted, start=1):
            command = "/register" if user_id in registering else "/assess" if user_id in answering else None
            if command is None:
                continue  # not in a conversation: nothing is waiting for an answer
            resumes.append((-n, _command_update(-n, user_id, command, self.clock)))
        log.info("%d user(s) were being answered when the bot stopped; %d are shown where they are",
                 len(interrupted), len(resumes))
        async with self.db.transaction(marks_update=False) as repo:
            await repo.inbox.close_interrupted()
            # Their flow may have ended in the effect that was committed (a round created, a
            # broadcast sent): it is not brought back, so nothing is done twice.
            await repo.flows.forget(interrupted)
        await self._enqueue(resumes)

    # -------------------------------------------------------------- handled marks

    def handled(self, update: object) -> None:
        """Called when an update's handlers have finished (whatever they did)."""
        if isinstance(update, Update):
            self._handled.add(update.update_id)
            user = update.effective_user
            if self.flows is not None and user is not None:
                changed, snapshot = self.flows.take(user.id)
                if changed:
                    self._flows[user.id] = snapshot

    async def flush(self) -> None:
        if not self._handled and not self._flows:
            return
        done, self._handled = self._handled, set()
        flows, self._flows = self._flows, {}
        try:
            async with self.db.transaction(marks_update=False) as repo:
                await repo.inbox.finish(sorted(done))
                if flows:
                    await repo.flows.save(flows)
        except Exception:
            # Tried again on the next flush; a snapshot taken since is the newer one.
            self._handled |= done
            self._flows = {**flows, **self._flows}
            raise

    async def _flush_forever(self) -> None:
        cleaned = self.clock.now()
        while not self._closing.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), timeout=self.flush_seconds)
            if self._closing.is_set():
                return  # close() writes the last marks
            try:
                await self.flush()
                if self.clock.now() - cleaned > timedelta(hours=1):
                    cleaned = self.clock.now()
                    async with self.db.transaction(marks_update=False) as repo:
                        await repo.inbox.forget_before(cleaned - KEEP_HANDLED)
                        await repo.flows.forget_before(cleaned - KEEP_FLOWS)
            except Exception:
                log.exception("could not record handled updates")

    # -------------------------------------------------------------- polling

    def _pending(self) -> int:
        processor = self.app.update_processor
        return self.app.update_queue.qsize() + int(getattr(processor, "in_flight", 0))

    async def _room(self) -> int:
        """How many updates the next poll may fetch: it waits while ``MAX_PENDING`` are queued or
        being handled, so a burst waits on the server, not in this process's memory."""
        while (pending := self._pending()) >= MAX_PENDING:
            await asyncio.sleep(0.01)
        return min(100, MAX_PENDING - pending)

    async def _poll_forever(self) -> None:
        bot = self.app.bot
        assert isinstance(bot, KhoosheBot)
        offset: int | None = None
        failures = 0
        while True:
            room = await self._room()
            try:
                batch = await bot.fetch_updates(offset=offset, timeout=self.poll_timeout,
                                                allowed_updates=ALLOWED_UPDATES, limit=room)
            except RetryAfter as exc:
                await asyncio.sleep(_seconds(exc.retry_after))
                continue
            except Conflict as exc:
                if "webhook" in exc.message.lower() and await self._drop_webhook():
                    continue
                failures += 1
                self._report(exc, failures)
                await asyncio.sleep(BACKOFF_SECONDS[min(failures, len(BACKOFF_SECONDS)) - 1])
                continue
            except TelegramError as exc:
                failures += 1
                self._report(exc, failures)
                await asyncio.sleep(BACKOFF_SECONDS[min(failures, len(BACKOFF_SECONDS)) - 1])
                continue
            if failures:
                log.info("connected to the Bot API at %s again", self.api_url)
                failures, self._trouble = 0, None
            next_offset = await self.accept(batch)
            if next_offset:
                offset = next_offset

    async def _drop_webhook(self) -> bool:
        """A webhook left from a run with KHOOSHE_WEBHOOK_URL blocks getUpdates; polling is what
        is configured now, so it goes (its pending updates stay for getUpdates)."""
        log.warning("a webhook is set for this bot, but KHOOSHE_WEBHOOK_URL is not: deleting it to poll")
        try:
            return bool(await self.app.bot.delete_webhook(drop_pending_updates=False))
        except TelegramError as exc:
            log.error("could not delete the webhook (%s)", describe_trouble(exc, self.api_url))
            return False

    def _report(self, exc: TelegramError, failures: int) -> None:
        """One line per kind of trouble, not one per retry."""
        trouble = describe_trouble(exc, self.api_url)
        if trouble != self._trouble:
            self._trouble = trouble
            log.error("%s; retrying with backoff", trouble)
        elif failures % 20 == 0:
            log.warning("still failing after %d attempts: %s", failures, trouble)


def _command_update(update_id: int, user_id: int, command: str, clock: Clock) -> dict[str, Any]:
    """An update as if the user had sent ``command`` (ids below zero never reach the inbox)."""
    person = {"id": user_id, "is_bot": False, "first_name": ""}
    return {"update_id": update_id, "message": {
        "message_id": 0, "date": int(clock.now().timestamp()), "from": person,
        "chat": {"id": user_id, "type": "private"}, "text": command,
        "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
    }}


def _loads(payload: str | None) -> dict[str, Any] | None:
    if payload is None:
        return None
    try:
        value = json.loads(payload)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _seconds(value: object) -> float:
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value) if isinstance(value, int | float) else 1.0
