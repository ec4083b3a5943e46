"""The bot's process loads the exports module without openpyxl: the first export imports the
module on the event loop, and openpyxl takes a fifth of a second to import (it is loaded only
where workbooks are built, in the worker process)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = "import sys, bot.services.exports; print('openpyxl' in sys.modules)"


def test_importing_the_exports_module_does_not_load_openpyxl() -> None:
    # A fresh interpreter on this checkout's code (this process has loaded openpyxl already).
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True,
                            cwd=ROOT, env=env)
    assert result.stdout.strip() == "False"
