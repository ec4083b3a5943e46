"""Which users' state is held in memory: the most recent few thousand, not everyone ever seen.

What the bot keeps per user between updates (conversation positions, the language, PTB's
``user_data``) would otherwise grow with every user who ever wrote and never shrink. Everything a
user gave is in SQLite already, so a user who has been quiet while ``limit`` others wrote is
forgotten here, and their state is read back from the database on their next update
(``bot.application.remember_user``).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

#: After this many users forgotten, the freed memory is handed back to the system.
TRIM_EVERY = 5_000


def release_freed_memory() -> None:
    """Asks glibc to give the system back the free pages of its heaps (``malloc_trim``).

    What forgotten users held is freed, but glibc keeps freed memory in its heaps for later
    and returns it only from the top of each heap: in a heap where live blocks sit above the
    free ones it stays in the RSS.  ``malloc_trim(0)`` releases every whole free page, wherever
    it is (bench/memory.py: −1 to −2 MB after 5,000–20,000 users). About a millisecond for a
    heap of this size. Nothing happens where the C library is not glibc.
    """
    import ctypes  # only here: +0.3 MB that a bot which never forgets anyone does not need

    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim this way
        return
    trim(0)


class ResidentUsers:
    """The users held in memory, least recently seen first; at most ``limit`` of them, except
    users with an update in flight (``busy``), who are never forgotten mid-update."""

    def __init__(self, limit: int, *, busy: Callable[[int], bool] = lambda _: False,
                 trim_every: int = TRIM_EVERY, release: Callable[[], None] = release_freed_memory) -> None:
        if limit < 1:
            raise ValueError("at least one user must be resident")
        self.limit = limit
        self.busy = busy
        # Told each user id forgotten, to drop what they hold for it.
        self.on_forget: list[Callable[[int], Any]] = []
        self._order: OrderedDict[int, None] = OrderedDict()
        # Every ``trim_every`` users forgotten, ``release`` hands the freed memory back.
        self.trim_every = trim_every
        self.release = release
        self._forgotten_since_release = 0
        self._seen_since_release = 0

    def release_if_active(self) -> bool:
        """Hands freed memory back if any user wrote since the last time (a job calls this every
        half minute: what a burst of updates freed would otherwise stay in the RSS until the next
        ``trim_every`` users are forgotten, which a quiet bot may never reach)."""
        if not self._seen_since_release:
            return False
        self._seen_since_release = 0
        self._forgotten_since_release = 0
        try:
            self.release()
        except Exception:  # giving memory back is an optimisation, never a failure
            log.warning("could not release freed memory", exc_info=True)
        return True

    def __contains__(self, user_id: object) -> bool:
        return user_id in self._order

    def __len__(self) -> int:
        return len(self._order)

    def touch(self, user_id: int) -> bool:
        """Marks the user the most recent; False when they were not resident, so their state
        has to be read from the database."""
        self._seen_since_release += 1
        if user_id in self._order:
            self._order.move_to_end(user_id)
            return True
        self._order[user_id] = None
        self._forget_oldest(keep=user_id)
        return False

    def _forget_oldest(self, *, keep: int) -> None:
        # Each user is looked at once at most: when every old user is busy, the table stays
        # over the limit until their updates end, and the next touch tries again.
        for _ in range(len(self._order) - 1):
            if len(self._order) <= self.limit:
                return
            user_id = next(iter(self._order))
            if user_id == keep:
                return
            if self.busy(user_id):
                self._order.move_to_end(user_id)
                continue
            del self._order[user_id]
            for forget in self.on_forget:
                forget(user_id)
            self._forgotten_since_release += 1
            if self._forgotten_since_release >= self.trim_every:
                self._forgotten_since_release = 0
                try:
                    self.release()
                except Exception:  # giving memory back is an optimisation, never a failure
                    log.warning("could not release freed memory", exc_info=True)
