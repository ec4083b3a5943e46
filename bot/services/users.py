"""Who the bot has met: a user is recorded on first contact (so their language is known without
a query later), and one who had blocked the bot is reachable again once they write."""

from __future__ import annotations

from bot.i18n import pick_language
from storage.database import Database


class UsersService:
    """Runs on every update, so it touches the database only when something changes: the first
    contact of a user since start-up, or the first message of one marked unreachable."""

    def __init__(self, db: Database, languages: dict[int, str], unreachable: set[int]) -> None:
        self.db, self.languages, self.unreachable = db, languages, unreachable

    async def seen(self, user_id: int, *, language_code: str | None, first_name: str | None) -> str:
        """Records the contact; returns the user's language."""
        if user_id in self.unreachable:
            # They wrote to us, so they have unblocked the bot: bulk messages may reach them again.
            # Bookkeeping before the update's own handler: it must not mark the update handled.
            async with self.db.transaction(marks_update=False) as repo:
                await repo.users.clear_unreachable(user_id)
            self.unreachable.discard(user_id)
        known = self.languages.get(user_id)
        if known is not None:
            return known
        async with self.db.transaction(marks_update=False) as repo:
            stored = await repo.users.ensure(
                user_id=user_id, language=pick_language(language_code), first_name=first_name
            )
        self.languages[user_id] = stored.language
        return stored.language
