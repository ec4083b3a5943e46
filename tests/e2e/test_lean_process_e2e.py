"""``python -m bot`` runs as ``python -OO`` in the process that was started (≈ 6 MB less memory),
unless the operator asks to keep docstrings and asserts."""

from __future__ import annotations

from pathlib import Path

from bot.emulator import FakeBotApi
from storage.database import Database
from tests.support.bot_process import BotProcess
from tests.support.khooshe import seed


async def serving(api: FakeBotApi, tmp_path: Path, **extra_env: str) -> list[str]:
    """Starts the bot, has an owner talk to it, and returns the command line the started process
    runs by then."""
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
        return Path(f"/proc/{process.proc.pid}/cmdline").read_bytes().decode().split("\0")
    finally:
        process.stop()


async def test_the_started_process_serves_without_docstrings_and_asserts(api: FakeBotApi, tmp_path: Path) -> None:
    assert serving.__doc__ is not None  # the suite itself keeps them
    cmdline = await serving(api, tmp_path)
    assert cmdline[1:4] == ["-OO", "-m", "bot"]


async def test_khooshe_optimize_0_keeps_docstrings_and_asserts(api: FakeBotApi, tmp_path: Path) -> None:
    cmdline = await serving(api, tmp_path, KHOOSHE_OPTIMIZE="0")
    assert "-OO" not in cmdline
    assert cmdline[1:3] == ["-m", "bot"]
