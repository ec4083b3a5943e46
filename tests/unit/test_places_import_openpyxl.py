"""The bot's process loads the import's modules without openpyxl: an .xlsx import opens the
workbook in the worker (``run_heavy``), which alone imports openpyxl."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = ("import sys, bot.services.places, bot.services.places_import, handlers.admin.places; "
         "print('openpyxl' in sys.modules)")


def test_importing_the_import_modules_does_not_load_openpyxl() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True,
                            cwd=ROOT, env=env)
    assert result.stdout.strip() == "False"
