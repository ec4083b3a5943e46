"""The inbox after a crash: what must run again, and what had already finished."""

from __future__ import annotations

from pathlib import Path

from storage.database import Database


async def test_an_update_followed_by_a_handled_one_of_the_same_user_is_not_run_again(tmp_path: Path) -> None:
    async with Database(tmp_path / "k.db") as db:
        async with db.transaction() as repo:
            await repo.inbox.store([(1, 7, "{}"), (2, 7, "{}"), (3, 8, "{}"), (4, 7, "{}")])
            await repo.inbox.finish([2], state="effected")
        async with db.transaction() as repo:
            settled = await repo.inbox.settle_superseded()
        async with db.read() as repo:
            waiting = [update_id for update_id, _ in await repo.inbox.unhandled()]
        assert settled == 1  # update 1: user 7's update 2 came after it and took effect
        assert waiting == [3, 4]  # another user's, and user 7's after the effected one


async def test_a_refetched_update_is_not_new(tmp_path: Path) -> None:
    async with Database(tmp_path / "k.db") as db:
        async with db.transaction() as repo:
            first = await repo.inbox.store([(1, 7, "{}")])
            again = await repo.inbox.store([(1, 7, "{}"), (2, 7, "{}")])
        assert (first, again) == ({1}, {2})
