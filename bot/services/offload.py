"""CPU-heavy work out of the bot's process: one worker process, shared by the use cases.

Building a workbook, parsing a CSV file and scoring a round are CPU-bound Python.  Run in a
worker thread they still share the GIL (and, on a small machine, the core) with the event loop,
so every reply to every user waits behind them.  ``run_heavy(fn, *args)`` runs ``fn(*args)`` in
a separate process instead (a ``ProcessPoolExecutor`` of ``WORKERS`` processes, started with
"spawn": the bot's process runs threads and an event loop and must never be forked).

What is sent must be picklable and cheap to pickle, because pickling holds the GIL of the
bot's process for as long as it takes: ``fn`` is a top-level function, its arguments and result
plain data (numbers, strings, bytes, lists and tuples of them, numpy arrays, small dataclasses
or models).  The worker never touches the database: SQLite stays in the bot's process.

The pool is created on first use (a start costs 0.5–1 s of the first caller's time; a process
that never exports, imports or scores never pays it) and shut down by ``shutdown()``, which the
bot calls on its way out.  ``configure("thread")`` (``KHOOSHE_OFFLOAD=thread``) runs everything
in worker threads (``asyncio.to_thread``) as before; so does a pool that cannot start, with a
warning in the log.  Until ``configure`` is called (the command line, unit tests) the mode is
"thread".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import pickle
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.process import BaseProcess
from typing import Any, Literal, TypeVar

log = logging.getLogger(__name__)

Mode = Literal["thread", "process"]
T = TypeVar("T")

#: Worker processes: one is enough on a 2-core machine (the bot keeps the other core).
WORKERS = 1
#: The worker's niceness: when it and the bot want the same core, the bot's replies win.
WORKER_NICENESS = 10


def _worker_init() -> None:
    """Runs first in each worker process."""
    # Ctrl-C in a terminal reaches the whole process group: the bot shuts the worker down itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError):  # not allowed here: run at the normal priority
        os.nice(WORKER_NICENESS)
    # A bot killed outright (SIGKILL, out of memory) cannot stop its worker, and the worker
    # holds both ends of its task queue, so it would wait forever: it exits when orphaned.
    parent = os.getppid()
    threading.Thread(target=_exit_when_orphaned, args=(parent,), name="orphan-watch", daemon=True).start()


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


class _Offload:
    def __init__(self) -> None:
        self.mode: Mode = "thread"
        self.pool: ProcessPoolExecutor | None = None
        #: set by ``shutdown``: work asked for while the bot stops runs in a thread.
        self.stopped = False

    def configure(self, mode: Mode) -> None:
        if self.pool is not None and mode == "thread":
            self._drop()
        self.mode = mode
        self.stopped = False

    def _get_pool(self) -> ProcessPoolExecutor:
        if self.pool is None:
            self.pool = ProcessPoolExecutor(
                max_workers=WORKERS, mp_context=multiprocessing.get_context("spawn"),
                initializer=_worker_init,
            )
            log.info("started a worker process for exports, imports and scoring")
        return self.pool

    async def run(self, fn: Callable[..., T], /, *args: object) -> T:
        if self.mode == "thread" or self.stopped:
            return await asyncio.to_thread(fn, *args)
        loop = asyncio.get_running_loop()
        try:
            pool = self._get_pool()
            return await loop.run_in_executor(pool, fn, *args)
        except BrokenProcessPool as exc:
            # The worker could not start, or died (killed, out of memory): this call runs in a
            # thread; the next one tries a fresh worker.
            log.warning("the worker process failed (%s); running %s in a thread", exc, fn.__qualname__)
            self._drop()
        except (OSError, NotImplementedError) as exc:
            log.warning("cannot start a worker process (%s): exports, imports and scoring run in"
                        " threads from now on", exc)
            self._drop()
            self.mode = "thread"
        return await asyncio.to_thread(fn, *args)

    def _drop(self) -> None:
        pool, self.pool = self.pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    async def shutdown(self, timeout: float) -> None:
        self.stopped = True
        pool, self.pool = self.pool, None
        if pool is None:
            return
        # No public way to reach the workers in Python 3.11 (``terminate_workers`` is 3.14).
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        await asyncio.to_thread(_join, processes, timeout)


def _join(processes: list[BaseProcess], timeout: float) -> None:
    """Waits up to ``timeout`` s for the workers to finish what they are doing and exit, then
    terminates the ones still running (their results are no longer awaited)."""
    deadline = time.monotonic() + timeout
    for p in processes:
        p.join(max(deadline - time.monotonic(), 0.0))
        if p.is_alive():
            log.warning("the worker process is still busy at shutdown; terminating it")
            p.terminate()
            p.join(1.0)


_offload = _Offload()


def configure(mode: Mode) -> None:
    """Chooses where ``run_heavy`` runs work: "process" (a worker process, started on first
    use) or "thread".  The application calls it once, before any work is sent."""
    _offload.configure(mode)


def mode() -> Mode:
    return _offload.mode


async def run_heavy(fn: Callable[..., T], /, *args: object) -> T:
    """``fn(*args)`` in the worker process (or a worker thread, see the module docstring)."""
    return await _offload.run(fn, *args)


async def shutdown(timeout: float = 1.0) -> None:
    """Stops the worker process: it may finish the work in hand within ``timeout`` seconds,
    then it is terminated.  Work asked for afterwards runs in threads until ``configure``."""
    await _offload.shutdown(timeout)


def pack(data: object) -> bytes:
    """``data`` pickled: the sender pickles large data piece by piece (a batch of rows at a
    time, a chunk of results), so that no single pickle holds the bot's GIL for long, and the
    pool then only copies bytes."""
    return pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)


def unpack(blob: bytes) -> Any:
    """What ``pack`` made (from this program only: never unpickle bytes from outside)."""
    return pickle.loads(blob)
