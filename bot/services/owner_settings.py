"""A user's own settings: reminders on or off, and the language they read.

The language is stored and put in the application's language cache together, so the next
message is already in it."""

from __future__ import annotations

from bot.i18n import LANGUAGES
from storage.database import Database


class OwnerSettingsService:
    """The settings screen and the language buttons."""

    def __init__(self, db: Database, languages: dict[int, str]) -> None:
        self.db, self.languages = db, languages

    async def muted(self, user_id: int) -> bool:
        """Whether the user turned reminders off (announcements and results still come)."""
        async with self.db.read() as repo:
            stored = await repo.users.get(user_id)
        return bool(stored and stored.muted)

    async def set_muted(self, user_id: int, muted: bool) -> None:
        """Turns reminders off (``muted``) or on; the round scheduler skips muted owners."""
        async with self.db.transaction() as repo:
            await repo.users.set_muted(user_id=user_id, muted=muted)

    async def set_language(self, user_id: int, code: str) -> bool:
        """Stores a known language and caches it; False (and nothing stored) for an unknown one."""
        if code not in LANGUAGES:
            return False
        async with self.db.transaction() as repo:
            await repo.users.set_language(user_id=user_id, language=code)
        self.languages[user_id] = code
        return True
