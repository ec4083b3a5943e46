"""``python -m bot`` as a real child process against the fake server, for SIGKILL and SIGTERM
tests."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

from bot.emulator import FakeBotApi
from tests.support.clock import offset_env
from tests.support.khooshe import ROOT


class Exited(NamedTuple):
    code: int | None  # None: it had not exited in time and was SIGKILLed
    seconds: float  # from the signal to the exit


class BotProcess:
    """Starts, kills (SIGKILL), terminates (SIGTERM) and stops the bot; ``extra_env`` adds
    KHOOSHE_* settings."""

    def __init__(self, api: FakeBotApi, db_path: Path, log_path: Path, **extra_env: str) -> None:
        self.env = {
            **os.environ,
            "KHOOSHE_TOKEN": api.token,
            "KHOOSHE_API_URL": api.base_url,
            "KHOOSHE_DB": str(db_path),
            "KHOOSHE_PLATFORM": api.profile,
            "KHOOSHE_POLL_TIMEOUT": "1",
            "KHOOSHE_USER_BURST": "100000",  # scripted users; the per-user limit is tested on its own
            **offset_env(),  # the child runs at the test clock's moment too
            **extra_env,
        }
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        # The child gets its own copy of the descriptor; ours is closed at once (no leaked handle).
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot"], cwd=ROOT, env=self.env, stdout=log, stderr=log
            )

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    async def terminate(self, timeout: float = 10.0) -> Exited:
        """Sends SIGTERM and waits for the exit without blocking the event loop (the fake server
        runs on it and must answer the bot's last calls); SIGKILLs it after ``timeout``."""
        assert self.proc is not None
        began = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        while self.proc.poll() is None and time.monotonic() - began < timeout:
            await asyncio.sleep(0.01)
        seconds = time.monotonic() - began
        code = self.proc.poll()
        if code is None:
            self.kill()
        return Exited(code, seconds)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


async def wait_until_polling(api: FakeBotApi, timeout: float = 30.0) -> None:
    """Waits until a bot process has started and asks for updates (start-up takes a few
    seconds on a loaded machine; a test's first reply should not have to absorb that)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not api.calls_to("getUpdates"):
        assert loop.time() < deadline, "the bot never started polling"
        await asyncio.sleep(0.05)
