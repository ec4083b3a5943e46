"""People who wrote to the bot, and the language they read."""

from __future__ import annotations

from storage.models import User
from storage.repositories.base import Repository, stamp


class UserRepository(Repository):
    __slots__ = ()

    async def get(self, user_id: int) -> User | None:
        row = await self._one(
            "SELECT id, language, first_name, created_at FROM users WHERE id = ?", (user_id,)
        )
        return User(**dict(row)) if row else None

    async def ensure(self, *, user_id: int, language: str, first_name: str | None) -> User:
        """Returns the user, creating them with ``language`` on first contact."""
        await self._write(
            "INSERT INTO users (id, language, first_name, created_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (id) DO NOTHING",
            (user_id, language, first_name, stamp()),
        )
        user = await self.get(user_id)
        assert user is not None
        return user

    async def set_language(self, *, user_id: int, language: str) -> None:
        await self._write("UPDATE users SET language = ? WHERE id = ?", (language, user_id))
