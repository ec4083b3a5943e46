"""Worlds that several end-to-end test modules start from: a closed round with scored firms,
and the same world with managers, a note and a firm that never answered."""

from __future__ import annotations

from datetime import timedelta

from storage.database import Database
from tests.support.clock import TEST_NOW
from tests.support.factories import FREE_TEXT, add_firm, full_answers, submit
from tests.support.khooshe import ADMIN_ID, seed

OWNERS = [5001, 5002, 5003, 5004, 5005, 5006]
MANAGER, OTHER_MANAGER, SILENT = 7001, 7002, 5100
NOTE = "برق هفته‌ای دو بار قطع می‌شود"


async def prepare_closed_round(db: Database, owners: list[int], *, consent_first: bool = True) -> int:
    """Seeds estates, an open round that has already passed its closing time, and submissions."""
    await seed(db, open_round=True, now=TEST_NOW - timedelta(days=1))
    async with db.transaction() as repo:
        current = await repo.rounds.open_round()
        assert current is not None
        await repo.rounds.update(current.id, closes_at=TEST_NOW - timedelta(minutes=5))
    for i, owner in enumerate(owners):
        firm_id = await add_firm(db, owner, name=f"بنگاه شماره {owner}", consent=consent_first or i > 0,
                                 lang="en" if i == 1 else "fa")
        await submit(db, current.id, firm_id, full_answers(i % 3))
    return current.id


async def prepare_published_world(db: Database) -> int:
    """Six scored firms in estate 1 (one with a written note, the first not consenting to be
    named), one firm that never answered, a firm in estate 2; two managers."""
    round_id = await prepare_closed_round(db, OWNERS, consent_first=False)
    async with db.transaction() as repo:
        firm = await repo.firms.by_owner(OWNERS[2])
        assert firm is not None
        sub = await repo.submissions.for_firm(round_id=round_id, firm_id=firm.id)
        assert sub is not None
        await repo.answers.put(submission_id=sub.id, qid="P3", value=NOTE)
        await repo.submissions.pack([sub.id], free_text=FREE_TEXT)
    await add_firm(db, SILENT, name="بنگاه ساکت")
    other = await add_firm(db, 5200, name="بنگاه شهرک دیگر", estate_id=2)
    await submit(db, round_id, other, full_answers(1))
    async with db.transaction() as repo:
        await repo.access.add_manager(user_id=MANAGER, estate_id=1, by=ADMIN_ID)
        await repo.access.add_manager(user_id=MANAGER, estate_id=2, by=ADMIN_ID)
        await repo.access.add_manager(user_id=OTHER_MANAGER, estate_id=2, by=ADMIN_ID)
    return round_id
