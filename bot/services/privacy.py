"""A user's data rights: a copy of everything stored about them, and deleting their firm's
personal data (published aggregates stay; see storage/repositories/privacy.py).  Both write an
audit row."""

from __future__ import annotations

from typing import Any

from bot.clock import Clock
from bot.delivery.keys import without_recipient
from bot.domain.questionnaire import available_versions, load_questionnaire
from bot.services.access import audit
from storage.database import Database
from storage.repositories.privacy import ERASED_FIRM


def free_text_questions() -> dict[int, frozenset[str]]:
    """Each questionnaire version's free-text questions."""
    return {v: load_questionnaire(v).free_text_ids for v in available_versions()}


class PrivacyService:
    """"My data" and "delete my data", for the settings screen."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db, self.clock = db, clock

    async def export(self, user_id: int) -> dict[str, Any]:
        """Everything stored about the user and their firm, stamped with the export time."""
        async with self.db.transaction() as repo:
            data = await repo.privacy.everything_about(user_id)
            await audit(repo, user_id=user_id, action="my_data", target=f"user:{user_id}")
        return {"exported_at": self.clock.now().isoformat(), **data}

    async def forget(self, user_id: int) -> int | None:
        """Removes the personal data of the user's firm; returns its id (None without a firm).

        Afterwards the deleted values are in no table and in no byte of the database's files:
        SQLite zeroes what is deleted (``secure_delete``), and the write-ahead log, which still
        holds the pages as they were, is emptied into the main file and truncated."""
        async with self.db.transaction() as repo:
            firm_id = await repo.privacy.forget_firm(user_id, free_text=free_text_questions())
            messages = await repo.privacy.messages_to(user_id)
            await repo.privacy.detach_messages({row_id: without_recipient(key, row_id) for row_id, key in messages})
            await repo.privacy.detach_audit(user_id, firm_id)
            await audit(repo, user_id=user_id, action="delete_my_data",
                        target=ERASED_FIRM if firm_id else f"user:{user_id}")
        await self.db.truncate_wal()
        return firm_id
