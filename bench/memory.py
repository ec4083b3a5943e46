"""Memory benchmark: the bot process's RSS as tens of thousands of distinct users write to it.

Run from the repository root::

    .venv/bin/python -m bench.memory                       # 5,000 then 50,000 distinct users
    .venv/bin/python -m bench.memory --users 2000,10000    # other checkpoints
    .venv/bin/python -m bench.memory --journey start       # /start only (default: /start, then Register)
    .venv/bin/python -m bench.memory --census /tmp/census  # the bot's own account at each checkpoint
    .venv/bin/python -m bench.memory --trace /tmp/trace    # and under tracemalloc: what grew, by line

Khooshe runs as ``python -m bot`` in its own process and long-polls the fake Bot API
(``bot.emulator.FakeBotApi``), which lives in this process with the simulated users, as in
``bench/updates.py``. Each user is new: they send /start, wait for the menu and (``--journey
register``) press «📝 ثبت‌نام بنگاه» and wait for the first question, so each is left in the
middle of a registration — the state a bot that kept everyone would hold for every one of them.
The RSS is printed once polling (idle), and at each checkpoint once the bot has been quiet for a
moment. This is a measurement script: it prints figures and never fails because a target was
missed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/memory.py` puts bench/ first, not the repo root
    sys.path.insert(0, str(ROOT))

from bench.updates import TOKEN, BotProcess, child_env, make_api, wait_until_polling  # noqa: E402

USER_BASE = 9_000_000
MENU = "بنگاه خود را ثبت کنید"
REGISTER = "📝 ثبت‌نام بنگاه"
FIRST_QUESTION = "نام ثبتی"
TARGET_RSS_MB = 70.0
TARGET_AT = 50_000
STEP_TIMEOUT = 300.0  # a user may queue behind the whole concurrency window; never give up early


def rss_mb(bot: BotProcess) -> tuple[float, float]:
    """The bot process's own RSS, and its process tree's (the offload worker, if started), in MB."""
    import psutil

    own = bot.ps.memory_info().rss
    tree = own
    for child in bot.ps.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            tree += child.memory_info().rss
    return own / 2**20, tree / 2**20


def breakdown(bot: BotProcess) -> str:
    """Where the bot process's RSS is: the allocator's heap and anonymous maps (Python objects,
    SQLite's caches), the code of Python and its extensions, other mapped files."""
    kinds = {"heap+anon": 0, "code (.so)": 0, "other files": 0}
    kind = "heap+anon"
    try:
        with open(f"/proc/{bot.ps.pid}/smaps", encoding="utf-8") as smaps:
            for line in smaps:
                fields = line.split()
                if fields and "-" in fields[0] and len(fields) >= 5 and ":" in fields[3]:
                    path = fields[5] if len(fields) > 5 else ""
                    kind = ("heap+anon" if not path or path.startswith("[")
                            else "code (.so)" if ".so" in path else "other files")
                elif fields and fields[0] == "Rss:":
                    kinds[kind] += int(fields[1])
    except OSError:
        return "(no /proc smaps)"
    return ", ".join(f"{name} {kib / 1024:.1f}" for name, kib in kinds.items())


async def quiet(api: Any, seconds: float = 2.0) -> None:
    """Waits until the fake server has had no request for a moment (besides the long poll)."""
    last = -1
    while last != api.requests:
        last = api.requests
        await asyncio.sleep(seconds)


async def visit(api: Any, user_id: int, journey: str) -> None:
    user = api.user(user_id, first_name="Owner", language_code="fa")
    await user.send("/start")
    await user.wait_for(MENU, timeout=STEP_TIMEOUT)
    if journey == "register":
        await user.press(REGISTER)
        await user.wait_for(FIRST_QUESTION, timeout=STEP_TIMEOUT)
    # The fake keeps every user's chat; this process's memory is not what is measured, but a
    # finished user's history is dropped anyway so 50,000 users fit on a small machine.
    api.users.pop(user_id, None)


async def drive(api: Any, first: int, last: int, journey: str, concurrency: int, bot: BotProcess) -> float:
    """Users ``first``..``last - 1`` visit, ``concurrency`` at a time; returns the seconds taken."""
    started = time.monotonic()
    ids = iter(range(USER_BASE + first, USER_BASE + last))
    done = 0

    async def worker() -> None:
        nonlocal done
        for user_id in ids:
            await visit(api, user_id, journey)
            done += 1

    async def report() -> None:
        while True:
            await asyncio.sleep(15)
            own, _ = rss_mb(bot)
            print(f"  … {first + done:,} users, RSS {own:.1f} MB", file=sys.stderr, flush=True)

    reporter = asyncio.create_task(report())
    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        reporter.cancel()
    return time.monotonic() - started


async def checkpoint_trace(bot: BotProcess, where: Path | None, taken: int) -> None:
    """Asks a traced bot (``bench.traced_bot``) for snapshot number ``taken`` and waits for it."""
    if where is None:
        return
    import signal

    bot.popen.send_signal(signal.SIGUSR1)
    census = where / f"census-{taken}.txt"
    while not census.exists() or not census.stat().st_size:
        await asyncio.sleep(0.5)
    await asyncio.sleep(1.0)


def print_growth(where: Path, first: int, last: int, top: int = 25) -> None:
    """What the traced bot allocated between two snapshots and still holds, by line and by the
    bot's own (or PTB's) frame that led there."""
    import tracemalloc

    before = tracemalloc.Snapshot.load(str(where / f"snap-{first}.tm"))
    after = tracemalloc.Snapshot.load(str(where / f"snap-{last}.tm"))
    stats = after.compare_to(before, "traceback")
    grown = sum(s.size_diff for s in stats)
    print(f"\ntraced growth from snapshot {first} to {last}: {grown / 2**20:+.2f} MB; largest by traceback:")
    for stat in stats[:top]:
        print(f"{stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+8,} blocks")
        for line in stat.traceback.format(limit=6, most_recent_first=True):
            if line.startswith("  File"):
                print("   " + line.strip())
    for key in ("filename", "lineno"):
        print(f"\nby {key}:")
        for stat in after.compare_to(before, key)[:15]:
            print(f"  {stat}")


async def run(args: argparse.Namespace) -> None:
    checkpoints = sorted(args.users)
    with tempfile.TemporaryDirectory(prefix="khooshe-memory-") as tmp_name:
        tmp = Path(tmp_name)
        db_path = tmp / "khooshe.db"
        from storage.database import Database
        from tests.support.khooshe import seed

        async with Database(db_path) as db:
            await seed(db)
        api = make_api(0.0)
        await api.start()
        extra = {"KHOOSHE_TOKEN": TOKEN, "KHOOSHE_API_URL": api.base_url, "KHOOSHE_DB": str(db_path)}
        if args.resident_users is not None:
            extra["KHOOSHE_RESIDENT_USERS"] = str(args.resident_users)
        if args.keep_docstrings:
            extra["KHOOSHE_OPTIMIZE"] = "0"
        command = [sys.executable, "-m", "bot"]
        if args.trace is not None or args.census is not None:
            args.census = args.census or args.trace
            args.census.mkdir(parents=True, exist_ok=True)
            for old in [*args.census.glob("snap-*.tm"), *args.census.glob("census-*.txt")]:
                old.unlink()
            extra["BENCH_TRACE_DIR"] = str(args.census)
            if args.trace is not None:
                extra["BENCH_TRACEMALLOC"] = "1"
            command = [*command[:-2], "-m", "bench.traced_bot"]
        bot = BotProcess("khooshe", command, child_env(extra), tmp / "khooshe.log")
        rows: list[tuple[str, float, float, float]] = []
        where: list[str] = []
        try:
            await wait_until_polling(api, bot)
            await asyncio.sleep(2.0)
            own, tree = rss_mb(bot)
            rows.append(("idle, polling", own, tree, 0.0))
            where.append(breakdown(bot))
            print(f"idle: RSS {own:.1f} MB", file=sys.stderr, flush=True)
            await checkpoint_trace(bot, args.census, 1)
            done = 0
            for target in checkpoints:
                print(f"driving users {done:,}..{target:,} ({args.journey})", file=sys.stderr, flush=True)
                seconds = await drive(api, done, target, args.journey, args.concurrency, bot)
                rate, done = (target - done) / seconds, target
                await quiet(api)
                own, tree = rss_mb(bot)
                rows.append((f"after {target:,} users", own, tree, rate))
                where.append(breakdown(bot))
                await checkpoint_trace(bot, args.census, len(rows))
                print(f"{target:,} users, {rate:.0f} users/s: RSS {own:.1f} MB", file=sys.stderr, flush=True)
        finally:
            bot.stop()
            await api.stop()
        errors = bot.error_lines()

    print()
    print(f"journey: {args.journey}; concurrency {args.concurrency}; KHOOSHE_RESIDENT_USERS "
          f"{args.resident_users if args.resident_users is not None else 'default'}"
          f"; {'KHOOSHE_OPTIMIZE=0 (docstrings and asserts kept)' if args.keep_docstrings else 'python -OO (the default)'}")
    print(f"{'':<22} {'RSS MB':>8} {'tree MB':>8} {'users/s':>8}   of the RSS, MB")
    for (label, own, tree, rate), parts in zip(rows, where, strict=True):
        speed = f"{rate:>8.0f}" if rate else f"{'':>8}"
        print(f"{label:<22} {own:>8.1f} {tree:>8.1f} {speed}   {parts}")
    print(f"peak RSS (process tree, sampled every 50 ms): {bot.peak_rss / 2**20:.1f} MB")
    if errors:
        print(f"the bot's log has {len(errors)} ERROR lines, e.g.:\n" + "\n".join(errors[:3]))
    final = [own for label, own, _, _ in rows if label == f"after {TARGET_AT:,} users"]
    if final:
        verdict = "PASS" if final[0] <= TARGET_RSS_MB else "MISS"
        print(f"RSS after {TARGET_AT:,} users = {final[0]:.1f} MB   target ≤ {TARGET_RSS_MB:g} MB: {verdict}")
    if args.census is not None:
        for taken in range(1, len(rows) + 1):
            print(f"\ncensus {taken} ({rows[taken - 1][0]}):")
            print("".join((args.census / f"census-{taken}.txt").read_text(encoding="utf-8").splitlines(True)[:8]), end="")
    if args.trace is not None:
        print("(under tracemalloc: the RSS figures above are inflated, and not the ones to report)")
        print_growth(args.trace, 1, len(rows))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=lambda s: [int(x) for x in s.split(",")], default=[5_000, 50_000],
                   help="comma-separated checkpoints of distinct users (default 5000,50000)")
    p.add_argument("--journey", choices=("start", "register"), default="register",
                   help="what each user does: /start, or /start then Register (default)")
    p.add_argument("--concurrency", type=int, default=32, help="users visiting at once (default 32)")
    p.add_argument("--resident-users", type=int, default=None,
                   help="KHOOSHE_RESIDENT_USERS for the bot (default: the bot's default)")
    p.add_argument("--keep-docstrings", action="store_true",
                   help="KHOOSHE_OPTIMIZE=0: the bot keeps docstrings and asserts (by default python -m bot "
                        "runs itself as python -OO)")
    p.add_argument("--census", type=Path, default=None, metavar="DIR",
                   help="the bot writes its own account of its memory into DIR at each checkpoint "
                        "(malloc, SQLite, pymalloc, objects; bench/traced_bot.py) and the first lines are printed")
    p.add_argument("--trace", type=Path, default=None, metavar="DIR",
                   help="run the bot under tracemalloc, snapshot it into DIR at each checkpoint and print "
                        "what grew (slower; its RSS figures are inflated)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    main()
