"""The aiosqlite connection, its transactions, and the migrations applied at start-up."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

from storage.repositories import Repositories

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


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


class Database:
    """One SQLite file in WAL mode, shared by the whole process.

    A single connection serves everyone, so a lock keeps one task's transaction from
    swallowing another task's statements.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def connect(self) -> None:
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA foreign_keys=ON")
        # NORMAL is durable against process crashes in WAL mode; only an OS crash can lose
        # the last commits, and the bot cannot outlive its machine anyway.
        await conn.execute("PRAGMA synchronous=NORMAL")
        await conn.execute("PRAGMA busy_timeout=5000")
        self._conn = conn
        await self.migrate()

    async def close(self) -> None:
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
            (current,) = await cur.fetchone()
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
    async def transaction(self) -> AsyncIterator[Repositories]:
        """Runs the block as one transaction; it commits on success and rolls back on error."""
        async with self._lock:
            conn = self.conn
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield Repositories(conn)
            except BaseException:
                await conn.rollback()
                raise
            else:
                await conn.commit()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Repositories]:
        """Gives repositories for reads that need no transaction."""
        async with self._lock:
            yield Repositories(self.conn)
