"""The write-ahead log is copied into the database file in the background, never inside a
user's commit (where copying what a scored round wrote made a reply wait 0.2 s)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from storage.database import Database

ROWS = 4_000  # about 2,000 pages of 4 KB: past SQLite's own checkpoint threshold of 1,000


async def write_many(db: Database) -> None:
    async with db.transaction() as repo:
        await repo.conn.execute("CREATE TABLE bulk (x TEXT)")
        await repo.conn.executemany("INSERT INTO bulk VALUES (?)", ((str(i) * 2_000,) for i in range(ROWS)))


def rows_in_database_file(path: Path) -> int:
    """Rows of ``bulk`` in the main file alone, ignoring the log (0 while the table is not there
    or the file is half copied)."""
    conn = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return int(conn.execute("SELECT count(*) FROM bulk").fetchone()[0])
    except sqlite3.DatabaseError:
        return 0
    finally:
        conn.close()


async def test_a_commit_leaves_the_log_for_later(db: Database) -> None:
    await write_many(db)
    assert rows_in_database_file(db.path) == 0


async def test_the_log_reaches_the_database_file_in_the_background(db: Database) -> None:
    await write_many(db)
    for _ in range(200):
        if rows_in_database_file(db.path) == ROWS:
            break
        await asyncio.sleep(0.05)
    assert rows_in_database_file(db.path) == ROWS
