"""A user's data rights: everything stored about them, and deleting their firm's personal data.

Deleting keeps the scores and peer statistics of rounds already scored as they were published:
the firm row stays as an anonymous tombstone (no name, national ID, phone, founding year or
size; detached from its owner, who can register again), its free-text answers are removed, and
its submissions of rounds not yet scored are deleted with their answers.
"""

from __future__ import annotations

import json
from typing import Any

from storage.packed_answers import shareable
from storage.repositories.base import Repository, stamp


def _plain(row: Any) -> dict[str, Any]:
    out = {}
    for key in row.keys():  # noqa: SIM118 - a Row iterates over its values, not its keys
        value = row[key]
        out[key] = value.hex() if isinstance(value, bytes) else value
    return out


class PrivacyRepository(Repository):
    __slots__ = ()

    async def _rows(self, sql: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        return [_plain(r) for r in await self._all(sql, params)]

    async def everything_about(self, user_id: int) -> dict[str, Any]:
        """Every stored row about the user and their firm, as JSON-ready dicts."""
        users = await self._rows("SELECT * FROM users WHERE id = ?", (user_id,))
        firms = await self._rows(
            "SELECT * FROM firms WHERE owner_id = ? AND deleted_at IS NULL", (user_id,)
        )
        firm = firms[0] if firms else None
        drafts = await self._rows("SELECT * FROM registration_drafts WHERE user_id = ?", (user_id,))
        for d in drafts:
            d["data"] = json.loads(d["data"]) if d.get("data") else {}
        submissions: list[dict[str, Any]] = []
        scores: list[dict[str, Any]] = []
        if firm is not None:
            submissions = await self._rows(
                "SELECT s.id, s.round_id, r.title AS round_title, s.status, s.started_at, s.updated_at,"
                " s.submitted_at FROM submissions s JOIN rounds r ON r.id = s.round_id"
                " WHERE s.firm_id = ? ORDER BY s.round_id",
                (firm["id"],),
            )
            for s in submissions:
                answers = await self._all(
                    "SELECT qid, value, answered_at FROM answers WHERE submission_id = ? ORDER BY qid",
                    (s["id"],),
                )
                s["answers"] = {a["qid"]: json.loads(a["value"]) for a in answers}
            scores = await self._rows(
                "SELECT * FROM scores WHERE firm_id = ? ORDER BY round_id", (firm["id"],)
            )
            for sc in scores:
                sc["dimensions"] = json.loads(sc["dimensions"]) if sc.get("dimensions") else {}
                sc["weakest"] = json.loads(sc["weakest"]) if sc.get("weakest") else []
        outbox = await self._rows(
            "SELECT id, kind, status, payload, not_before, sent_at, created_at FROM outbox"
            " WHERE chat_id = ? ORDER BY id",
            (user_id,),
        )
        for o in outbox:
            o["payload"] = json.loads(o["payload"]) if o.get("payload") else {}
        managed = await self._rows(
            "SELECT estate_id, granted_by, granted_at FROM estate_managers WHERE user_id = ?", (user_id,)
        )
        audit = await self._rows(
            "SELECT at, action, target, outcome, detail FROM audit_log WHERE user_id = ? ORDER BY id",
            (user_id,),
        )
        return {
            "user": users[0] if users else None,
            "firm": firm,
            "registration_draft": drafts[0] if drafts else None,
            "submissions": submissions,
            "scores": scores,
            "messages": outbox,
            "managed_estates": managed,
            "audit_log": audit,
        }

    async def forget_firm(self, user_id: int) -> int | None:
        """Removes the personal data of the user's firm (see the module docstring); returns the
        firm id, or None when the user has no firm.  Drafts are deleted either way."""
        now = stamp()
        await self._write("DELETE FROM registration_drafts WHERE user_id = ?", (user_id,))
        await self._write("UPDATE users SET first_name = NULL WHERE id = ?", (user_id,))
        # What the user sent is kept only until handled; the one being handled now has no
        # payload left to keep, so the whole trail of the user's updates goes.
        await self._write("UPDATE inbox SET payload = NULL, user_id = NULL WHERE user_id = ?", (user_id,))
        # Messages not yet sent are cancelled; what was sent keeps only its delivery status.
        await self._write(
            "UPDATE outbox SET status = 'cancelled' WHERE chat_id = ? AND status IN ('pending', 'failed')",
            (user_id,),
        )
        await self._write("UPDATE outbox SET payload = '{}' WHERE chat_id = ?", (user_id,))
        firm_id = await self._scalar(
            "SELECT id FROM firms WHERE owner_id = ? AND deleted_at IS NULL", (user_id,)
        )
        if firm_id is None:
            return None
        # Submissions of rounds not scored yet go (with their answers); scored ones stay, as the
        # published scores and peer statistics were computed from them, minus free text.
        await self._write(
            "DELETE FROM submissions WHERE firm_id = ? AND round_id IN"
            " (SELECT id FROM rounds WHERE scored_at IS NULL)",
            (firm_id,),
        )
        kept = await self._all(
            "SELECT a.submission_id, a.qid, a.value FROM answers a JOIN submissions s"
            " ON s.id = a.submission_id WHERE s.firm_id = ?",
            (firm_id,),
        )
        for sid, qid, value in kept:
            if not shareable(value):
                await self._write(
                    "DELETE FROM answers WHERE submission_id = ? AND qid = ?", (sid, qid)
                )
        await self._write(
            "UPDATE submissions SET packed_text = NULL, pending = NULL WHERE firm_id = ?", (firm_id,)
        )
        # The firm's owner becomes a tombstone user that nothing is ever sent to.
        tombstone = -int(firm_id)
        await self._write(
            "INSERT INTO users (id, language, first_name, created_at, unreachable_since)"
            " VALUES (?, 'fa', NULL, ?, ?) ON CONFLICT (id) DO NOTHING",
            (tombstone, now, now),
        )
        await self._write(
            "UPDATE firms SET owner_id = ?, name = '', national_id = ?, phone = '', employees = 0,"
            " founded_year = 0, consent_public = 0, deleted_at = ?, updated_at = ? WHERE id = ?",
            (tombstone, f"deleted-{firm_id}", now, now, firm_id),
        )
        return int(firm_id)
