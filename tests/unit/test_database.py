"""The database's connections: a writer for transactions, readers that never wait for it, and
re-entry that fails at once instead of waiting on itself."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from storage.database import Database, NestedTransactionError


async def add_user(db: Database, user_id: int) -> None:
    async with db.transaction() as repo:
        await repo.users.ensure(user_id=user_id, language="fa", first_name="U")


async def test_a_transaction_inside_a_transaction_of_the_same_task_fails_at_once(db: Database) -> None:
    async with db.transaction():
        with pytest.raises(NestedTransactionError):
            async with asyncio.timeout(1):
                async with db.transaction():
                    pass


async def test_a_transaction_inside_a_read_of_the_same_task_completes(db: Database) -> None:
    async with asyncio.timeout(2):
        async with db.read() as repo:
            assert await repo.users.get(1) is None
            await add_user(db, 1)
    async with db.read() as repo:
        assert await repo.users.get(1) is not None


async def test_a_read_inside_a_transaction_sees_the_transaction_s_own_writes(db: Database) -> None:
    async with db.transaction() as repo:
        await repo.users.ensure(user_id=2, language="fa", first_name="U")
        async with db.read() as inner:
            assert await inner.users.get(2) is not None


async def test_readers_are_served_while_a_write_transaction_is_held(db: Database) -> None:
    await add_user(db, 3)
    writing, release = asyncio.Event(), asyncio.Event()

    async def long_write() -> None:
        async with db.transaction() as repo:
            await repo.users.ensure(user_id=4, language="fa", first_name="U")
            writing.set()
            await release.wait()

    writer = asyncio.create_task(long_write())
    await writing.wait()
    async with asyncio.timeout(1):
        async with db.read() as repo:
            assert await repo.users.get(3) is not None
            assert await repo.users.get(4) is None  # not committed yet
    release.set()
    await writer
    async with db.read() as repo:
        assert await repo.users.get(4) is not None


async def test_nested_reads_in_more_tasks_than_readers_never_run_dry(db: Database) -> None:
    async def nested() -> None:
        async with db.read() as outer:
            await asyncio.sleep(0.01)
            async with db.read() as inner:
                assert await inner.users.get(1) is None
                assert await outer.users.get(1) is None

    async with asyncio.timeout(3):
        await asyncio.gather(*(nested() for _ in range(db.readers * 3)))


async def test_a_write_on_a_reader_connection_is_refused(db: Database) -> None:
    with pytest.raises(sqlite3.OperationalError):
        async with db.read() as repo:
            await repo.users.ensure(user_id=5, language="fa", first_name="U")


async def test_a_snapshot_sees_one_committed_state_for_the_whole_block(db: Database) -> None:
    await add_user(db, 6)
    async with db.snapshot() as repo:
        assert await repo.users.get(6) is not None
        await add_user(db, 7)  # committed by the writer meanwhile
        assert await repo.users.get(7) is None
    async with db.read() as repo:
        assert await repo.users.get(7) is not None


async def test_snapshots_never_take_the_readers_that_serve_replies(db: Database) -> None:
    # An export holds its snapshot for seconds; every reader must stay free for replies meanwhile.
    held = asyncio.Event()
    release = asyncio.Event()

    async def export() -> None:
        async with db.snapshot() as repo:
            await repo.users.get(1)
            held.set()
            await release.wait()

    exporting = asyncio.create_task(export())
    await held.wait()
    together = asyncio.Barrier(db.readers)

    async def reply() -> None:
        async with db.read() as repo:
            await together.wait()  # every reader taken at once
            assert await repo.users.get(1) is None

    async with asyncio.timeout(3):
        await asyncio.gather(*(reply() for _ in range(db.readers)))
    release.set()
    await exporting
