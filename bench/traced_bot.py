"""``python -m bench.traced_bot``: ``python -m bot`` that reports on its own memory, for
``bench.memory --census`` and ``--trace``.

On SIGUSR1 the bot writes ``census-N.txt`` into ``$BENCH_TRACE_DIR``: glibc's heap (``mallinfo2``:
in use, free but kept, mmapped), SQLite's own allocations (``sqlite3_memory_used``, all
connections), pymalloc's arenas, the most common object types and the largest containers
reachable by the garbage collector. With ``BENCH_TRACEMALLOC=1`` it runs under tracemalloc and
also writes a snapshot (``snap-N.tm``), which ``bench.memory --trace`` compares; the process is
then slower and larger, so its RSS is not the figure to report.
"""

from __future__ import annotations

import collections
import ctypes
import gc
import os
import runpy
import signal
import sys
import tempfile
import tracemalloc
from contextlib import suppress
from pathlib import Path
from typing import Any

FRAMES = int(os.environ.get("BENCH_TRACE_FRAMES", "8"))
CONTAINERS = (dict, list, set, frozenset, collections.OrderedDict, collections.deque)


class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]


def native_lines() -> list[str]:
    lines = []
    with suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = MallInfo2
        info = libc.mallinfo2()
        lines.append(f"malloc: in use {info.uordblks / 2**20:.1f} MB, free but kept {info.fordblks / 2**20:.1f} MB "
                     f"(of arenas {info.arena / 2**20:.1f} MB), mmapped {info.hblkhd / 2**20:.1f} MB in {info.hblks}")
    with suppress(OSError, AttributeError):
        sqlite = ctypes.CDLL("libsqlite3.so.0")
        sqlite.sqlite3_memory_used.restype = ctypes.c_int64
        sqlite.sqlite3_memory_highwater.restype = ctypes.c_int64
        lines.append(f"sqlite: {sqlite.sqlite3_memory_used() / 2**20:.1f} MB in use "
                     f"(high water {sqlite.sqlite3_memory_highwater(0) / 2**20:.1f} MB)")
    # CPython writes these to the C-level stderr, not to sys.stderr.
    with tempfile.TemporaryFile("w+") as stats:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            os.dup2(stats.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        stats.seek(0)
        text = stats.read()
    for line in text.splitlines():
        if line.startswith(("# arenas allocated current", "# arenas highwater", "# bytes in allocated blocks",
                            "# bytes in available blocks", "Total ")):
            lines.append("pymalloc " + " ".join(line.split()))
    return lines


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def census(path: Path) -> None:
    # The allocators' figures first, before the census's own lists and a full collection
    # (which the bot never runs after start: it freezes what it loaded) change them.
    native = native_lines()
    if os.environ.get("BENCH_TRIM") == "1":
        before = rss_mb()
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        native.append(f"malloc_trim(0): RSS {before:.1f} -> {rss_mb():.1f} MB")
    gc.unfreeze()  # the frozen objects (bot.cli) are out of get_objects()' sight
    gc.collect()
    objects = gc.get_objects()
    kinds = collections.Counter(type(o).__name__ for o in objects)
    big = sorted(((len(o), type(o).__name__, repr(o)[:160]) for o in objects
                  if isinstance(o, CONTAINERS) and len(o) > 300), key=lambda row: row[0], reverse=True)
    with path.open("w", encoding="utf-8") as out:
        if tracemalloc.is_tracing():
            current, peak = tracemalloc.get_traced_memory()
            out.write(f"traced {current / 2**20:.1f} MB (peak {peak / 2**20:.1f})\n")
        for line in native:
            out.write(line + "\n")
        out.write(f"{len(objects):,} objects tracked by gc; most common:\n")
        for name, count in kinds.most_common(30):
            out.write(f"{count:>9,} {name}\n")
        out.write("largest containers:\n")
        for size, name, text in big[:30]:
            out.write(f"{size:>9,} {name} {text}\n")
        out.write(f"{len(sys.modules)} modules loaded:\n")
        out.write(" ".join(sorted(sys.modules)) + "\n")


def main() -> None:
    where = Path(os.environ["BENCH_TRACE_DIR"])
    traced = os.environ.get("BENCH_TRACEMALLOC") == "1"
    if traced:
        tracemalloc.start(FRAMES)
    taken = 0

    def dump(*_: Any) -> None:
        nonlocal taken
        taken += 1
        if traced:
            tracemalloc.take_snapshot().dump(str(where / f"snap-{taken}.tm"))
        census(where / f"census-{taken}.txt")
        gc.freeze()

    signal.signal(signal.SIGUSR1, dump)
    sys.argv = ["bot"]
    runpy.run_module("bot", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
