"""A firm's answers to one round: the submission row and its answers, one row per question.

On submit, the answers are also stored packed (migration 0003; the format is in
``storage/packed_answers.py``) so that ranking a round reads one row per submission.  Changing or
deleting an answer afterwards drops the packed copy (the ranking then reads the answers table).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from typing import Any

import aiosqlite

from storage.models import Submission
from storage.packed_answers import pack_ids, pack_text, shareable
from storage.repositories.base import Repository, stamp

_COLUMNS = (
    "id, round_id, firm_id, status, cursor, pending, active, started_at, updated_at,"
    " submitted_at"
)

_S_COLUMNS = ", ".join("s." + c.strip() for c in _COLUMNS.split(","))


def _submission(row: aiosqlite.Row) -> Submission:
    data = dict(row)
    data["pending"] = json.loads(data["pending"]) if data["pending"] else None
    return Submission(**data)


class SubmissionRepository(Repository):
    __slots__ = ()

    async def get(self, submission_id: int) -> Submission | None:
        row = await self._one(f"SELECT {_COLUMNS} FROM submissions WHERE id = ?", (submission_id,))
        return _submission(row) if row else None

    async def for_firm(self, *, round_id: int, firm_id: int) -> Submission | None:
        row = await self._one(
            f"SELECT {_COLUMNS} FROM submissions WHERE round_id = ? AND firm_id = ?",
            (round_id, firm_id),
        )
        return _submission(row) if row else None

    async def previous_submitted(self, *, firm_id: int, round_id: int) -> Submission | None:
        """The firm's submitted answers to the latest round that opened before ``round_id``."""
        row = await self._one(
            f"SELECT {_S_COLUMNS} FROM submissions s"
            " JOIN rounds r ON r.id = s.round_id"
            " WHERE s.firm_id = ? AND s.status = 'submitted' AND s.round_id != ?"
            " AND r.opens_at < (SELECT opens_at FROM rounds WHERE id = ?)"
            " ORDER BY r.opens_at DESC LIMIT 1",
            (firm_id, round_id, round_id),
        )
        return _submission(row) if row else None

    async def latest_unsubmitted_round(self, firm_id: int) -> int | None:
        """The latest round no longer open in which the firm answered something but never
        submitted."""
        row = await self._one(
            "SELECT s.round_id FROM submissions s JOIN rounds r ON r.id = s.round_id"
            " WHERE s.firm_id = ? AND s.status = 'draft' AND r.state NOT IN ('open', 'scheduled')"
            " AND EXISTS (SELECT 1 FROM answers a WHERE a.submission_id = s.id)"
            " ORDER BY r.opens_at DESC LIMIT 1",
            (firm_id,),
        )
        return int(row[0]) if row else None

    async def start(self, *, round_id: int, firm_id: int, cursor: str) -> Submission:
        """Returns the firm's submission for the round, creating a draft if there is none."""
        now = stamp()
        await self._write(
            "INSERT INTO submissions (round_id, firm_id, status, cursor, active, started_at,"
            " updated_at) VALUES (?, ?, 'draft', ?, 1, ?, ?)"
            " ON CONFLICT (round_id, firm_id) DO NOTHING",
            (round_id, firm_id, cursor, now, now),
        )
        found = await self.for_firm(round_id=round_id, firm_id=firm_id)
        assert found is not None
        return found

    async def move(self, *, submission_id: int, cursor: str, active: bool = True) -> None:
        """Records which question is on the owner's screen (and drops unconfirmed ticks)."""
        await self._write(
            "UPDATE submissions SET cursor = ?, pending = NULL, active = ?, updated_at = ?"
            " WHERE id = ?",
            (cursor, int(active), stamp(), submission_id),
        )

    async def set_pending(self, *, submission_id: int, qid: str, value: Any) -> None:
        """Keeps the ticks of an unconfirmed multiple-choice answer."""
        await self._write(
            "UPDATE submissions SET pending = ?, updated_at = ? WHERE id = ?",
            (json.dumps({"qid": qid, "value": value}, ensure_ascii=False), stamp(), submission_id),
        )

    async def set_active(self, *, submission_id: int, active: bool) -> None:
        await self._write(
            "UPDATE submissions SET active = ?, updated_at = ? WHERE id = ?",
            (int(active), stamp(), submission_id),
        )

    async def submit(self, submission_id: int, *, free_text: Collection[str]) -> None:
        """Marks the submission submitted and stores the packed copy of its answers (in the
        caller's transaction); ``free_text``: the ids of the round's free-text questions."""
        now = stamp()
        await self._write(
            "UPDATE submissions SET status = 'submitted', cursor = NULL, active = 0,"
            " submitted_at = ?, updated_at = ? WHERE id = ? AND status = 'draft'",
            (now, now, submission_id),
        )
        await self.pack([submission_id], free_text=free_text)

    async def reopen(self, submission_id: int) -> bool:
        """Turns a submitted submission back into a draft on its review screen, answers kept
        (``submitted_at`` stays: the round's close submits it again if it is still complete)."""
        async with self.conn.execute(
            "UPDATE submissions SET status = 'draft', cursor = 'review', active = 1, updated_at = ?"
            " WHERE id = ? AND status = 'submitted'",
            (stamp(), submission_id),
        ) as cur:
            return cur.rowcount > 0

    async def reopened_drafts(self, round_id: int) -> list[Submission]:
        """The round's drafts that were submitted once and reopened to change answers."""
        rows = await self._all(
            f"SELECT {_COLUMNS} FROM submissions WHERE round_id = ? AND status = 'draft'"
            " AND submitted_at IS NOT NULL ORDER BY id",
            (round_id,),
        )
        return [_submission(r) for r in rows]

    async def pack(self, submission_ids: Iterable[int], *, free_text: Collection[str]) -> int:
        """(Re)writes the packed copy of the answers of the given submissions (those that exist);
        returns how many were packed.  Also the backfill for submissions from before the
        packed copy existed (see ``pack_round``).

        Answers to the ``free_text`` questions stay with their submission, never in the shared
        ``answer_values``: a note that happens to look like an option id ("ZarrinKimia_0912…")
        would otherwise outlive its firm's "delete my data" there."""
        ids = sorted(set(submission_ids))
        if not ids:
            return 0
        await self.conn.execute("CREATE TEMP TABLE IF NOT EXISTS pack_ids (id INTEGER PRIMARY KEY)")
        await self.conn.execute("DELETE FROM temp.pack_ids")
        await self.conn.executemany("INSERT INTO temp.pack_ids (id) VALUES (?)", ((i,) for i in ids))
        rows = await self._all(
            "SELECT a.submission_id, a.qid, a.value FROM answers a"
            " JOIN temp.pack_ids p ON p.id = a.submission_id ORDER BY a.submission_id, a.qid"
        )
        private = frozenset(free_text)

        def shared_value(qid: str, value: str) -> bool:
            return qid not in private and shareable(value)

        shared = {(r[1], r[2]) for r in rows if shared_value(r[1], r[2])}
        await self.conn.executemany(
            "INSERT OR IGNORE INTO answer_values (qid, value) VALUES (?, ?)", sorted(shared)
        )
        numbered = await self._all(
            "SELECT v.id, v.qid, v.value FROM answer_values v JOIN"
            " (SELECT DISTINCT a.qid, a.value FROM answers a JOIN temp.pack_ids p"
            "  ON p.id = a.submission_id) d ON d.qid = v.qid AND d.value = v.value"
        )
        number = {(r[1], r[2]): r[0] for r in numbered}
        codes: dict[int, list[int]] = {i: [] for i in ids}
        texts: dict[int, list[tuple[str, str]]] = {}
        for sid, qid, value in rows:
            code = number.get((qid, value)) if shared_value(qid, value) else None
            if code is None:
                texts.setdefault(sid, []).append((qid, value))
            else:
                codes[sid].append(code)
        existing = await self._all("SELECT id FROM submissions s JOIN temp.pack_ids p USING (id)")
        await self.conn.executemany(
            "UPDATE submissions SET packed = ?, packed_text = ? WHERE id = ?",
            (
                (pack_ids(codes[sid]), pack_text(texts.get(sid, ())), sid)
                for sid in (r[0] for r in existing)
            ),
        )
        await self.conn.execute("DELETE FROM temp.pack_ids")
        return len(existing)

    async def pack_round(self, round_id: int, *, free_text: Collection[str]) -> int:
        """Packs every submitted submission of the round that has no packed copy yet."""
        rows = await self._all(
            "SELECT id FROM submissions WHERE round_id = ? AND status = 'submitted'"
            " AND packed IS NULL",
            (round_id,),
        )
        return await self.pack((r[0] for r in rows), free_text=free_text)

    async def active_cursors(self, owner_id: int | None = None) -> dict[int, str]:
        """Maps each owner (or only ``owner_id``) in the middle of the open round's assessment
        to their screen."""
        query = (
            "SELECT f.owner_id, s.cursor FROM submissions s"
            " JOIN firms f ON f.id = s.firm_id JOIN rounds r ON r.id = s.round_id"
            " WHERE r.state = 'open' AND s.status = 'draft' AND s.active = 1"
        )
        if owner_id is None:
            rows = await self._all(query)
        else:
            rows = await self._all(query + " AND f.owner_id = ?", (owner_id,))
        return {r["owner_id"]: r["cursor"] for r in rows}


class AnswerRepository(Repository):
    __slots__ = ()

    async def all(self, submission_id: int) -> dict[str, Any]:
        rows = await self._all(
            "SELECT qid, value FROM answers WHERE submission_id = ?", (submission_id,)
        )
        return {r["qid"]: json.loads(r["value"]) for r in rows}

    async def put(self, *, submission_id: int, qid: str, value: Any) -> None:
        await self._write(
            "INSERT INTO answers (submission_id, qid, value, answered_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (submission_id, qid) DO UPDATE SET value = excluded.value,"
            " answered_at = excluded.answered_at",
            (submission_id, qid, json.dumps(value, ensure_ascii=False), stamp()),
        )
        await self._unpack(submission_id)

    async def delete(self, *, submission_id: int, qid: str) -> None:
        await self._write(
            "DELETE FROM answers WHERE submission_id = ? AND qid = ?", (submission_id, qid)
        )
        await self._unpack(submission_id)

    async def _unpack(self, submission_id: int) -> None:
        """Drops a packed copy that no longer matches the answers."""
        await self._write(
            "UPDATE submissions SET packed = NULL, packed_text = NULL"
            " WHERE id = ? AND packed IS NOT NULL",
            (submission_id,),
        )
