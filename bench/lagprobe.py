"""Event-loop lag probe for the benchmarks: how late a loop runs a callback handed to it.

``LoopLag(loop)`` starts a daemon thread that, every ``PERIOD`` seconds, hands ``loop`` a
callback with ``call_soon_threadsafe`` and records (monotonic time it was due to be handed
over, how long from then until it ran).  That is what an arriving update or HTTP request waits before the loop
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
import gc
import os
import runpy
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

#: Seconds between two probes.
PERIOD = 0.01
#: Collections shorter than this (seconds) are not recorded.
GC_MIN = 0.002
#: When set (seconds), ``python -m bench.lagprobe`` runs the loop in asyncio's debug mode and
#: logs each callback that ran longer than that.
SLOW_ENV = "LAGPROBE_SLOW_CALLBACK"


class LoopLag:
    def __init__(self, loop: asyncio.AbstractEventLoop, out: Path | None = None) -> None:
        self.loop = loop
        self.samples: list[tuple[float, float]] = []
        self.collections: list[tuple[float, float, int]] = []  # (start, seconds, generation)
        #: Per sample, the loop thread's (CPU seconds, seconds waiting for a core) so far, how
        #: late the probe's thread sent it, and that thread's own wait for a core so far.
        self.threads: list[tuple[float, float, float, float]] = []
        self._gc_written = 0
        self._gc_start = 0.0
        self._out = out
        self._written = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="loop-lag", daemon=True)
        self._thread.start()
        if out is not None:
            atexit.register(self.flush)
            gc.callbacks.append(self._gc)

    def _gc(self, phase: str, info: dict[str, int]) -> None:
        now = time.monotonic()
        if phase == "start":
            self._gc_start = now
        elif now - self._gc_start >= GC_MIN:
            self.collections.append((self._gc_start, now - self._gc_start, info.get("generation", -1)))

    def _run(self) -> None:
        last_flush = time.monotonic()
        due = time.monotonic() + PERIOD
        while not self._stop.wait(max(0.0, due - time.monotonic())):
            # Lag is counted from when the probe was due, not from when this thread got to send
            # it: a process frozen as a whole (no core for it, or the GIL held inside one C
            # call) delays this thread too, and would otherwise go unseen.
            sent = due
            # How late this thread itself got to send it, and its own wait for a core so far.
            woke, probe_wait = time.monotonic() - due, _thread_times()[1]
            done = threading.Event()

            def ran(sent: float = sent, done: threading.Event = done, woke: float = woke,
                    probe_wait: float = probe_wait) -> None:
                self.samples.append((sent, time.monotonic() - sent))
                self.threads.append((*_thread_times(), woke, probe_wait))
                done.set()

            try:
                self.loop.call_soon_threadsafe(ran)
            except RuntimeError:  # the loop is closed
                return
            # One probe in flight at a time: a stalled loop yields one long sample, not many.
            while not done.wait(1.0):
                if self._stop.is_set() or self.loop.is_closed():
                    return
            now = time.monotonic()
            due = max(due + PERIOD, now + PERIOD / 2)
            if self._out is not None and now - last_flush > 1.0:
                self.flush()
                last_flush = now

    def flush(self) -> None:
        if self._out is None:
            return
        start, self._written = self._written, len(self.samples)
        new = list(zip(self.samples[start:self._written], self.threads[start:self._written], strict=True))
        collections, self._gc_written = self.collections[self._gc_written:], len(self.collections)
        if new or collections:
            with self._out.open("a", encoding="ascii") as f:
                f.writelines(f"{s:.6f} {lag:.6f} {cpu:.6f} {wait:.6f} {woke:.6f} {probe:.6f}\n"
                             for (s, lag), (cpu, wait, woke, probe) in new)
                f.writelines(f"gc {s:.6f} {d:.6f} {g}\n" for s, d, g in collections)

    def stop(self) -> None:
        self._stop.set()

    def between(self, start: float, end: float) -> list[float]:
        return [lag for sent, lag in self.samples if start <= sent <= end]


def _thread_times() -> tuple[float, float]:
    """The calling thread's CPU time and time spent runnable but waiting for a core, in seconds
    (``/proc/thread-self/schedstat``; zeros where there is none)."""
    try:
        with open("/proc/thread-self/schedstat", "rb") as f:
            cpu, wait, *_ = f.read().split()
        return int(cpu) / 1e9, int(wait) / 1e9
    except (OSError, ValueError):
        return 0.0, 0.0


def read_samples(path: Path) -> list[tuple[float, float]]:
    """The (due time, lag) samples ``flush`` wrote."""
    return [(sample[0], sample[1]) for sample in read_thread_samples(path)]


def read_thread_samples(path: Path) -> list[tuple[float, float, float, float, float, float]]:
    """The samples ``flush`` wrote with the threads' times: (due time, lag, the loop thread's
    CPU seconds and seconds waited for a core so far when it ran the probe, how late the
    probe's thread sent it, that thread's wait for a core so far).  Between two samples, a lag
    that a thread's wait for a core explains was the machine; one the loop's CPU time explains,
    a long callback on the loop; the rest, mostly the GIL held by another thread."""
    try:
        text = path.read_text(encoding="ascii")
    except OSError:
        return []
    samples = []
    for line in text.splitlines():
        parts = line.split()
        try:
            values = [float(part) for part in parts]
        except ValueError:
            continue  # a gc line, or one cut short by the process being killed
        if len(values) >= 2:
            values += [0.0] * (6 - len(values))
            samples.append((values[0], values[1], values[2], values[3], values[4], values[5]))
    return samples


def read_gc(path: Path) -> list[tuple[float, float, int]]:
    """The collections ``flush`` wrote: (monotonic start, seconds, generation)."""
    try:
        text = path.read_text(encoding="ascii")
    except OSError:
        return []
    found = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0] == "gc":
            try:
                found.append((float(parts[1]), float(parts[2]), int(parts[3])))
            except ValueError:
                continue
    return found


def _install(out: Path) -> None:
    """Probes the first event loop that starts running in this process."""
    original = asyncio.BaseEventLoop.run_forever
    installed: list[LoopLag] = []

    slow = os.environ.get(SLOW_ENV)

    def run_forever(self: asyncio.BaseEventLoop) -> None:
        if not installed:
            installed.append(LoopLag(self, out))
            if slow:
                # asyncio's debug mode logs every callback that ran longer than this, with what
                # it was ("Executing <Task …> took 0.2 seconds"); it slows the loop down too.
                self.set_debug(True)
                self.slow_callback_duration = float(slow)
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
