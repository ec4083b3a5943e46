"""``python -m bot`` as a real child process against the fake server, for SIGKILL tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.support.clock import offset_env
from tests.support.fakebot import FakeBotApi
from tests.support.khooshe import ROOT


class BotProcess:
    """Starts, kills (SIGKILL) and stops the bot; ``extra_env`` adds KHOOSHE_* settings."""

    def __init__(self, api: FakeBotApi, db_path: Path, log_path: Path, **extra_env: str) -> None:
        self.env = {
            **os.environ,
            "KHOOSHE_TOKEN": api.token,
            "KHOOSHE_API_URL": api.base_url,
            "KHOOSHE_DB": str(db_path),
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

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
