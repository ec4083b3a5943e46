"""After a deletion the write-ahead log is emptied into the main file and truncated; a long
read that holds an older state (an export) makes it wait, briefly, never for long."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from storage.database import BUSY_TIMEOUT_MS, Database

SECRET = "secret-firm-name-0912"


@pytest_asyncio.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with Database(tmp_path / "khooshe.db") as database:
        async with database.transaction() as repo:
            await repo.users.ensure(user_id=1, language="fa", first_name=SECRET)
        async with database.transaction() as repo:
            await repo.privacy.forget_firm(1, free_text={})
        yield database


def wal(db: Database) -> bytes:
    return Path(f"{db.path}-wal").read_bytes()


async def test_the_log_is_truncated_and_holds_no_deleted_value(db: Database) -> None:
    assert SECRET.encode() in wal(db)
    assert await db.truncate_wal()
    assert wal(db) == b""
    assert SECRET.encode() not in Path(db.path).read_bytes()


async def test_an_export_s_snapshot_delays_the_truncation_until_it_ends(db: Database) -> None:
    began, release = asyncio.Event(), asyncio.Event()

    async def export() -> None:
        async with db.snapshot() as repo:
            await repo.users.get(1)  # the read transaction now holds this state
            began.set()
            await release.wait()

    reading = asyncio.create_task(export())
    await began.wait()
    async with db.transaction() as repo:  # a newer state than the export's
        await repo.users.ensure(user_id=2, language="fa", first_name="other")
    truncating = asyncio.create_task(db.truncate_wal())
    await asyncio.sleep(0.2)
    assert not truncating.done()
    # Writers are not held up meanwhile.
    async with asyncio.timeout(0.5):
        async with db.transaction() as repo:
            await repo.users.ensure(user_id=3, language="fa", first_name="third")
    release.set()
    await reading
    assert await truncating
    assert wal(db) == b""


async def test_a_snapshot_that_outlasts_the_tries_leaves_the_log_and_the_writer_usable(db: Database) -> None:
    began, release = asyncio.Event(), asyncio.Event()

    async def export() -> None:
        async with db.snapshot() as repo:
            await repo.users.get(1)
            began.set()
            await release.wait()

    reading = asyncio.create_task(export())
    await began.wait()
    async with db.transaction() as repo:
        await repo.users.ensure(user_id=2, language="fa", first_name="other")
    assert not await db.truncate_wal(attempts=2)
    async with db.conn.execute("PRAGMA busy_timeout") as cur:
        row = await cur.fetchone()
    assert row is not None and row[0] == BUSY_TIMEOUT_MS
    release.set()
    await reading
    async with db.transaction() as repo:
        await repo.users.ensure(user_id=3, language="fa", first_name="third")
    async with db.read() as repo:
        assert await repo.users.get(3) is not None
