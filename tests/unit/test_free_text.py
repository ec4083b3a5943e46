"""Free text is what the questionnaire says is free text, whatever the words look like: a note
shaped like an option id is never shared in ``answer_values``, and "delete my data" removes one
that an older version shared there, without breaking the scores of the firm that shares it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from bot.services.privacy import PrivacyService
from bot.services.ranking import score_round
from storage.database import Database
from storage.repositories import base
from storage.repositories.base import use_clock
from tests.support.clock import TestClock
from tests.support.factories import FREE_TEXT
from tests.support.scenarios import prepare_closed_round

OWNERS = [5001, 5002, 5003, 5004, 5005]
#: Letters, digits and an underscore: the shape of an option id.
NOTE = "ZarrinKimia_09121112233"


@pytest_asyncio.fixture
async def clock() -> AsyncIterator[TestClock]:
    clock = TestClock()
    before = base._clock
    use_clock(clock.now)
    yield clock
    use_clock(before)


@pytest_asyncio.fixture
async def db(tmp_path: Path, clock: TestClock) -> AsyncIterator[Database]:
    async with Database(tmp_path / "khooshe.db") as database:
        yield database


async def write_note(db: Database, round_id: int, owner: int, *, free_text: frozenset[str]) -> None:
    async with db.transaction() as repo:
        firm = await repo.firms.by_owner(owner)
        assert firm is not None
        sub = await repo.submissions.for_firm(round_id=round_id, firm_id=firm.id)
        assert sub is not None
        await repo.answers.put(submission_id=sub.id, qid="P3", value=NOTE)
        await repo.submissions.pack([sub.id], free_text=free_text)


async def shared_notes(db: Database) -> list[str]:
    async with db.read() as repo, repo.conn.execute("SELECT value FROM answer_values WHERE qid = 'P3'") as cur:
        return [r[0] for r in await cur.fetchall()]


async def composites(db: Database, round_id: int) -> dict[int, float]:
    async with db.read() as repo, repo.conn.execute(
        "SELECT firm_id, composite FROM scores WHERE round_id = ?", (round_id,)
    ) as cur:
        return {r[0]: r[1] for r in await cur.fetchall()}


async def test_a_note_shaped_like_an_option_id_is_not_shared(db: Database) -> None:
    round_id = await prepare_closed_round(db, OWNERS)
    await write_note(db, round_id, OWNERS[0], free_text=FREE_TEXT)
    assert await shared_notes(db) == []


async def test_deleting_removes_a_note_an_older_version_shared_and_the_other_firm_still_scores(
    db: Database, clock: TestClock,
) -> None:
    round_id = await prepare_closed_round(db, OWNERS)
    # As the older version did: the note went into answer_values, shared by two firms.
    for owner in OWNERS[:2]:
        await write_note(db, round_id, owner, free_text=frozenset())
    assert len(await shared_notes(db)) == 1
    async with db.transaction() as repo:
        await repo.rounds.set_state(round_id, "closed")
    await score_round(db, round_id)
    before = await composites(db, round_id)

    await PrivacyService(db, clock).forget(OWNERS[0])
    assert await shared_notes(db) == []
    await score_round(db, round_id)  # the packed copy naming the removed value is not used
    assert await composites(db, round_id) == before
