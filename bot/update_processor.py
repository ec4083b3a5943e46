"""Serve different users side by side while each user's own updates stay in order."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.domain.throttle import UserThrottle
from storage.database import handling_update


class PerUserUpdateProcessor(BaseUpdateProcessor):
    """At most ``max_concurrent_updates`` updates run at once, one per user at a time.

    A user's updates wait on that user's lock *before* taking a slot, so a user who taps fast
    never holds slots that other users could use, and a conversation's state never races.
    PTB's ``process_update`` (final) takes the base class's semaphore before anything else, so
    that one is made wide enough never to wait, and the real slots are taken here, after the
    user's lock.

    The tasks running updates are tracked, so a shutdown whose deadline has passed can cancel
    a handler that hangs (``cancel_all``) instead of waiting for it forever.
    """

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(_NEVER_WAITS)
        self.slots = max_concurrent_updates
        self._slots = asyncio.BoundedSemaphore(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        # Told when an update's handlers have finished (the intake marks it handled).
        self.on_handled: Callable[[object], None] | None = None
        # Per-user rate; an update over it is dropped, and the user told once (on_throttled).
        self.throttle: UserThrottle | None = None
        self.on_throttled: Callable[[object], None] | None = None

    @property
    def in_flight(self) -> int:
        """How many updates are being handled or waiting for their user's turn."""
        return len(self._tasks)

    def busy(self, user_id: int) -> bool:
        """Whether an update of this user is being handled or waiting for its turn."""
        return user_id in self._waiting

    def cancel_all(self) -> int:
        """Cancels every update still being handled; returns how many there were."""
        tasks = [t for t in self._tasks if not t.done()]
        for task in tasks:
            task.cancel()
        return len(tasks)

    @staticmethod
    def _key(update: object) -> int | None:
        if isinstance(update, Update):
            if update.effective_user is not None:
                return update.effective_user.id
            if update.effective_chat is not None:
                return update.effective_chat.id
        return None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = self._key(update)
        if self.throttle is not None and key is not None and not self.throttle.allow(key, time.monotonic()):
            # Dropped before it waits for the user's turn: a flood never queues up behind itself.
            if inspect.iscoroutine(coroutine):
                coroutine.close()
            if self.on_handled is not None:
                self.on_handled(update)
            if self.on_throttled is not None and self.throttle.first_refusal(key):
                self.on_throttled(update)
            return
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self._process(update, coroutine)
            if self.on_handled is not None:
                self.on_handled(update)
        finally:
            if task is not None:
                self._tasks.discard(task)
            if inspect.iscoroutine(coroutine) and inspect.getcoroutinestate(coroutine) == inspect.CORO_CREATED:
                coroutine.close()  # cancelled while waiting for its turn: it never ran

    async def _process(self, update: object, coroutine: Awaitable[Any]) -> None:
        if isinstance(update, Update):
            # The handler's first transaction marks this update handled along with its effect.
            handling_update.set(update.update_id)
        key = self._key(update)
        if key is None:
            async with self._slots:
                await coroutine
            return
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock, self._slots:
                await coroutine
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                # Forget idle users so the table does not grow with every user ever seen.
                del self._waiting[key]
                del self._locks[key]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


# More updates than could ever be in flight at once: the base class's semaphore never waits.
_NEVER_WAITS = 1_000_000
