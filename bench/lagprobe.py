"""Event-loop lag probe for the benchmarks: how late a loop runs a callback handed to it.

``LoopLag(loop)`` starts a daemon thread that, every ``PERIOD`` seconds, hands ``loop`` a
callback with ``call_soon_threadsafe`` and records (monotonic time it was handed over, how
long until it ran).  That is what an arriving update or HTTP request waits before the loop
even looks at it: a loop busy in one long callback, or starved of the GIL or of a core, shows
up here; work merely queued on the loop in short turns barely does.

Run as ``python -m bench.lagprobe OUT -m module`` it installs a probe on the first event loop
the program runs and then runs ``module`` as ``python -m module`` would; the samples go to
the file OUT (one "sent lag" line each, seconds, written every second and at exit), so the
benchmark can compare the bot's loop with its own, phase by phase.
"""

from __future__ import annotations

import asyncio
import atexit
import runpy
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

#: Seconds between two probes.
PERIOD = 0.01


class LoopLag:
    def __init__(self, loop: asyncio.AbstractEventLoop, out: Path | None = None) -> None:
        self.loop = loop
        self.samples: list[tuple[float, float]] = []
        self._out = out
        self._written = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="loop-lag", daemon=True)
        self._thread.start()
        if out is not None:
            atexit.register(self.flush)

    def _run(self) -> None:
        last_flush = time.monotonic()
        while not self._stop.wait(PERIOD):
            sent = time.monotonic()
            done = threading.Event()

            def ran(sent: float = sent, done: threading.Event = done) -> None:
                self.samples.append((sent, time.monotonic() - sent))
                done.set()

            try:
                self.loop.call_soon_threadsafe(ran)
            except RuntimeError:  # the loop is closed
                return
            # One probe in flight at a time: a stalled loop yields one long sample, not many.
            while not done.wait(1.0):
                if self._stop.is_set() or self.loop.is_closed():
                    return
            if self._out is not None and sent - last_flush > 1.0:
                self.flush()
                last_flush = sent

    def flush(self) -> None:
        if self._out is None:
            return
        new, self._written = self.samples[self._written:], len(self.samples)
        if new:
            with self._out.open("a", encoding="ascii") as f:
                f.writelines(f"{s:.6f} {lag:.6f}\n" for s, lag in new)

    def stop(self) -> None:
        self._stop.set()

    def between(self, start: float, end: float) -> list[float]:
        return [lag for sent, lag in self.samples if start <= sent <= end]


def read_samples(path: Path) -> list[tuple[float, float]]:
    try:
        text = path.read_text(encoding="ascii")
    except OSError:
        return []
    samples = []
    for line in text.splitlines():
        sent, _, lag = line.partition(" ")
        try:
            samples.append((float(sent), float(lag)))
        except ValueError:
            continue  # a line cut short by the process being killed
    return samples


def _install(out: Path) -> None:
    """Probes the first event loop that starts running in this process."""
    original = asyncio.BaseEventLoop.run_forever
    installed: list[LoopLag] = []

    def run_forever(self: asyncio.BaseEventLoop) -> None:
        if not installed:
            installed.append(LoopLag(self, out))
        original(self)

    asyncio.BaseEventLoop.run_forever = run_forever  # type: ignore[method-assign]


def main(argv: Sequence[str]) -> None:
    if len(argv) < 3 or argv[1] != "-m":
        raise SystemExit("usage: python -m bench.lagprobe OUT -m module [args…]")
    out, module = Path(argv[0]), argv[2]
    _install(out)
    sys.argv = [module, *argv[3:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
