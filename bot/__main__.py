"""``python -m bot``: run the bot, or one of the operator commands (see ``bot.cli``)."""

import os
import sys

# The bot runs without docstrings and asserts (``python -OO``): the docstrings of the libraries it
# imports are ≈ 4.5 MB of its ≈ 69 MB at rest (bench/memory.py), and its asserts only restate what
# the type checker was told.  ``exec`` keeps the process id, so a supervisor or a signal still
# reaches the same process.  KHOOSHE_OPTIMIZE=0 (environment only: this runs before the settings
# are read) keeps both, for debugging.
if sys.flags.optimize < 2 and os.environ.get("KHOOSHE_OPTIMIZE", "1").strip().lower() not in {"0", "false", "no", "off"}:
    # glibc gives each thread that allocates its own heap, up to 8 per core, each keeping freed
    # memory apart; the bot's threads are SQLite's: two heaps hold its peak ≈ 0.35 MB lower
    # (bench/updates.py, 500 users, four pairs of runs). Read by glibc at start, hence here.
    os.environ.setdefault("MALLOC_ARENA_MAX", "2")
    os.execv(sys.executable, [sys.executable, "-OO", *sys.orig_argv[1:]])

# httpx imports its command-line tool (click, rich, pygments: ~4 MB of RSS and 0.1 s at start)
# whenever those happen to be installed, as they are in a dev environment (import-linter,
# pytest); the bot never runs it, and without them (production) httpx skips it the same way.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
# aiohttp's signals use frozenlist, whose C++ build maps libstdc++ (0.9 MB of RSS) for lists that
# hold the client's (empty) trace hooks; its pure-Python twin does the same.
os.environ.setdefault("FROZENLIST_NO_EXTENSIONS", "1")

from bot.cli import main  # noqa: E402 - after the line above, which must precede httpx's import

raise SystemExit(main())
