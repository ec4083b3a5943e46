"""Registrations and profile edits in progress, saved field by field."""

from __future__ import annotations

import json
from typing import Any

from storage.models import RegistrationDraft
from storage.repositories.base import Repository, stamp


class RegistrationDraftRepository(Repository):
    __slots__ = ()

    async def get(self, user_id: int) -> RegistrationDraft | None:
        row = await self._one(
            "SELECT user_id, step, data, editing, active, updated_at"
            " FROM registration_drafts WHERE user_id = ?",
            (user_id,),
        )
        if row is None:
            return None
        return RegistrationDraft(**{**dict(row), "data": json.loads(row["data"])})

    async def start(self, *, user_id: int, step: str, data: dict[str, Any], editing: bool) -> None:
        await self._write(
            "INSERT INTO registration_drafts (user_id, step, data, editing, active, updated_at)"
            " VALUES (?, ?, ?, ?, 1, ?) ON CONFLICT (user_id) DO UPDATE SET"
            " step = excluded.step, data = excluded.data, editing = excluded.editing,"
            " active = 1, updated_at = excluded.updated_at",
            (user_id, step, json.dumps(data, ensure_ascii=False), int(editing), stamp()),
        )

    async def update(self, *, user_id: int, step: str, data: dict[str, Any]) -> None:
        """Stores the fields given so far and the step asked next, together."""
        await self._write(
            "UPDATE registration_drafts SET step = ?, data = ?, active = 1, updated_at = ?"
            " WHERE user_id = ?",
            (step, json.dumps(data, ensure_ascii=False), stamp(), user_id),
        )

    async def set_active(self, *, user_id: int, active: bool) -> None:
        await self._write(
            "UPDATE registration_drafts SET active = ?, updated_at = ? WHERE user_id = ?",
            (int(active), stamp(), user_id),
        )

    async def delete(self, user_id: int) -> None:
        await self._write("DELETE FROM registration_drafts WHERE user_id = ?", (user_id,))

    async def active_steps(self, user_id: int | None = None) -> dict[int, str]:
        """Maps each user in the middle of a registration (or only ``user_id``) to the step they are on."""
        if user_id is None:
            rows = await self._all("SELECT user_id, step FROM registration_drafts WHERE active = 1")
        else:
            rows = await self._all(
                "SELECT user_id, step FROM registration_drafts WHERE active = 1 AND user_id = ?", (user_id,)
            )
        return {r["user_id"]: r["step"] for r in rows}
