"""People who wrote to the bot, and the language they read."""

from __future__ import annotations

from datetime import datetime

from storage.models import User
from storage.repositories.base import Repository, stamp


class UserRepository(Repository):
    __slots__ = ()

    async def get(self, user_id: int) -> User | None:
        row = await self._one(
            "SELECT id, language, first_name, muted, unreachable_since, created_at FROM users"
            " WHERE id = ?",
            (user_id,),
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

    async def set_unreachable(self, *, user_id: int, at: datetime) -> None:
        await self._write("UPDATE users SET unreachable_since = ? WHERE id = ?", (stamp(at), user_id))

    async def clear_unreachable(self, user_id: int) -> None:
        await self._write("UPDATE users SET unreachable_since = NULL WHERE id = ?", (user_id,))

    async def unreachable_ids(self) -> set[int]:
        rows = await self._all("SELECT id FROM users WHERE unreachable_since IS NOT NULL")
        return {r["id"] for r in rows}

    async def set_muted(self, *, user_id: int, muted: bool) -> None:
        await self._write("UPDATE users SET muted = ? WHERE id = ?", (int(muted), user_id))
