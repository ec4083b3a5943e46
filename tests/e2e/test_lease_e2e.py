"""One serving process per database: a second start says who serves it and exits; a SIGKILLed
holder never blocks the next start."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.emulator import FakeBotApi
from storage.database import Database
from tests.support.bot_process import BotProcess
from tests.support.khooshe import seed


async def exit_of(process: BotProcess, timeout: float = 20) -> int:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    assert process.proc is not None
    while process.proc.poll() is None:
        assert loop.time() < deadline, "the second process did not exit"
        await asyncio.sleep(0.05)
    return process.proc.returncode


async def test_a_second_process_on_the_same_database_exits_and_the_first_keeps_serving(
    api: FakeBotApi, tmp_path: Path,
) -> None:
    db_path = tmp_path / "khooshe.db"
    async with Database(db_path) as db:
        await seed(db)
    first = BotProcess(api, db_path, tmp_path / "first.log")
    second = BotProcess(api, db_path, tmp_path / "second.log")
    first.start()
    try:
        owner = api.user(3401)
        await owner.send("/start")
        await owner.wait_for("بنگاه خود را ثبت کنید", timeout=30)
        second.start()
        assert await exit_of(second) == 1
        assert first.proc is not None
        log = second.log_path.read_text(encoding="utf-8")
        assert f"(pid {first.proc.pid}) is serving" in log and "Traceback" not in log
        await owner.send("/help")
        await owner.wait_for("/assess")

        first.kill()  # the lock goes with the process
        second.start()
        await owner.send("/start")
        await owner.wait_for("بنگاه خود را ثبت کنید", timeout=30)
    finally:
        first.stop()
        second.stop()
