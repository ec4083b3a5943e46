"""A slow-path hook for exports: hold a workbook half-built in its worker thread, look at the
bot meanwhile, then let it finish (``bot.services.exports.on_build_step``)."""

from __future__ import annotations

import asyncio
import threading


class HeldBuild:
    """Holds a workbook build in its worker thread at its first step until ``release()``."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self._released = threading.Event()
        self.steps: list[str] = []

    def __call__(self, sheet: str) -> None:  # runs in the export's worker thread
        self.steps.append(sheet)
        self.reached.set()
        if not self._released.wait(10):
            raise RuntimeError("the held export was never released")

    async def wait_reached(self) -> None:
        assert await asyncio.to_thread(self.reached.wait, 5), "the export never started building"

    def release(self) -> None:
        self._released.set()
