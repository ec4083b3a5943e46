"""Stall benchmark: what firm owners feel while an admin exports, imports, or a round is scored.

Run from the repository root::

    .venv/bin/python -m bench.stalls                 # 20,000 firms, 50 owners (≈ 1–2 min)
    .venv/bin/python -m bench.stalls --firms 5000    # a smaller world

Khooshe runs as ``python -m bot`` in its own process against the fake Bot API server
(``bot.emulator.FakeBotApi``, in this process), with a real SQLite file in a temporary
directory holding ``--firms`` registered firms, each with a submitted assessment in the open
round.  ``--owners`` of those firms' owners keep sending ``/start``, each about once every
``--period`` seconds (closed loop: the next one only after the reply), while these run in turn:

1. **idle**: nothing else (the baseline);
2. **export**: an admin's ``/exportall`` (every firm and submission, one workbook);
3. **import**: an admin sends a ``--csv-mb`` MB estates CSV with the caption ``/import estates``
   (the bot runs with ``KHOOSHE_IMPORT_MAX_ROWS=100000`` so that the default 1.97 MB file, about
   33,000 lines, is imported rather than refused);
4. **scoring**: the open round is filled up to ``--score-firms`` submitted firms (written by this
   process between the phases, not measured), then the admin's ``/closeround`` and the press of
   its «🔒 Close» button (the phase starts at the press) make the bot close it and score it
   (``bot.services.ranking.score_round``, called by the round service in the bot's process,
   as in production).

Per phase the p50, p99 and max of the owners' reply latency (injecting ``/start`` → the bot's
``sendMessage`` in that chat, timed in this process) are printed against the targets
p99 ≤ 100 ms and max ≤ 300 ms.  A reply is counted in the phase during which its ``/start``
was sent.  This is a measurement script: it prints PASS/MISS and never fails on a missed target.

To tell where a slow reply waited, each phase also shows the event-loop lag of the bot and of
this process (``bench/lagprobe.py``: how late each loop ran a callback handed to it every
10 ms; the bot runs as ``python -m bench.lagprobe FILE -m bot``) and the CPU used (% of one
core) by the bot's event-loop thread, its other threads (aiosqlite's), its worker process and
this process.  A loop that is blocked or starved of the GIL shows as lag; replies that are slow
while both loops answer in a few ms waited elsewhere (for a core, a thread, a connection).
With ``--keep`` every reply's (sent, latency) is left in ``owner-latency.txt``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/stalls.py` puts bench/ first, not the repo root
    sys.path.insert(0, str(ROOT))

from bench.lagprobe import SLOW_ENV, LoopLag, read_gc, read_samples, read_thread_samples  # noqa: E402
from bench.updates import (  # noqa: E402
    TOKEN,
    BotProcess,
    child_env,
    make_api,
    percentile,
    wait_until_polling,
)

TARGET_P99_MS = 100.0
TARGET_MAX_MS = 300.0
ADMIN_ID = 900_001
USER_BASE = 1_000_000  # user id = firm id = USER_BASE + i
TEMPLATES = 200  # distinct random assessments, copied to every other firm
PHASE_TIMEOUT = 300.0
SAMPLE = ROOT / "data" / "sample"


# ---------------------------------------------------------------------------------------------
# The database: sample places, one open round, N firms that have all submitted


async def _add_firms(conn: Any, start: int, stop: int, round_id: int, estates: dict[int, list[int]],
                     stamp: str, rng: random.Random) -> None:
    """Users, firms and submitted submissions ``start`` ≤ i < ``stop``; the submissions copy the
    packed answers of the template submissions (firms 0 … TEMPLATES-1)."""
    provinces = sorted(estates)
    await conn.executemany(
        "INSERT INTO users (id, language, created_at) VALUES (?, 'fa', ?)",
        ((USER_BASE + i, stamp) for i in range(start, stop)),
    )
    firms = []
    for i in range(start, stop):
        pid = provinces[i % len(provinces)]
        firms.append((
            USER_BASE + i, USER_BASE + i, f"بنگاه نمونه {i}", f"{i:010d}", pid, rng.choice(estates[pid]),
            None, "C", rng.randint(5, 500), rng.randint(1360, 1403), "09120000000", i % 2, stamp, stamp,
        ))
    await conn.executemany(
        "INSERT INTO firms (id, owner_id, name, national_id, province_id, estate_id, cluster_id, sector,"
        " employees, founded_year, phone, consent_public, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        firms,
    )
    if start >= TEMPLATES:
        await conn.execute(
            "INSERT INTO submissions (round_id, firm_id, status, cursor, active, started_at, updated_at,"
            " submitted_at, packed, packed_text)"
            " SELECT ?, f.id, 'submitted', NULL, 0, ?, ?, ?, t.packed, t.packed_text FROM firms f"
            " JOIN submissions t ON t.round_id = ? AND t.firm_id = ? + (f.id - ?) % ?"
            " WHERE f.id >= ? AND f.id < ?",
            (round_id, stamp, stamp, stamp, round_id, USER_BASE, USER_BASE, TEMPLATES,
             USER_BASE + start, USER_BASE + stop),
        )


async def prepare_db(path: Path, firms: int) -> int:
    """Returns the open round's id."""
    from bot.domain.questionnaire import load_questionnaire
    from bot.services.assessment import reference_year
    from bot.services.places_import import add_clusters, add_estates, read_csv_file
    from storage.database import Database
    from tests.support.answers import random_answers

    rng = random.Random(7)
    now = datetime.now(UTC)
    stamp = now.isoformat()
    async with Database(path) as db:
        async with db.transaction() as repo:
            await add_estates(repo, read_csv_file(SAMPLE / "estates.csv"))
            await add_clusters(repo, read_csv_file(SAMPLE / "clusters.csv"))
            round_ = await repo.rounds.create(
                title="پاییز ۱۴۰۵", questionnaire_version=1, opens_at=now - timedelta(days=1),
                closes_at=now + timedelta(days=30), state="open",
            )
            conn = repo.conn
            estates: dict[int, list[int]] = {}
            async with conn.execute("SELECT id, province_id FROM estates") as cur:
                for eid, pid in await cur.fetchall():
                    estates.setdefault(pid, []).append(eid)
            await _add_firms(conn, 0, TEMPLATES, round_.id, estates, stamp, rng)
            questionnaire = load_questionnaire(1)
            ref_year = reference_year(round_)
            for i in range(TEMPLATES):
                await conn.execute(
                    "INSERT INTO submissions (round_id, firm_id, status, active, started_at, updated_at,"
                    " submitted_at) VALUES (?, ?, 'submitted', 0, ?, ?, ?)",
                    (round_.id, USER_BASE + i, stamp, stamp, stamp),
                )
            await conn.executemany(
                "INSERT INTO answers (submission_id, qid, value, answered_at)"
                " SELECT s.id, ?, ?, ? FROM submissions s WHERE s.round_id = ? AND s.firm_id = ?",
                [(qid, json.dumps(value, ensure_ascii=False), stamp, round_.id, USER_BASE + i)
                 for i in range(TEMPLATES)
                 for qid, value in random_answers(questionnaire, "C", rng, ref_year).items()],
            )
            assert await repo.submissions.pack_round(round_.id, free_text=questionnaire.free_text_ids) == TEMPLATES
        await fill_round(db, round_.id, TEMPLATES, firms)
    return round_.id


async def fill_round(db: Any, round_id: int, start: int, stop: int, *, step: int = 10_000) -> None:
    """Adds firms start … stop-1 with their submissions, in transactions of ``step`` firms."""
    rng = random.Random(start)
    stamp = datetime.now(UTC).isoformat()
    for lo in range(start, stop, step):
        async with db.transaction() as repo:
            estates: dict[int, list[int]] = {}
            async with repo.conn.execute("SELECT id, province_id FROM estates") as cur:
                for eid, pid in await cur.fetchall():
                    estates.setdefault(pid, []).append(eid)
            await _add_firms(repo.conn, lo, min(stop, lo + step), round_id, estates, stamp, rng)


def estates_csv(target_bytes: int) -> bytes:
    """An estates CSV of about ``target_bytes`` (new names; one line in 1,000 has an unknown province)."""
    lines, size, i = ["province,name,kind"], 20, 0
    while size < target_bytes:
        province = "Atlantis" if i % 1000 == 999 else str(1 + i % 31)
        line = f"{province},شهرک صنعتی آزمایشی شماره {i},{('estate', 'zone', 'park')[i % 3]}"
        lines.append(line)
        size += len(line.encode()) + 1
        i += 1
    return ("\n".join(lines) + "\n").encode()


# ---------------------------------------------------------------------------------------------
# The owners and the phases


@dataclass
class Samples:
    sent: list[float] = field(default_factory=list)  # monotonic time of each /start
    latency: list[float] = field(default_factory=list)  # seconds to the reply
    timeouts: int = 0
    #: Cleared while this process writes to the bot's database (``pause_owners``).
    running: asyncio.Event = field(default_factory=asyncio.Event)
    in_flight: int = 0


async def owner_loop(user: Any, period: float, stop: asyncio.Event, out: Samples) -> None:
    await asyncio.sleep(random.random() * period)
    while not stop.is_set():
        if not out.running.is_set():
            await out.running.wait()
            await asyncio.sleep(random.random() * period)  # not all at once
        user._seen = len(user.events)
        t0 = time.monotonic()
        out.in_flight += 1
        try:
            await user.send("/start")
            event = await user.wait_for(lambda e: e.is_message, timeout=60)
        except AssertionError:
            out.timeouts += 1
            continue
        finally:
            out.in_flight -= 1
        out.sent.append(t0)
        out.latency.append(event.at - t0)
        rest = period - (time.monotonic() - t0)
        await asyncio.sleep(max(0.0, rest) * random.uniform(0.8, 1.2))


@dataclass
class Phase:
    name: str
    start: float
    end: float
    note: str = ""


async def admin_does(admin: Any, action: Any, timeout: float = PHASE_TIMEOUT) -> tuple[float, float, Any]:
    """Runs the admin's action; returns (start, end, the bot's first message back)."""
    admin._seen = len(admin.events)
    start = time.monotonic()
    await action()
    event = await admin.wait_for(lambda e: e.is_message and (e.kind == "document" or "…" not in e.text),
                                 timeout=timeout)
    return start, time.monotonic(), event


async def cpu_sampler(bot: Any, out: list[tuple[float, ...]], waits: list[tuple[float, float]],
                      stop: asyncio.Event) -> None:
    """Every 0.5 s: (time, CPU seconds of the bot's event-loop thread, of its other threads, of
    its children - the worker process -, of this process) into ``out``, and (time, seconds the
    bot's loop thread has waited for a core) into ``waits``."""
    import psutil

    me = psutil.Process()
    while not stop.is_set():
        loop_cpu, other_cpu = bot.thread_cpu()
        children = 0.0
        for proc in bot._tree()[1:]:
            try:
                t = proc.cpu_times()
                children += t.user + t.system
            except psutil.Error:
                pass
        t = me.cpu_times()
        out.append((time.monotonic(), loop_cpu, other_cpu, children, t.user + t.system))
        waits.append((time.monotonic(), _run_queue_wait(bot.ps.pid)))
        await asyncio.sleep(0.5)


def _run_queue_wait(pid: int) -> float:
    """Seconds the process's main thread (the bot's event loop) has spent ready to run but
    waiting for a core (``/proc/PID/schedstat``, second field, ns; 0 where there is none)."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def _waited(waits: list[tuple[float, float]], p: Phase) -> str:
    """Milliseconds per second the bot's loop thread waited for a core during the phase."""
    inside = [w for w in waits if p.start - 0.5 <= w[0] <= p.end + 0.5]
    if len(inside) < 2:
        return "     "
    (t0, w0), (t1, w1) = inside[0], inside[-1]
    return f"{1000 * (w1 - w0) / (t1 - t0):>5.0f}"


def _cpu(samples: list[tuple[float, ...]], p: Phase) -> str:
    """CPU use during the phase in % of one core: bot loop thread, bot other threads, worker, bench."""
    inside = [s for s in samples if p.start - 0.5 <= s[0] <= p.end + 0.5]
    if len(inside) < 2:
        return ""
    a, b = inside[0], inside[-1]
    span = b[0] - a[0]
    return " ".join(f"{100 * (y - x) / span:>4.0f}" for x, y in zip(a[1:], b[1:], strict=True))


def _lag(samples: list[tuple[float, float]], p: Phase) -> str:
    values = [lag * 1000 for sent, lag in samples if p.start <= sent <= p.end]
    return f"{percentile(values, 0.99):>6.0f} {max(values, default=0.0):>6.0f}"


def _gc(collections: list[tuple[float, float, int]], p: Phase) -> str:
    """The bot's garbage collections of ≥ 2 ms during the phase: how many, the longest (ms)."""
    inside = [d * 1000 for start, d, _ in collections if p.start <= start <= p.end]
    return f"{len(inside):>4} {max(inside, default=0.0):>5.0f}"


#: A loop lag from this long (s) counts as a stall in the breakdown below the table.
STALL = 0.05


def stall_breakdown(samples: list[tuple[float, float, float, float, float, float]], p: Phase) -> str:
    """Where the bot loop's stalls (lag ≥ STALL) of the phase went.  A stall is the probe's
    thread sending late, then the loop running it late.  The first part is put down to that
    thread's wait for a core, the second to the loop thread's wait for a core and its CPU time
    (a long callback on the loop, or GC) between the sample before and this one, in proportion;
    what neither explains is mostly the GIL held by another of the bot's threads."""
    n, total, core, cpu = 0, 0.0, 0.0, 0.0
    for before, now in itertools.pairwise(samples):
        if not (p.start <= now[0] <= p.end and now[1] >= STALL):
            continue
        n += 1
        total += now[1]
        woke = min(max(now[4], 0.0), now[1])
        core += min(woke, max(now[5] - before[5], 0.0))
        on_loop = now[1] - woke
        span = (now[0] + now[1]) - (before[0] + before[1])  # from one run of the probe to the next
        share = on_loop / span if span > 0 else 0.0
        waited = min(on_loop, (now[3] - before[3]) * share)
        core += waited
        cpu += min(on_loop - waited, (now[2] - before[2]) * share)
    if not n:
        return f"{p.name}: no stall of the bot's loop ≥ {STALL * 1000:.0f} ms"
    rest = max(0.0, total - core - cpu)
    return (f"{p.name}: {n} stalls ≥ {STALL * 1000:.0f} ms, {total * 1000:.0f} ms in all: waiting for a core"
            f" {core * 1000:.0f}, running on the loop {cpu * 1000:.0f}, neither (GIL, other) {rest * 1000:.0f}")


def summarise(phases: list[Phase], samples: Samples, bot_lag: list[tuple[float, float]],
              bench_lag: list[tuple[float, float]], cpu: list[tuple[float, ...]],
              bot_gc: list[tuple[float, float, int]], bench_gc: list[tuple[float, float, int]],
              waits: list[tuple[float, float]],
              bot_threads: list[tuple[float, float, float, float, float, float]]) -> None:
    print(f"\nowner /start reply latency per phase (targets: p99 ≤ {TARGET_P99_MS:.0f} ms,"
          f" max ≤ {TARGET_MAX_MS:.0f} ms); loop lag = how late the bot's / this process's event"
          " loop ran a callback handed to it every 10 ms (p99 and max, ms); bot gc = the bot's garbage"
          " collections of ≥ 2 ms (how many, the longest in ms), bench gc the same for this process;"
          " runq = ms per second the bot's loop thread waited for a core")
    print(f"{'phase':<9} {'took s':>7} {'replies':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
          f" {'bot lag p99/max':>15} {'bench lag p99/max':>17} {'bot gc n/max':>12} {'bench gc n/max':>14} {'runq':>5}"
          "   CPU % (bot loop, bot threads, worker, bench)")
    verdicts = []
    for p in phases:
        values = [lat * 1000 for t, lat in zip(samples.sent, samples.latency, strict=True) if p.start <= t <= p.end]
        p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
        worst = max(values, default=0.0)
        print(f"{p.name:<9} {p.end - p.start:>7.1f} {len(values):>8} {p50:>8.1f} {p99:>8.1f} {worst:>8.1f}"
              f"   {_lag(bot_lag, p)}     {_lag(bench_lag, p)}   {_gc(bot_gc, p)}     {_gc(bench_gc, p)}"
              f" {_waited(waits, p)}        {_cpu(cpu, p)}"
              + (f"   {p.note}" if p.note else ""))
        verdicts.append(f"{p.name}: p99 {p99:.0f} ms -> {'PASS' if p99 <= TARGET_P99_MS else 'MISS'};"
                        f" max {worst:.0f} ms -> {'PASS' if worst <= TARGET_MAX_MS else 'MISS'}")
    print()
    for line in verdicts:
        print(line)
    if bot_threads:
        print("\nthe bot's loop stalls (lag ≥ 50 ms), split by its thread's scheduler times:")
        for p in phases:
            print("  " + stall_breakdown(bot_threads, p))
    if samples.timeouts:
        print(f"({samples.timeouts} /start got no reply within 60 s)")


async def run(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-stalls-"))
    db_path = tmp / "khooshe.db"
    t = time.monotonic()
    round_id = await prepare_db(db_path, args.firms)
    print(f"prepared {args.firms} firms with submissions in {time.monotonic() - t:.1f} s", file=sys.stderr)

    api = make_api(0.0)
    await api.start()
    # The import phase's file (1.97 MB, the size the field reported) has ~33,000 lines: past the
    # default KHOOSHE_IMPORT_MAX_ROWS, so the limit is raised to let the bot import it whole.
    env = child_env({"KHOOSHE_TOKEN": TOKEN, "KHOOSHE_API_URL": api.base_url, "KHOOSHE_DB": str(db_path),
                     "KHOOSHE_ADMINS": str(ADMIN_ID), "KHOOSHE_IMPORT_MAX_ROWS": "100000",
                     **({SLOW_ENV: str(args.slow_callbacks / 1000)} if args.slow_callbacks else {})})
    # The bot runs under bench.lagprobe, which records its event loop's lag in bot_lag_path.
    bot_lag_path = tmp / "bot-loop-lag.txt"
    bot = BotProcess("khooshe", [sys.executable, "-m", "bench.lagprobe", str(bot_lag_path), "-m", "bot"],
                     env, tmp / "khooshe.log")
    bench_lag = LoopLag(asyncio.get_running_loop(), tmp / "bench-loop-lag.txt")  # for --keep (and its gc lines)
    stop = asyncio.Event()
    samples = Samples()
    cpu: list[tuple[float, ...]] = []
    waits: list[tuple[float, float]] = []
    phases: list[Phase] = []
    owners_tasks: list[asyncio.Task[None]] = []
    try:
        await wait_until_polling(api, bot)
        admin = api.user(ADMIN_ID, first_name="Admin", language_code="en")
        owners = [api.user(USER_BASE + i, first_name="Owner", language_code="fa") for i in range(args.owners)]
        samples.running.set()
        owners_tasks = [asyncio.create_task(owner_loop(o, args.period, stop, samples)) for o in owners]
        owners_tasks.append(asyncio.create_task(cpu_sampler(bot, cpu, waits, stop)))
        await asyncio.sleep(args.period * 2)  # every owner has had a first reply (its user row written)

        print("phase idle", file=sys.stderr)
        start = time.monotonic()
        await asyncio.sleep(args.idle_seconds)
        phases.append(Phase("idle", start, time.monotonic()))

        print("phase export (/exportall)", file=sys.stderr)
        start, end, event = await admin_does(admin, lambda: admin.send("/exportall"))
        size = len(event.data or b"") if event.kind == "document" else 0
        phases.append(Phase("export", start, end, f"{args.firms} firms, workbook {size / 1e6:.1f} MB"))
        # The bot follows the document with a hint (/exportanswers): not the import's report.
        await admin.wait_for("/exportanswers", timeout=30)

        data = estates_csv(int(args.csv_mb * 1_000_000))
        print(f"phase import ({len(data) / 1e6:.2f} MB estates CSV)", file=sys.stderr)
        start, end, event = await admin_does(
            admin, lambda: admin.send_document("estates.csv", data, caption="/import estates"))
        lines = data.count(b"\n") - 1
        phases.append(Phase("import", start, end,
                            f"{len(data) / 1e6:.2f} MB, {lines} lines: {event.text.splitlines()[0][:70]}"))

        print(f"filling the round up to {args.score_firms} submitted firms (not measured)", file=sys.stderr)
        from storage.database import Database

        # This process's transactions of 10,000 firms hold SQLite's write lock for a second or
        # more, and the bot's writer waits meanwhile: the owners stop first, and the replies
        # still on their way (counted in the import phase) come before the fill starts.
        samples.running.clear()
        while samples.in_flight:
            await asyncio.sleep(0.01)
        async with Database(db_path) as db:
            # 2,000 firms a transaction: the bot still writes meanwhile (it records handled
            # updates), and under load one of 10,000 outlasted its wait for the lock.
            await fill_round(db, round_id, args.firms, args.score_firms, step=2_000)
        samples.running.set()
        await asyncio.sleep(1.0)

        # /closeround asks to confirm (not measured); pressing «🔒 Close» closes and scores.
        admin._seen = len(admin.events)
        await admin.send(f"/closeround {round_id}")
        await admin.wait_for("Close", timeout=30)
        print(f"phase scoring (/closeround {round_id}, 🔒 Close)", file=sys.stderr)
        admin._seen = len(admin.events)
        start = time.monotonic()
        await admin.press("🔒 Close")
        event = await admin.wait_for("is closed", timeout=PHASE_TIMEOUT)
        end = time.monotonic()
        phases.append(Phase("scoring", start, end, f"{args.score_firms} firms: {event.text[:60]}"))
        await asyncio.sleep(0.5)
    finally:
        stop.set()
        for task in owners_tasks:
            task.cancel()
        await asyncio.gather(*owners_tasks, return_exceptions=True)
        bot.stop()
        errors = bot.error_lines()
        await api.stop()
        bench_lag.stop()
        bench_lag.flush()
    summarise(phases, samples, read_samples(bot_lag_path), bench_lag.samples, cpu, read_gc(bot_lag_path),
              bench_lag.collections, waits, read_thread_samples(bot_lag_path))
    with (tmp / "owner-latency.txt").open("w", encoding="ascii") as f:  # for --keep: sent, latency (s)
        f.writelines(f"{t:.6f} {lat:.6f}\n" for t, lat in zip(samples.sent, samples.latency, strict=True))
        f.writelines(f"# {p.name} {p.start:.6f} {p.end:.6f}\n" for p in phases)
    print(f"bot peak RSS {bot.peak_rss / 2**20:.0f} MB; {len(errors)} ERROR lines in its log"
          + (":\n" + "\n".join(errors[:3]) if errors else ""))
    print(f"(files kept in {tmp})" if args.keep else "")
    if not args.keep:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--firms", type=int, default=20_000, help="registered firms (default 20000)")
    parser.add_argument("--owners", type=int, default=50, help="owners sending /start (default 50)")
    parser.add_argument("--period", type=float, default=1.0, help="seconds between an owner's /start (default 1)")
    parser.add_argument("--idle-seconds", type=float, default=10.0, help="length of the idle baseline (default 10)")
    parser.add_argument("--csv-mb", type=float, default=1.97, help="size of the imported CSV in MB (default 1.97)")
    parser.add_argument("--score-firms", type=int, default=100_000, help="submitted firms scored (default 100000)")
    parser.add_argument("--slow-callbacks", type=float, default=0.0, metavar="MS",
                        help="run the bot's loop in asyncio's debug mode, which logs every callback longer than"
                             " MS ms to its log (slower; for finding what blocks the loop; use with --keep)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (database, bot log)")
    args = parser.parse_args(argv)
    args.score_firms = max(args.score_firms, args.firms)
    return args


def main(argv: list[str] | None = None) -> int:
    asyncio.run(run(parse_args(argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
