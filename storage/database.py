"""The SQLite file: one writer connection for transactions, reader connections for reads, and
the migrations applied at start-up."""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from storage.repositories import Repositories
from storage.repositories.inbox import MARK_HANDLED

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


#: How long a statement waits for a lock held by another connection.
BUSY_TIMEOUT_MS = 5000
#: ``truncate_wal``: tries, the pause before each retry (times the try's number), and how long
#: each try waits for readers.
TRUNCATE_ATTEMPTS = 8
TRUNCATE_PAUSE = 0.05
TRUNCATE_BUSY_MS = 100
#: Seconds between two background checkpoints while something is being written.
CHECKPOINT_PAUSE = 0.5
#: Each connection's page cache, KiB; SQLite's default is 2,000 KiB per connection. The writer's
#: filled up under load and stayed (+1.5 MB of RSS in bench/updates.py --quick, the bulk readers'
#: would after an export); a page not in it is read again from the OS's file cache, which
#: usually holds the whole file. Readers in WAL mode drop their cache whenever another connection has
#: committed, so theirs rarely filled.
CACHE_KIB = 256


class MigrationError(RuntimeError):
    """A migration file is misnamed or failed to apply."""


def migration_files() -> list[tuple[int, Path]]:
    """Returns the migration files in the order they apply."""
    found = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if not match:
            raise MigrationError(f"migration file {path.name} must be named NNNN_name.sql")
        found.append((int(match.group(1)), path))
    versions = [v for v, _ in found]
    if versions != list(range(1, len(versions) + 1)):
        raise MigrationError(f"migration numbers must run 1, 2, 3 … without gaps: {versions}")
    return found


class DatabaseUnwritable(RuntimeError):
    """The database (or a file SQLite keeps beside it) cannot be opened or written: the bot
    would fetch updates it cannot store, so it must not start."""

    def __init__(self, path: Path, reason: str, *, what: str = "the database") -> None:
        if "not a database" in reason or "malformed" in reason:
            hint = "check that KHOOSHE_DB names a Khooshe database file and that it is not damaged"
        else:
            hint = ("check that this user may write the file and its folder (permissions, owner),"
                    " that the filesystem is not mounted read-only, and that the disk is not full")
        super().__init__(f"cannot write {what} {path} ({reason}); {hint}")


# SQLite's answer when another connection holds the write lock: the file is writable.
_BUSY = {"SQLITE_BUSY", "SQLITE_LOCKED"}


class NestedTransactionError(RuntimeError):
    """A task asked for a transaction while it already holds one: that would wait on itself."""


# The transaction the current task holds, if any: (task, connection).  A read inside it uses the
# same connection (and sees the transaction's own writes); a second transaction raises at once.
_held: ContextVar[tuple[asyncio.Task[Any], aiosqlite.Connection] | None] = ContextVar("held", default=None)
# The reader connection the current task is reading on, so a nested read reuses it instead of
# taking a second one from the pool (which could run dry and wait forever).
_reading: ContextVar[tuple[asyncio.Task[Any], aiosqlite.Connection] | None] = ContextVar("reading", default=None)


# The update the current task is handling (set by the intake): the first transaction of its
# handler marks it handled, so its effect and "handled" commit together or not at all.
handling_update: ContextVar[int | None] = ContextVar("handling_update", default=None)


def _own(slot: tuple[asyncio.Task[Any], aiosqlite.Connection] | None) -> aiosqlite.Connection | None:
    """The slot's connection if the current task set it (a child task inherits the variable but
    not the right to use the connection)."""
    if slot is not None and slot[0] is asyncio.current_task():
        return slot[1]
    return None


class Database:
    """One SQLite file in WAL mode: one writer connection and a small pool of readers.

    Writes go through ``transaction()``, one at a time (SQLite allows one writer). Reads go
    through ``read()`` on reader connections, which WAL lets run while a write is in progress,
    so a long export or import never makes a firm's one-row read wait for it.

    ``snapshot()`` (exports, scoring: tens of thousands of rows, seconds on a busy machine)
    reads on connections of its own (``bulk_readers``), not on the ``readers`` that serve
    replies.  Eight of those, not four: a reader is held for a whole ``read()`` block, each of
    its statements a trip to the connection's thread and back, and when the machine is busy
    every such wake-up waits for a core; with up to 16 updates handled at once, four readers
    then ran out and replies queued for one for up to 0.6 s (bench/stalls.py, 50 owners; with
    eight, the longest wait seen was 0.12 s).  An idle reader is a sleeping thread and a small
    page cache.
    """

    def __init__(self, path: Path | str, *, readers: int = 8, bulk_readers: int = 2) -> None:
        self.path = Path(path)
        self.readers = readers
        self.bulk_readers = bulk_readers
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._pool: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._bulk_pool: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._reader_conns: list[aiosqlite.Connection] = []
        self._written = asyncio.Event()
        self._checkpointer: asyncio.Task[None] | None = None

    async def _open(self, *, reader: bool) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            await self._configure(conn, reader=reader)
        except BaseException:
            await conn.close()  # its thread would keep the process from exiting
            raise
        return conn

    @staticmethod
    async def _configure(conn: aiosqlite.Connection, *, reader: bool) -> None:
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        await conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if reader:
            await conn.execute("PRAGMA query_only=ON")
        else:
            await conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL is durable against process crashes in WAL mode; only an OS crash can lose
            # the last commits, and the bot cannot outlive its machine anyway.
            await conn.execute("PRAGMA synchronous=NORMAL")
            # What is deleted is overwritten with zeros, not left in free space in the file
            # ("delete my data" must leave no byte behind).  Many builds have it on by default,
            # not all.
            await conn.execute("PRAGMA secure_delete=ON")
            # SQLite's own checkpoints run inside the COMMIT that crosses 1,000 log pages: an
            # owner's one-row commit after a round was scored (100,000 rows written) copied
            # tens of MB and the reply waited 0.2 s.  The log is copied back by
            # ``_checkpoints`` on a connection of its own instead.
            await conn.execute("PRAGMA wal_autocheckpoint=0")

    async def connect(self) -> None:
        """Opens the writer, proves it can write (else ``DatabaseUnwritable``), migrates, then
        opens the readers."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseUnwritable(self.path.parent, exc.strerror or str(exc), what="the folder of the database") from None
        try:
            self._conn = await self._open(reader=False)
            await self._probe_write(self._conn)
        except sqlite3.DatabaseError as exc:
            if self._conn is not None:
                await self._conn.close()
                self._conn = None
            raise DatabaseUnwritable(self.path, str(exc)) from None
        await self.migrate()
        for pool, size in ((self._pool, self.readers), (self._bulk_pool, self.bulk_readers)):
            for _ in range(size):
                conn = await self._open(reader=True)
                self._reader_conns.append(conn)
                pool.put_nowait(conn)
        checkpoint_conn = await aiosqlite.connect(self.path, isolation_level=None)
        self._reader_conns.append(checkpoint_conn)
        self._checkpointer = asyncio.create_task(self._checkpoints(checkpoint_conn), name="wal-checkpoints")

    async def _checkpoints(self, conn: aiosqlite.Connection) -> None:
        """Copies committed log pages into the database file, in the background, at most every
        ``CHECKPOINT_PAUSE`` seconds while there are commits.  PASSIVE waits for no reader or
        writer: the work is done in this connection's thread, and SQLite starts the log over
        once everything in it has been copied and no reader still uses it."""
        while True:
            await self._written.wait()
            self._written.clear()
            try:
                await conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error as exc:  # the next commit tries again
                log.warning("background checkpoint failed: %s", exc)
            await asyncio.sleep(CHECKPOINT_PAUSE)

    @staticmethod
    async def _probe_write(conn: aiosqlite.Connection) -> None:
        """A write that is rolled back: SQLite opens a file it cannot write read-only without a
        word (and a folder where the -wal and -shm files cannot be made fails only here), so
        without it the first failure would be the intake's, after it fetched updates."""
        try:
            await conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorname", None) in _BUSY:
                return  # another connection is writing: the file is writable
            raise
        try:
            await conn.execute("CREATE TABLE write_probe (x INTEGER)")
        finally:
            await conn.rollback()

    async def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.cancel()
            await asyncio.gather(self._checkpointer, return_exceptions=True)
            self._checkpointer = None
        for conn in self._reader_conns:
            await conn.close()
        self._reader_conns.clear()
        self._pool = asyncio.Queue()
        self._bulk_pool = asyncio.Queue()
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def __aenter__(self) -> Database:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def conn(self) -> aiosqlite.Connection:
        """The writer connection (for migrations and tests that inspect the schema)."""
        if self._conn is None:
            raise RuntimeError("database is not connected")
        return self._conn

    async def migrate(self) -> list[int]:
        """Applies every migration newer than the schema version, each in its own transaction."""
        conn = self.conn
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        async with conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version") as cur:
            row = await cur.fetchone()
        current = row[0] if row is not None else 0
        applied = []
        for version, path in migration_files():
            if version <= current:
                continue
            script = path.read_text(encoding="utf-8")
            stamp = datetime.now(UTC).isoformat()
            try:
                await conn.executescript(
                    "BEGIN IMMEDIATE;\n"
                    + script
                    + f"\nINSERT INTO schema_version(version, name, applied_at)"
                    f" VALUES ({version}, '{path.name}', '{stamp}');\nCOMMIT;"
                )
            except Exception as exc:
                if conn.in_transaction:
                    await conn.rollback()
                raise MigrationError(f"migration {path.name} failed: {exc}") from exc
            log.info("applied migration %s", path.name)
            applied.append(version)
        return applied

    @asynccontextmanager
    async def transaction(self, *, marks_update: bool = True) -> AsyncIterator[Repositories]:
        """Runs the block as one transaction on the writer; it commits on success and rolls back
        on error. Keep it short (no Bot API calls, no heavy work): every other writer waits.
        Inside an update's handler it also marks the update handled, unless ``marks_update`` is
        false (bookkeeping that is not the update's effect)."""
        if _own(_held.get()) is not None:
            raise NestedTransactionError("this task already holds a transaction; finish it before opening another")
        async with self._lock:
            conn = self.conn
            await conn.execute("BEGIN IMMEDIATE")
            token = _held.set((_current_task(), conn))
            try:
                yield Repositories(conn)
                update_id = handling_update.get()
                if marks_update and update_id is not None:
                    await conn.execute(MARK_HANDLED, (update_id,))
            except BaseException:
                await conn.rollback()
                raise
            else:
                await conn.commit()
                self._written.set()
            finally:
                _held.reset(token)

    async def truncate_wal(self, *, attempts: int = TRUNCATE_ATTEMPTS) -> bool:
        """Copies the write-ahead log into the main file and truncates it to nothing; returns
        whether that was done.

        The log keeps every page as it was written, so values deleted since the last
        truncation are still in it (for "delete my data": 15 to 174 copies of them while the
        bot ran).  Truncating needs every reader to be on the latest state: a read that holds
        an older snapshot (an export) makes it busy, so it waits briefly (not the usual five
        seconds: every writer waits meanwhile) and tries again a few times."""
        if _own(_held.get()) is not None:
            raise NestedTransactionError("truncate the log after the transaction, not inside it")
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(TRUNCATE_PAUSE * attempt)
            async with self._lock:
                conn = self.conn
                await conn.execute(f"PRAGMA busy_timeout={TRUNCATE_BUSY_MS}")
                try:
                    async with conn.execute("PRAGMA wal_checkpoint(TRUNCATE)") as cur:
                        row = await cur.fetchone()
                finally:
                    await conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            if row is not None and row[0] == 0:
                return True
        log.warning("the write-ahead log could not be truncated after %d tries (a long read holds an older"
                    " state); what was deleted stays in it until it is overwritten or the bot stops", attempts)
        return False

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Repositories]:
        """Repositories on a reader connection: each statement sees the latest commit, and no
        writer waits for it. Inside a transaction of the same task, the transaction's own
        connection is used, so the block sees what the transaction wrote."""
        async with self._reader(snapshot=False) as repo:
            yield repo

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Repositories]:
        """Like ``read()``, but every statement of the block sees the same committed state (a
        read transaction), on a connection kept for such long reads: for exports and scoring,
        which read many rows of many tables."""
        async with self._reader(snapshot=True) as repo:
            yield repo

    @asynccontextmanager
    async def _reader(self, *, snapshot: bool) -> AsyncIterator[Repositories]:
        own = _own(_held.get()) or _own(_reading.get())
        if own is not None:
            yield Repositories(own)
            return
        if self._conn is None:
            raise RuntimeError("database is not connected")
        pool = self._bulk_pool if snapshot and self.bulk_readers else self._pool
        conn = await pool.get()
        token = _reading.set((_current_task(), conn))
        try:
            if snapshot:
                await conn.execute("BEGIN")
            yield Repositories(conn)
        finally:
            _reading.reset(token)
            try:
                if conn.in_transaction:
                    await conn.rollback()
            finally:
                pool.put_nowait(conn)


def _current_task() -> asyncio.Task[Any]:
    task = asyncio.current_task()
    if task is None:
        raise RuntimeError("the database is used from a running asyncio task only")
    return task
