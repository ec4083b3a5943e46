"""Which users' state is held in memory: the most recent few thousand, not everyone ever seen.

What the bot keeps per user between updates (conversation positions, the language, PTB's
``user_data``) would otherwise grow with every user who ever wrote and never shrink. Everything a
user gave is in SQLite already, so a user who has been quiet while ``limit`` others wrote is
forgotten here, and their state is read back from the database on their next update
(``bot.application.remember_user``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any


class ResidentUsers:
    """The users held in memory, least recently seen first; at most ``limit`` of them, except
    users with an update in flight (``busy``), who are never forgotten mid-update."""

    def __init__(self, limit: int, *, busy: Callable[[int], bool] = lambda _: False) -> None:
        if limit < 1:
            raise ValueError("at least one user must be resident")
        self.limit = limit
        self.busy = busy
        # Told each user id forgotten, to drop what they hold for it.
        self.on_forget: list[Callable[[int], Any]] = []
        self._order: OrderedDict[int, None] = OrderedDict()

    def __contains__(self, user_id: object) -> bool:
        return user_id in self._order

    def __len__(self) -> int:
        return len(self._order)

    def touch(self, user_id: int) -> bool:
        """Marks the user the most recent; False when they were not resident, so their state
        has to be read from the database."""
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
