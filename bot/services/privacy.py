"""A user's data rights: a copy of everything stored about them, and deleting their firm's
personal data (published aggregates stay; see storage/repositories/privacy.py).  Both write an
audit row."""

from __future__ import annotations

from typing import Any

from bot.clock import Clock
from bot.services.access import audit
from storage.database import Database


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
        """Removes the personal data of the user's firm; returns its id (None without a firm)."""
        async with self.db.transaction() as repo:
            firm_id = await repo.privacy.forget_firm(user_id)
            await audit(repo, user_id=user_id, action="delete_my_data",
                        target=f"firm:{firm_id}" if firm_id else f"user:{user_id}")
        return firm_id
