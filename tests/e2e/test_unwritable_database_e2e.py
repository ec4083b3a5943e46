"""A database the bot cannot write (a read-only file, a read-only folder): one clear line naming
the file and what to check, a non-zero exit, and not one update fetched, so what users sent is
still waiting for the next, healthy start."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.emulator import FakeBotApi
from storage.database import Database
from tests.support.bot_process import BotProcess
from tests.support.khooshe import ROOT, seed

# Root writes through any permission bits (CAP_DAC_OVERRIDE); the bot is then started without
# that capability, like the unprivileged service user an operator runs it as.
AS_AN_ORDINARY_USER = (
    ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"] if os.geteuid() == 0 else []
)


async def seeded(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    db_path = folder / "khooshe.db"
    async with Database(db_path) as db:
        await seed(db)
    return db_path


@contextmanager
def mode(path: Path, bits: int) -> Iterator[None]:
    before = path.stat().st_mode & 0o777
    path.chmod(bits)
    try:
        yield
    finally:
        path.chmod(before)  # pytest must be able to remove the folder


async def start_and_wait_for_exit(api: FakeBotApi, db_path: Path, tmp_path: Path) -> tuple[int, str]:
    """Runs ``python -m bot`` to its end (the fake server keeps answering meanwhile); returns the
    exit code and what it wrote to stderr."""
    env = BotProcess(api, db_path, tmp_path / "unused.log").env
    child = await asyncio.create_subprocess_exec(
        *AS_AN_ORDINARY_USER, sys.executable, "-m", "bot", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, stderr = await asyncio.wait_for(child.communicate(), timeout=20)
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    assert child.returncode is not None
    return child.returncode, stderr.decode("utf-8", errors="replace")


def assert_refused_cleanly(api: FakeBotApi, code: int, stderr: str, what: str, named: Path) -> None:
    line = f"error: cannot write {what} {named} ("
    assert code == 1, stderr[-2000:]
    assert stderr.count(line) == 1, stderr[-2000:]
    assert "permissions" in stderr and "read-only" in stderr and "disk is not full" in stderr
    assert "Traceback" not in stderr
    assert api.calls_to("getUpdates") == []


async def test_a_read_only_database_file_stops_the_start_before_any_update_is_fetched(
    api: FakeBotApi, tmp_path: Path,
) -> None:
    db_path = await seeded(tmp_path)
    await api.user(3501).send("/start")
    with mode(db_path, 0o444):
        code, stderr = await start_and_wait_for_exit(api, db_path, tmp_path)
    assert_refused_cleanly(api, code, stderr, "the database", db_path)
    assert len(api.updates) == 1  # the owner's /start waits on the server


async def test_a_read_only_folder_stops_the_start_before_any_update_is_fetched(
    api: FakeBotApi, tmp_path: Path,
) -> None:
    """SQLite must create the -wal and -shm files beside the database; the lock file is left
    from an earlier run, as it is on any server where the bot has run before."""
    db_path = await seeded(tmp_path)
    Path(f"{db_path}.lock").touch()
    await api.user(3502).send("/start")
    with mode(db_path.parent, 0o555):
        code, stderr = await start_and_wait_for_exit(api, db_path, tmp_path)
    assert_refused_cleanly(api, code, stderr, "the database", db_path)
    assert len(api.updates) == 1


async def test_a_folder_where_the_lock_file_cannot_be_made_is_named(api: FakeBotApi, tmp_path: Path) -> None:
    db_path = await seeded(tmp_path)
    await api.user(3503).send("/start")
    with mode(db_path.parent, 0o555):
        code, stderr = await start_and_wait_for_exit(api, db_path, tmp_path)
    assert_refused_cleanly(api, code, stderr, "the lock file of the database", Path(f"{db_path}.lock"))
    assert len(api.updates) == 1
