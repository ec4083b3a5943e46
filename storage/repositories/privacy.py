"""A user's data rights: everything stored about them, and deleting their firm's personal data.

Deleting keeps the scores and peer statistics of rounds already scored as they were published:
the firm row stays as an anonymous tombstone (no name, national ID or national code, licence
number, phone, founding year or size; detached from its owner, who can register again), its
free-text answers are removed, estates the owner named no longer say who named them, and its
submissions of rounds not yet scored are deleted with their answers.  Nothing kept links the
user to the tombstone: the messages sent to them lose their chat id and the ids in their keys,
and the audit log loses the firm's id.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from datetime import UTC, datetime, time
from typing import Any

from storage.packed_answers import shareable
from storage.repositories.base import Repository, stamp, utcnow

#: The audit target that stands for a firm whose owner deleted its data.
ERASED_FIRM = "firm:erased"


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
        invited = await self._rows(
            "SELECT id, estate_id, name, national_id, licence_no, mobile, created_at, opened_at, used_at FROM firm_invitations"
            " WHERE used_by = ? ORDER BY id", (user_id,),
        )
        named = await self._rows(
            "SELECT id, province_id, name, verified, requested_at FROM estates WHERE requested_by = ? ORDER BY id",
            (user_id,),
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
            "named_estates": named,
            "firm_invitations": invited,
            "audit_log": audit,
        }

    async def forget_firm(
        self, user_id: int, *, free_text: Mapping[int, Collection[str]],
    ) -> int | None:
        """Removes the personal data of the user's firm (see the module docstring); returns the
        firm id, or None when the user has no firm.  Drafts are deleted either way.

        ``free_text`` maps each questionnaire version to its free-text questions: those answers
        go whatever they look like (a version missing from it falls back to the values' shape).
        """
        await self._write("DELETE FROM registration_drafts WHERE user_id = ?", (user_id,))
        await self._write("UPDATE users SET first_name = NULL WHERE id = ?", (user_id,))
        # An estate the user named when theirs was not listed stays (other firms may be in it),
        # but no longer says who named it.
        await self._write("UPDATE estates SET requested_by = NULL WHERE requested_by = ?", (user_id,))
        # What the user sent is kept only until handled; the one being handled now has no
        # payload left to keep, so the whole trail of the user's updates goes.
        await self._write("UPDATE inbox SET payload = NULL, user_id = NULL WHERE user_id = ?", (user_id,))
        await self._write("DELETE FROM flow_snapshots WHERE user_id = ?", (user_id,))
        # Messages not yet sent are cancelled; what was sent keeps only its delivery status
        # (``detach_messages`` then takes the recipient off them).
        await self._write(
            "UPDATE outbox SET status = 'cancelled' WHERE chat_id = ? AND status IN ('pending', 'failed')",
            (user_id,),
        )
        await self._write("UPDATE outbox SET payload = '{}' WHERE chat_id = ?", (user_id,))
        # A firm invitation the user confirmed holds what their estate listed about them (name,
        # national ID, mobile; migration 0013): it goes, as does any listing the firm's own.
        await self._write("DELETE FROM firm_invitations WHERE used_by = ?", (user_id,))
        firm_id = await self._scalar(
            "SELECT id FROM firms WHERE owner_id = ? AND deleted_at IS NULL", (user_id,)
        )
        if firm_id is None:
            return None
        await self._write(
            "DELETE FROM firm_invitations WHERE national_id = (SELECT national_id FROM firms WHERE id = ?)", (firm_id,))
        written = await self._free_text_of(firm_id, free_text)
        # Submissions of rounds not scored yet go (with their answers); scored ones stay, as the
        # published scores and peer statistics were computed from them, minus free text.
        await self._write(
            "DELETE FROM submissions WHERE firm_id = ? AND round_id IN"
            " (SELECT id FROM rounds WHERE scored_at IS NULL)",
            (firm_id,),
        )
        await self.conn.executemany(
            "DELETE FROM answers WHERE submission_id = ? AND qid = ?",
            [(sid, qid) for sid, qid, _ in written],
        )
        await self._unshare({(qid, value) for _, qid, value in written})
        # The packed copies go too: the ranking reads what is left from the answers table.
        await self._write(
            "UPDATE submissions SET packed = NULL, packed_text = NULL, pending = NULL WHERE firm_id = ?",
            (firm_id,),
        )
        # The firm's owner becomes a tombstone user that nothing is ever sent to.  Its moments
        # are the day only, so that they cannot be matched to the user's "delete my data" entry
        # in the audit log.
        day = stamp(datetime.combine(utcnow().date(), time(), UTC))
        tombstone = -int(firm_id)
        await self._write(
            "INSERT INTO users (id, language, first_name, created_at, unreachable_since)"
            " VALUES (?, 'fa', NULL, ?, ?) ON CONFLICT (id) DO NOTHING",
            (tombstone, day, day),
        )
        await self._write(
            "UPDATE firms SET owner_id = ?, name = '', national_id = ?, licence_no = NULL, phone = '', employees = 0,"
            " founded_year = 0, consent_public = 0, deleted_at = ?, updated_at = ? WHERE id = ?",
            (tombstone, f"deleted-{firm_id}", day, day, firm_id),
        )
        return int(firm_id)

    async def _free_text_of(
        self, firm_id: int, free_text: Mapping[int, Collection[str]],
    ) -> list[tuple[int, str, str]]:
        """(submission id, question id, stored value) of every free-text answer of the firm."""
        rows = await self._all(
            "SELECT a.submission_id, a.qid, a.value, r.questionnaire_version FROM answers a"
            " JOIN submissions s ON s.id = a.submission_id JOIN rounds r ON r.id = s.round_id"
            " WHERE s.firm_id = ?",
            (firm_id,),
        )
        written = []
        for sid, qid, value, version in rows:
            texts = free_text.get(version)
            if (qid in texts) if texts is not None else not shareable(value):
                written.append((sid, qid, value))
        return written

    async def _unshare(self, values: set[tuple[str, str]]) -> None:
        """Removes these (question id, value) pairs from the shared ``answer_values`` (an older
        version put free text that looked like an option id there), and drops the packed copies
        of other submissions that name them (their answers are read from the answers table)."""
        for qid, value in sorted(values):
            await self._write(
                "UPDATE submissions SET packed = NULL, packed_text = NULL WHERE packed IS NOT NULL"
                " AND id IN (SELECT submission_id FROM answers WHERE qid = ? AND value = ?)",
                (qid, value),
            )
            await self._write("DELETE FROM answer_values WHERE qid = ? AND value = ?", (qid, value))

    async def messages_to(self, user_id: int) -> list[tuple[int, str]]:
        """(row id, dedupe key) of every outbox row addressed to the user."""
        rows = await self._all("SELECT id, dedupe_key FROM outbox WHERE chat_id = ?", (user_id,))
        return [(r[0], r[1]) for r in rows]

    async def detach_messages(self, keys: Mapping[int, str]) -> None:
        """Takes the recipient off these outbox rows: no chat (0 is none on any platform) and
        the given keys, which name neither the user nor the firm (``bot.delivery.keys``)."""
        await self.conn.executemany(
            "UPDATE outbox SET chat_id = 0, payload = '{}', dedupe_key = ? WHERE id = ?",
            [(key, row_id) for row_id, key in keys.items()],
        )

    async def detach_audit(self, user_id: int, firm_id: int | None) -> None:
        """Audit entries no longer say which firm was the user's: entries about the firm keep
        their action and moment, but not the firm's id."""
        await self._write(
            "UPDATE audit_log SET target = ? WHERE user_id = ? AND (target LIKE 'firm:%' OR target LIKE 'firm %')",
            (ERASED_FIRM, user_id),
        )
        if firm_id is not None:
            await self._write(
                "UPDATE audit_log SET target = ? WHERE target IN (?, ?)",
                (ERASED_FIRM, f"firm:{firm_id}", f"firm {firm_id}"),
            )
