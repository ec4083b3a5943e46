"""``python -m bot`` runs as ``python -OO`` in the process that was started (≈ 6 MB less memory),
unless the operator asks to keep docstrings and asserts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.emulator import FakeBotApi
from storage.database import Database
from tests.support.bot_process import BotProcess
from tests.support.khooshe import seed


async def serving(api: FakeBotApi, tmp_path: Path, **extra_env: str) -> tuple[list[str], dict[str, str]]:
    """Starts the bot, has an owner talk to it, and returns the command line the started process
    runs by then and its environment."""
    db_path = tmp_path / "khooshe.db"
    async with Database(db_path) as db:
        await seed(db)
    process = BotProcess(api, db_path, tmp_path / "bot.log", **extra_env)
    process.start()
    try:
        owner = api.user(3501)
        await owner.send("/start")
        await owner.wait_for("بنگاه خود را ثبت کنید", timeout=30)
        assert process.proc is not None
        proc = Path(f"/proc/{process.proc.pid}")
        environ = dict(item.split("=", 1) for item in (proc / "environ").read_bytes().decode().split("\0") if "=" in item)
        return (proc / "cmdline").read_bytes().decode().split("\0"), environ
    finally:
        process.stop()


async def test_the_started_process_serves_without_docstrings_and_asserts(api: FakeBotApi, tmp_path: Path) -> None:
    assert serving.__doc__ is not None  # the suite itself keeps them
    cmdline, _ = await serving(api, tmp_path)
    assert cmdline[1:4] == ["-OO", "-m", "bot"]


async def test_the_started_process_keeps_two_malloc_heaps_unless_told_otherwise(
    api: FakeBotApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    _, environ = await serving(api, tmp_path)
    assert environ["MALLOC_ARENA_MAX"] == "2"


async def test_an_operators_malloc_arena_max_is_kept(api: FakeBotApi, tmp_path: Path) -> None:
    _, environ = await serving(api, tmp_path, MALLOC_ARENA_MAX="4")
    assert environ["MALLOC_ARENA_MAX"] == "4"


async def test_khooshe_optimize_0_keeps_docstrings_and_asserts(api: FakeBotApi, tmp_path: Path) -> None:
    cmdline, _ = await serving(api, tmp_path, KHOOSHE_OPTIMIZE="0")
    assert "-OO" not in cmdline
    assert cmdline[1:3] == ["-m", "bot"]
