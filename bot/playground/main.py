"""``python -m bot playground``: starts everything, says which URL to open, stops on Ctrl+C."""

from __future__ import annotations

import asyncio
import logging
import signal
import warnings
from pathlib import Path

from telegram.warnings import PTBUserWarning

from .runner import Playground
from .web import bound_port, serve_web


async def run(db: Path, port: int, *, fresh: bool) -> None:
    # The scheduler's every-few-seconds ticks would drown what the bot itself logs.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # Said of per_message=False, which the conversations set on purpose (see pyproject's filterwarnings).
    warnings.filterwarnings("ignore", message="If 'per_message=False'", category=PTBUserWarning)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    playground = Playground(db)
    await playground.start(fresh=fresh)
    try:
        runner = await serve_web(playground, port)
        try:
            print(f"Khooshe playground: open http://127.0.0.1:{bound_port(runner)} in a browser (Ctrl+C stops it)",
                  flush=True)
            await stop.wait()
        finally:
            await runner.cleanup()
    finally:
        await playground.stop()
