"""Start-up when the Bot API cannot be used: one clear line naming the URL and what to check,
retries instead of an exit, and service as soon as the API answers."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from bot.emulator import FakeBotApi
from storage.database import Database
from tests.support.bot_process import BotProcess
from tests.support.khooshe import seed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def log_shows(process: BotProcess, text: str, timeout: float = 15.0) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        log = process.log_path.read_text(encoding="utf-8", errors="replace")
        if text in log:
            return log
        await asyncio.sleep(0.05)
    raise AssertionError(f"the log never showed {text!r}:\n{process.log_path.read_text()[-2000:]}")


async def seeded(tmp_path: Path) -> Path:
    db_path = tmp_path / "khooshe.db"
    async with Database(db_path) as db:
        await seed(db)
    return db_path


async def test_a_wrong_token_is_named_once_and_the_bot_keeps_trying(api: FakeBotApi, tmp_path: Path) -> None:
    process = BotProcess(api, await seeded(tmp_path), tmp_path / "bot.log", KHOOSHE_TOKEN="999:WRONG")
    process.start()
    try:
        log = await log_shows(process, "rejected the token: check KHOOSHE_TOKEN")
        await asyncio.sleep(3.5)  # three more attempts
        assert process.proc is not None and process.proc.poll() is None
        log = process.log_path.read_text(encoding="utf-8")
        assert log.count("rejected the token") == 1
        assert "Traceback" not in log and "999:WRONG" not in log
        exited = await process.terminate()
        assert exited.code == 0
    finally:
        process.stop()


async def test_an_unreachable_api_is_named_and_served_once_it_answers(profile: str, tmp_path: Path) -> None:
    port = free_port()
    late = FakeBotApi(profile=profile)
    process = BotProcess(late, await seeded(tmp_path), tmp_path / "bot.log",
                         KHOOSHE_API_URL=f"http://127.0.0.1:{port}/bot")
    process.start()
    try:
        log = await log_shows(process, f"cannot reach the Bot API at http://127.0.0.1:{port}/bot")
        assert "Traceback" not in log
        await late.start(port)
        owner = late.user(3301)
        await owner.send("/start")
        await owner.wait_for("بنگاه خود را ثبت کنید", timeout=30)
        assert "cannot reach the Bot API" in process.log_path.read_text(encoding="utf-8")
    finally:
        process.stop()
        await late.stop()
