"""Conversation positions rebuilt from the database, so a restart resumes every conversation.

python-telegram-bot writes conversation states on an interval, which a SIGKILL can beat.
Khooshe instead commits the position together with the answer that moved it (the registration
draft's step, the submission's cursor), so the states are *derived* from the database and the
interval flush has nothing to add.

They are derived one user at a time (``recall``), when the user writes after a start or after
being forgotten among the resident users (``bot.resident``): memory holds the positions of the
users seen lately, not of every conversation ever left half-way.
"""

from __future__ import annotations

from typing import Any

from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import ConversationDict, ConversationKey

from bot.context import UserData
from storage.database import Database

REGISTRATION = "registration"
ASSESSMENT = "assessment"


class DerivedConversationPersistence(BasePersistence[UserData, dict[Any, Any], Any]):
    """Reads conversation states from the drafts and submissions tables, and the other flows'
    snapshots (``bot.flows``, written by the intake); PTB's interval writes store nothing."""

    def __init__(self, db: Database, *, registration_state: Any, assessment_state: Any) -> None:
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=False, user_data=False, callback_data=False
            ),
            # Nothing is written on the interval, but PTB remembers every conversation key
            # written since the last flush, and each flush makes one task per key, all at once
            # (``Application.update_persistence`` gathers an ``update_conversation`` for each).
            # Every 60 s that was ~9,000 tasks at 150 users/s: a burst of several MB whose
            # memory pymalloc never gave back, as a few long-lived objects landed among it — the
            # RSS rose in steps to +15 MB over 20,000 users (bench/memory.py; +7 MB at 1 s).
            update_interval=1,
        )
        self._db = db
        self._registration_state = registration_state
        self._assessment_state = assessment_state

    async def get_conversations(self, name: str) -> ConversationDict:
        """Nothing up front: each user's position is recalled on their first update."""
        return {}

    async def recall(self, user_id: int) -> tuple[dict[str, object], str | None]:
        """The user's position in the registration and the assessment if they are in the middle
        of them, by conversation name, and the snapshot of their other flows (``bot.flows``)."""
        states: dict[str, object] = {}
        async with self._db.read() as repo:
            steps = await repo.drafts.active_steps(user_id)
            cursors = await repo.submissions.active_cursors(user_id)
            flows = await repo.flows.of(user_id)
        if user_id in steps:
            states[REGISTRATION] = self._registration_state(steps[user_id])
        if user_id in cursors:
            states[ASSESSMENT] = self._assessment_state(cursors[user_id])
        return states, flows

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        """The state was already committed with the data that changed it."""

    async def get_user_data(self) -> dict[int, UserData]:
        return {}

    async def get_chat_data(self) -> dict[int, dict[Any, Any]]:
        return {}

    async def get_bot_data(self) -> Any:
        return None

    async def get_callback_data(self) -> None:
        return None

    async def update_user_data(self, user_id: int, data: UserData) -> None:
        """Not stored."""

    async def update_chat_data(self, chat_id: int, data: dict[Any, Any]) -> None:
        """Not stored."""

    async def update_bot_data(self, data: Any) -> None:
        """Not stored."""

    async def update_callback_data(self, data: Any) -> None:
        """Not stored."""

    async def drop_chat_data(self, chat_id: int) -> None:
        """Not stored."""

    async def drop_user_data(self, user_id: int) -> None:
        """Not stored."""

    async def refresh_user_data(self, user_id: int, user_data: UserData) -> None:
        """Not stored."""

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[Any, Any]) -> None:
        """Not stored."""

    async def refresh_bot_data(self, bot_data: Any) -> None:
        """Not stored."""

    async def flush(self) -> None:
        """Nothing is buffered."""
