"""Update-processing benchmark: Khooshe against a bare python-telegram-bot echo bot.

Run from the repository root::

    .venv/bin/python -m bench.updates            # 500 owners (the full run)
    .venv/bin/python -m bench.updates --quick    # 50 owners, a smoke run
    .venv/bin/python -m bench.updates --profile  # Khooshe's saturation phase under cProfile

Both bots run as their own processes and long-poll the fake Bot API server
(``bot.emulator.FakeBotApi``), which lives in this process together with the simulated users.
What is measured, and the caveats, are in bench/README.md.  This is a measurement script: it
prints figures and never fails because a target was missed.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import gc
import math
import os
import pstats
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/updates.py` puts bench/ first, not the repo root
    sys.path.insert(0, str(ROOT))

BENCH_FILE = Path(__file__).resolve()
TOKEN = "123456:BENCH"
CONCURRENT_UPDATES = 16  # Khooshe's Settings.max_concurrent_updates default
CONNECTION_POOL = CONCURRENT_UPDATES + 4  # what bot.application.build_application uses
STEP_TIMEOUT = 900.0  # a step may queue behind 500 others at saturation; never give up early
ALLOWED_UPDATES = ["message", "callback_query"]

OWNER_BASE = 7_000_000  # Khooshe owners' user ids
ECHO_BASE = 8_000_000  # echo users' user ids
BUSHEHR = 7
REVIEW_TEXT = "پاسخ‌هایتان را مرور کنید"
DONE_LABEL = "ثبت انتخاب‌ها ✔️"

TARGET_RATIO = 0.8
TARGET_P99_MS = 150.0
TARGET_RSS_MB = 70.0


# ---------------------------------------------------------------------------------------------
# The bots' own processes (entered through hidden command-line flags of this file)


def serve_echo() -> None:
    """A bare python-telegram-bot echo bot: same concurrency and pool size as Khooshe."""
    from telegram import Update
    from telegram.ext import (
        ApplicationBuilder,
        CallbackQueryHandler,
        ContextTypes,
        MessageHandler,
        filters,
    )

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(update.effective_message.text or "")

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and update.effective_chat is not None
        await query.answer()
        await context.bot.send_message(update.effective_chat.id, f"pressed {query.data}")

    app = (
        ApplicationBuilder()
        .token(os.environ["BENCH_TOKEN"])
        .base_url(os.environ["BENCH_API_URL"])
        .concurrent_updates(CONCURRENT_UPDATES)
        .connection_pool_size(CONNECTION_POOL)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.add_handler(CallbackQueryHandler(pressed))
    app.run_polling(allowed_updates=ALLOWED_UPDATES)


# ---------------------------------------------------------------------------------------------
# The fake server, counted and optionally slowed


def make_api(rtt_ms: float, platform: str = "telegram") -> Any:
    import inspect

    from bot.emulator import FakeBotApi

    profile: dict[str, Any] = {}
    if platform != "telegram":
        # The fake's other profiles (Bale); Khooshe is told the same with KHOOSHE_PLATFORM.
        if "profile" not in inspect.signature(FakeBotApi.__init__).parameters:
            raise SystemExit(f"the fake Bot API (bot/emulator/) has no {platform!r} profile")
        profile["profile"] = platform

    class BenchApi(FakeBotApi):
        """FakeBotApi that counts injected updates, tells when polling starts, and can add RTT."""

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.rtt = rtt_ms / 1000.0
            self.injected = 0
            self.requests = 0
            self.methods: collections.Counter[str] = collections.Counter()
            self.polling = asyncio.Event()

        async def push_update(self, update: dict[str, Any]) -> int:
            self.injected += 1
            return await super().push_update(update)

        async def m_getUpdates(self, p: dict[str, Any]) -> list[dict[str, Any]]:
            self.polling.set()
            return await super().m_getUpdates(p)

        async def _handle(self, request: Any) -> Any:
            self.requests += 1
            self.methods[request.match_info.get("method", "?")] += 1
            if self.rtt:
                await asyncio.sleep(self.rtt)  # the whole round trip, paid once per request
            return await super()._handle(request)

    return BenchApi(token=TOKEN, username="khooshe_bench_bot", **profile)


# ---------------------------------------------------------------------------------------------
# The bot process: start, watch (RSS, CPU), stop


class BotProcess:
    """A bot subprocess with a 50 ms RSS sampler over it and its children."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log_path: Path) -> None:
        import psutil

        self.name, self.log_path = name, log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        self.ps = psutil.Process(self.popen.pid)
        self.peak_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name=f"rss-{name}", daemon=True)
        self._thread.start()

    def _tree(self) -> list[Any]:
        import psutil

        try:
            return [self.ps, *self.ps.children(recursive=True)]
        except psutil.Error:
            return [self.ps]

    def _sample(self) -> None:
        import psutil

        while True:
            total = 0
            for proc in self._tree():
                with contextlib.suppress(psutil.Error):
                    total += proc.memory_info().rss
            self.peak_rss = max(self.peak_rss, total)
            if self._stop.wait(0.05):
                return

    def cpu_seconds(self) -> float:
        import psutil

        total = 0.0
        for proc in self._tree():
            try:
                t = proc.cpu_times()
                total += t.user + t.system
            except psutil.Error:
                pass
        return total

    def thread_cpu(self) -> tuple[float, float]:
        """CPU seconds of the main thread (event loop) and of all other threads (aiosqlite …)."""
        import psutil

        try:
            threads = self.ps.threads()
        except psutil.Error:
            return 0.0, 0.0
        main = sum(t.user_time + t.system_time for t in threads if t.id == self.ps.pid)
        rest = sum(t.user_time + t.system_time for t in threads if t.id != self.ps.pid)
        return main, rest

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def error_lines(self) -> list[str]:
        """ERROR lines of the bot's log, less PTB's complaint about the last getUpdates at shutdown."""
        try:
            lines = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return []
        return [line for line in lines if " ERROR " in line and "one more time to mark" not in line]

    def stop(self, grace: float = 30.0) -> None:
        """SIGTERM (the bots stop gracefully, cProfile writes its file), then SIGKILL."""
        try:
            if self.alive():
                self.popen.send_signal(signal.SIGTERM)
                try:
                    self.popen.wait(grace)
                except subprocess.TimeoutExpired:
                    for proc in reversed(self._tree()):
                        with contextlib.suppress(Exception):  # gone already, or not ours to kill
                            proc.kill()
                    self.popen.wait(5)
        finally:
            self._stop.set()
            self._thread.join(1)
            self._log.close()


async def wait_until_polling(api: Any, bot: BotProcess, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not api.polling.is_set():
        if not bot.alive():
            raise RuntimeError(f"{bot.name} exited before polling:\n{bot.log_tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{bot.name} did not start polling within {timeout}s:\n{bot.log_tail()}")
        await asyncio.sleep(0.05)


# ---------------------------------------------------------------------------------------------
# Khooshe's database: sample places, an open round, and pre-registered firms


def national_id(i: int) -> str:
    from bot.domain.national_id import check_digit, parse_national_id

    first_ten = f"14{300001 + i:06d}{i % 100:02d}"
    nid = first_ten + str(check_digit(first_ten))
    assert parse_national_id(nid) == nid, nid
    return nid


async def prepare_db(path: Path, owner_ids: Sequence[int]) -> None:
    from storage.database import Database
    from storage.repositories.firms import FIRM_FIELDS, OPTIONAL_FIELDS
    from tests.support.khooshe import seed

    db = Database(path)
    await db.connect()
    try:
        await seed(db)
        async with db.transaction() as repo:
            estates = await repo.estates.in_province(BUSHEHR)
            assert estates, "the sample data has no estate in Bushehr"
            for i, uid in enumerate(owner_ids):
                await repo.users.ensure(user_id=uid, language="fa", first_name=f"Owner {i}")
                fields = {
                    "name": f"صنایع نمونه {i}", "national_id": national_id(i), "province_id": BUSHEHR,
                    "estate_id": estates[i % len(estates)].id, "cluster_id": None, "sector": "C",
                    "employees": 45, "founded_year": 1388, "phone": "+989121234567", "consent_public": True,
                }
                assert set(fields) == set(FIRM_FIELDS) - OPTIONAL_FIELDS  # a legal entity: no licence number
                await repo.firms.save(owner_id=uid, fields=fields)
    finally:
        await db.close()


# ---------------------------------------------------------------------------------------------
# What a user does: steps, each waited for like a person would


@dataclass(frozen=True)
class Step:
    action: str  # "text" (send a message) or "press" (press an inline button)
    payload: str  # the text, or the button label (Khooshe) / callback data (echo)
    expect: str | Callable[[Any], bool]  # what the user waits for before the next step


def khooshe_steps() -> list[Step]:
    """/assess, then the 28 answers of tests.support.journeys.MANUFACTURER_ANSWERS (ticks one by one)."""
    from tests.support.journeys import MANUFACTURER_ANSWERS, TOTAL_QUESTIONS, fa_digits

    def question(n: int) -> str:
        return f"سؤال {fa_digits(n)} از {fa_digits(TOTAL_QUESTIONS)}"

    def ticked(label: str) -> Callable[[Any], bool]:
        return lambda e: e.event == "edit" and any(b == f"✅ {label}" for row in e.buttons for b in row)

    steps = [Step("text", "/assess", question(1))]
    for n, (how, what) in enumerate(MANUFACTURER_ANSWERS, start=1):
        after = question(n + 1) if n < TOTAL_QUESTIONS else REVIEW_TEXT
        if how == "press":
            steps.append(Step("press", str(what), after))
        elif how == "tick":
            steps += [Step("press", label, ticked(label)) for label in what]  # type: ignore[union-attr]
            steps.append(Step("press", DONE_LABEL, after))
        else:
            steps.append(Step("text", str(what), after))
    return steps


def echo_steps(pattern: Sequence[Step]) -> list[Step]:
    """The same sequence of messages and presses; every reply is one sent message."""
    def sent(e: Any) -> bool:
        return e.event == "send"

    return [Step(s.action, s.payload if s.action == "text" else f"b{i}", sent) for i, s in enumerate(pattern)]


@dataclass
class Recorder:
    first: list[float] = field(default_factory=list)  # inject → first send/edit in the chat
    step: list[float] = field(default_factory=list)  # inject → the message the user waited for
    at: list[float] = field(default_factory=list)  # when each update was injected (monotonic)
    what: list[str] = field(default_factory=list)  # which step it was


async def run_step(user: Any, step: Step, state: dict[str, Any], rec: Recorder, echo: bool) -> float:
    """Injects one update, waits for its answer; returns when (monotonic) that answer arrived."""
    user._seen = len(user.events)  # nothing unseen is left over; be sure
    n0 = user._seen
    t0 = time.monotonic()
    if step.action == "text":
        await user.send(step.payload)
    elif echo:
        await user.press_data(step.payload, message=state["last"])
    else:
        await user.press(step.payload)
    event = await user.wait_for(step.expect, timeout=STEP_TIMEOUT)
    first = next((e for e in user.events[n0:] if e.is_message), event)
    state["last"] = event.message_id
    rec.first.append(first.at - t0)
    rec.step.append(event.at - t0)
    rec.at.append(t0)
    rec.what.append(f"{step.action} {step.payload[:12]}")
    return event.at


@dataclass
class PhaseResult:
    users: int = 0
    updates: int = 0
    wall: float = 0.0
    errors: list[str] = field(default_factory=list)
    rec: Recorder = field(default_factory=Recorder)
    bot_cpu: float = 0.0
    bench_cpu: float = 0.0
    bot_threads: tuple[float, float] = (0.0, 0.0)
    other_cpu: float = 0.0  # CPU seconds used by neither the bot nor this process (other load)
    steal_cpu: float = 0.0  # CPU seconds the hypervisor took
    rate_asked: float = 0.0
    late_p99: float = 0.0
    t0: float = 0.0

    @property
    def per_second(self) -> float:
        return self.updates / self.wall if self.wall > 0 else 0.0


class CpuWatch:
    """CPU seconds of the bot and of this process (server + users) across a phase."""

    def __init__(self, bot: BotProcess) -> None:
        import psutil

        self.bot, self.me = bot, psutil.Process()
        self.bot0, self.me0, self.threads0 = bot.cpu_seconds(), self._mine(), bot.thread_cpu()
        self.sys0 = psutil.cpu_times()

    @staticmethod
    def _busy(t: Any) -> float:
        return sum(t) - t.idle - getattr(t, "iowait", 0.0) - getattr(t, "steal", 0.0) - getattr(t, "guest", 0.0) \
            - getattr(t, "guest_nice", 0.0)

    def _mine(self) -> float:
        t = self.me.cpu_times()
        return t.user + t.system

    def finish(self, result: PhaseResult) -> None:
        threads = self.bot.thread_cpu()
        result.bot_cpu = self.bot.cpu_seconds() - self.bot0
        result.bench_cpu = self._mine() - self.me0
        result.bot_threads = (threads[0] - self.threads0[0], threads[1] - self.threads0[1])
        import psutil

        sys1 = psutil.cpu_times()
        result.other_cpu = max(0.0, self._busy(sys1) - self._busy(self.sys0) - result.bot_cpu - result.bench_cpu)
        result.steal_cpu = getattr(sys1, "steal", 0.0) - getattr(self.sys0, "steal", 0.0)


async def progress(api: Any, label: str, total: int, every: float = 10.0) -> None:
    start, last = time.monotonic(), api.injected
    base = api.injected
    while True:
        await asyncio.sleep(every)
        now = api.injected
        print(f"  … {label}: {now - base}/{total} updates, {(now - last) / every:.0f}/s now,"
              f" {time.monotonic() - start:.0f}s elapsed", file=sys.stderr, flush=True)
        last = now


async def saturate(api: Any, bot: BotProcess, users: Sequence[Any], steps: Sequence[Step], echo: bool,
                   label: str) -> PhaseResult:
    """Every user runs its whole journey at once, each step waiting for the previous answer."""
    result = PhaseResult(users=len(users))
    cpu = CpuWatch(bot)
    ticker = asyncio.create_task(progress(api, label, len(users) * len(steps)))
    injected0, t0 = api.injected, time.monotonic()

    async def journey(user: Any) -> float:
        state: dict[str, Any] = {}
        end = t0
        for step in steps:
            end = await run_step(user, step, state, result.rec, echo)
        return end

    try:
        outcomes = await asyncio.gather(*(journey(u) for u in users), return_exceptions=True)
    finally:
        ticker.cancel()
    cpu.finish(result)
    ends = [o for o in outcomes if isinstance(o, float)]
    result.errors = [str(o).splitlines()[0] for o in outcomes if isinstance(o, BaseException)]
    result.updates = api.injected - injected0
    result.wall = (max(ends) if ends else time.monotonic()) - t0
    return result


async def paced(api: Any, bot: BotProcess, users: Sequence[Any], steps: Sequence[Step], echo: bool,
                rate: float, label: str) -> PhaseResult:
    """Open-loop pacing: a dispatcher releases one step per 1/rate s to the next waiting user.

    A user waits for its answer before it queues for its next step (one update in flight per
    user), so each user goes through its journey; users take turns round-robin.
    """
    loop = asyncio.get_running_loop()
    result = PhaseResult(users=len(users), rate_asked=rate)
    ready: asyncio.Queue[asyncio.Future[None]] = asyncio.Queue()
    ends: list[float] = []

    async def journey(user: Any) -> None:
        state: dict[str, Any] = {}
        for step in steps:
            turn: asyncio.Future[None] = loop.create_future()
            ready.put_nowait(turn)
            await turn
            ends.append(await run_step(user, step, state, result.rec, echo))

    cpu = CpuWatch(bot)
    ticker = asyncio.create_task(progress(api, label, len(users) * len(steps)))
    injected0 = api.injected
    tasks = [asyncio.create_task(journey(u)) for u in users]
    start = loop.time() + 0.05
    t0 = time.monotonic() + 0.05
    late: list[float] = []
    k = 0
    try:
        while True:
            target = start + k / rate
            delay = target - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                turn = await asyncio.wait_for(ready.get(), 1.0)
            except TimeoutError:
                if all(t.done() for t in tasks):
                    break
                continue
            late.append(loop.time() - target)
            turn.set_result(None)
            k += 1
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        ticker.cancel()
        for t in tasks:
            t.cancel()
    cpu.finish(result)
    result.errors = [str(o).splitlines()[0] for o in outcomes if isinstance(o, BaseException)]
    result.updates = api.injected - injected0
    result.wall = (max(ends) if ends else time.monotonic()) - t0
    result.late_p99 = percentile(late, 0.99)
    result.t0 = t0
    return result


# ---------------------------------------------------------------------------------------------
# Running one bot through both phases


@dataclass
class BotResult:
    name: str
    saturation: PhaseResult | None = None
    latency: PhaseResult | None = None
    peak_rss: int = 0
    idle_rss: int = 0  # RSS once polling, before any load
    log_errors: int = 0
    notes: list[str] = field(default_factory=list)
    methods: dict[str, int] = field(default_factory=dict)  # Bot API requests by method, whole run
    injected: int = 0  # updates injected, whole run


def child_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KHOOSHE_")}
    env.update(extra)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def latency_users(rate: float, seconds: float, steps: int, cap: int) -> int:
    return max(2, min(cap, math.ceil(rate * seconds / steps)))


@contextlib.contextmanager
def harness_without_gc_pauses() -> Iterator[None]:
    """No garbage collection in this process during a measured phase. The fake server keeps every
    message of every simulated user, and a full collection over them took 140–500 ms (2026-12-04,
    500 users, 30 s phase; longer in 60 s phases), stalling the fake and the users together: every
    reply in flight then looked late by that much, in the bot's figures. What is alive before the
    phase is frozen out of later collections too."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


async def bench_khooshe(args: argparse.Namespace, tmp: Path) -> BotResult:
    result = BotResult("khooshe")
    steps = khooshe_steps()
    phase1_ids = [OWNER_BASE + i for i in range(args.owners)]
    phase2_ids = [OWNER_BASE + args.owners + i for i in range(args.owners)]
    db_path = tmp / "khooshe.db"
    await prepare_db(db_path, phase1_ids + phase2_ids)

    api = make_api(args.rtt_ms, args.platform)
    await api.start()
    profile_file = tmp / "khooshe.prof"
    # BENCH_BOT_MODULE=bench.traced_bot runs the bot under bench.memory's census (SIGUSR1 → BENCH_TRACE_DIR).
    module = os.environ.get("BENCH_BOT_MODULE", "bot")
    cmd = [sys.executable, *(["-m", "cProfile", "-o", str(profile_file)] if args.profile else []), "-m", module]
    env = child_env({"KHOOSHE_TOKEN": TOKEN, "KHOOSHE_API_URL": api.base_url, "KHOOSHE_DB": str(db_path),
                     "KHOOSHE_PLATFORM": args.platform,
                     **({"KHOOSHE_HTTP": args.http} if args.http else {}),
                     **({"KHOOSHE_LOOP": args.loop} if args.loop else {})})
    bot: BotProcess | None = None
    try:
        bot = BotProcess("khooshe", cmd, env, tmp / "khooshe.log")
        await wait_until_polling(api, bot)
        await asyncio.sleep(1.0)
        result.idle_rss = bot.peak_rss
        owners = [api.user(uid, first_name="Owner", language_code="fa") for uid in phase1_ids]
        print(f"khooshe: saturation, {len(owners)} owners × {len(steps)} updates", file=sys.stderr, flush=True)
        with harness_without_gc_pauses():
            result.saturation = await saturate(api, bot, owners, steps, echo=False, label="khooshe saturation")
        if not args.profile:
            rate = args.rate or result.saturation.per_second / 2
            n = latency_users(rate, args.latency_seconds, len(steps), len(phase2_ids))
            owners = [api.user(uid, first_name="Owner", language_code="fa") for uid in phase2_ids[:n]]
            print(f"khooshe: latency at {rate:.1f} updates/s, {n} owners", file=sys.stderr, flush=True)
            with harness_without_gc_pauses():
                result.latency = await paced(api, bot, owners, steps, echo=False, rate=rate, label="khooshe latency")
    finally:
        if bot is not None:
            bot.stop()
            result.peak_rss = bot.peak_rss
            errors = bot.error_lines()
            result.log_errors = len(errors)
            if errors:
                result.notes.append(f"khooshe log has {len(errors)} ERROR lines, e.g.:\n" + "\n".join(errors[:3]))
        result.methods, result.injected = dict(api.methods), api.injected
        await api.stop()
    if args.profile:
        show_profile(profile_file)
        if args.profile_out and profile_file.exists():
            shutil.copy(profile_file, args.profile_out)
            print(f"(profile kept at {args.profile_out}: python -m pstats {args.profile_out})")
    return result


#: The fake's profile the echo baseline talks to, where bare PTB cannot run on the one measured.
ECHO_PLATFORM = {"bale": "telegram"}


async def bench_echo(args: argparse.Namespace, pattern: Sequence[Step], rate: float) -> BotResult:
    result = BotResult("echo (bare PTB)")
    steps = echo_steps(pattern)
    # A bare PTB bot cannot serve Bale: its first button press (no ``chat_instance``) fails to
    # parse and the same batch is fetched again forever (issue 8). Its baseline is measured on the
    # Telegram profile, in the same run.
    api = make_api(args.rtt_ms, ECHO_PLATFORM.get(args.platform, args.platform))
    await api.start()
    tmp = Path(tempfile.mkdtemp(prefix="bench-echo-"))
    bot: BotProcess | None = None
    try:
        env = child_env({"BENCH_TOKEN": TOKEN, "BENCH_API_URL": api.base_url})
        bot = BotProcess("echo", [sys.executable, str(BENCH_FILE), "--serve-echo"], env, tmp / "echo.log")
        await wait_until_polling(api, bot)
        await asyncio.sleep(1.0)
        result.idle_rss = bot.peak_rss
        users = [api.user(ECHO_BASE + i, first_name="User") for i in range(args.owners)]
        print(f"echo: saturation, {len(users)} users × {len(steps)} updates", file=sys.stderr, flush=True)
        with harness_without_gc_pauses():
            result.saturation = await saturate(api, bot, users, steps, echo=True, label="echo saturation")
        n = latency_users(rate, args.latency_seconds, len(steps), args.owners)
        users = [api.user(ECHO_BASE + args.owners + i, first_name="User") for i in range(n)]
        print(f"echo: latency at {rate:.1f} updates/s, {n} users", file=sys.stderr, flush=True)
        with harness_without_gc_pauses():
            result.latency = await paced(api, bot, users, steps, echo=True, rate=rate, label="echo latency")
    finally:
        if bot is not None:
            bot.stop()
            result.peak_rss = bot.peak_rss
        result.methods, result.injected = dict(api.methods), api.injected
        await api.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return result


# ---------------------------------------------------------------------------------------------
# Reporting


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def show_profile(path: Path) -> None:
    if not path.exists():
        print(f"(no profile written at {path})")
        return
    stats = pstats.Stats(str(path))
    print("\n=== cProfile of Khooshe's main thread, top 25 by cumulative time ===")
    stats.sort_stats("cumulative").print_stats(25)
    print("=== top 25 by own (total) time ===")
    stats.sort_stats("tottime").print_stats(25)
    print("=== Khooshe's own code (bot/, handlers/, storage/), top 25 by cumulative time ===")
    stats.sort_stats("cumulative").print_stats(rf"{ROOT}/(bot|handlers|storage)/", 25)


def fmt(x: float, digits: int = 0) -> str:
    return f"{x:.{digits}f}"


def report(results: list[BotResult], args: argparse.Namespace) -> None:
    print()
    print(f"Khooshe update benchmark ({args.platform} profile of the fake; Khooshe's HTTP"
          f" {args.http or 'default'}, loop {args.loop or 'default'}): {args.owners} users, {os.cpu_count()} CPUs,"
          f" RTT {args.rtt_ms:g} ms"
          + (" — PROFILED, figures inflated by cProfile" if args.profile else "")
          + (f"; the echo baseline on the {ECHO_PLATFORM[args.platform]} profile (bare PTB stalls on"
             f" {args.platform}'s first button press)" if args.platform in ECHO_PLATFORM else ""))
    head = (f"{'bot':<26} {'updates':>7} {'upd/s':>7} {'bot CPU':>8} {'ms/upd':>6} {'bench CPU':>9} │"
            f" {'rate':>6} {'p50 ms':>7} {'p99 ms':>7} {'step p99':>8} │ {'peak RSS MB':>11}")
    print(head)
    print("─" * len(head))
    for r in results:
        s, lat = r.saturation, r.latency
        sat = (f"{s.updates:>7} {fmt(s.per_second):>7} {fmt(100 * s.bot_cpu / s.wall):>7}%"
               f" {fmt(1000 * s.bot_cpu / s.updates, 2):>6}"
               f" {fmt(100 * s.bench_cpu / s.wall):>8}%") if s and s.wall and s.updates \
            else f"{'-':>7} {'-':>7} {'-':>8} {'-':>6} {'-':>9}"
        if lat and lat.rec.first:
            lat_cols = (f" {fmt(lat.per_second):>6} {fmt(1000 * percentile(lat.rec.first, .5), 1):>7}"
                        f" {fmt(1000 * percentile(lat.rec.first, .99), 1):>7}"
                        f" {fmt(1000 * percentile(lat.rec.step, .99), 1):>8}")
        else:
            lat_cols = f" {'-':>6} {'-':>7} {'-':>7} {'-':>8}"
        print(f"{r.name:<26} {sat} │{lat_cols} │ {fmt(r.peak_rss / 2**20, 1):>11}")
    print("upd/s: saturation, all users at once.  bot/bench CPU: % of one core during saturation (bench ="
          " fake server + users); ms/upd: the bot's CPU time per update in saturation (all its threads)."
          "\nrate/p50/p99: second phase, open-loop at the given updates/s; p50/p99 ="
          " inject → first send/edit in the chat; step p99 = inject → the message the user waits for.")

    for r in results:
        for phase_name, phase in (("saturation", r.saturation), ("latency", r.latency)):
            if phase and phase.errors:
                print(f"! {r.name} {phase_name}: {len(phase.errors)} users failed, e.g. {phase.errors[0]}")
        if r.saturation and r.saturation.bot_threads != (0.0, 0.0):
            main, rest = r.saturation.bot_threads
            print(f"  {r.name}: saturation CPU by thread — event loop {main:.1f}s, other threads"
                  f" (aiosqlite, httpx DNS …) {rest:.1f}s; saturation p50/p99 step"
                  f" {1000 * percentile(r.saturation.rec.step, .5):.0f}/{1000 * percentile(r.saturation.rec.step, .99):.0f} ms;"
                  f" other load on the machine {100 * r.saturation.other_cpu / r.saturation.wall:.0f}% of a core,"
                  f" steal {100 * r.saturation.steal_cpu / r.saturation.wall:.0f}%")
        if r.peak_rss:
            print(f"  {r.name}: RSS once polling (before load) {r.idle_rss / 2**20:.1f} MB, peak {r.peak_rss / 2**20:.1f} MB")
        if r.latency and r.latency.rec.first:
            lat = r.latency
            slow = sorted(range(len(lat.rec.first)), key=lambda i: lat.rec.first[i], reverse=True)[:8]
            print(f"  {r.name}: slowest replies in the latency phase (s into the phase: ms, step): " + ", ".join(
                f"{lat.rec.at[i] - lat.t0:.1f}s: {1000 * lat.rec.first[i]:.0f} ({lat.rec.what[i]})" for i in sorted(slow)))
        if r.latency:
            print(f"  {r.name}: latency phase asked {r.latency.rate_asked:.1f}/s, got {r.latency.per_second:.1f}/s"
                  f" over {r.latency.wall:.0f}s; dispatch lateness p99 {1000 * r.latency.late_p99:.1f} ms")
        if r.injected:
            calls = {m: n for m, n in r.methods.items() if m.lower() != "getupdates"}
            print(f"  {r.name}: Bot API requests per update {sum(calls.values()) / r.injected:.2f} (" + ", ".join(
                f"{m} {n / r.injected:.2f}" for m, n in sorted(calls.items(), key=lambda kv: -kv[1]) if n / r.injected >= 0.01)
                + f"), plus getUpdates {r.methods.get('getUpdates', 0) / r.injected:.2f}")
        for note in r.notes:
            print("  " + note)

    khooshe = next((r for r in results if r.name.startswith("khooshe")), None)
    echo = next((r for r in results if r.name.startswith("echo")), None)
    print()
    if khooshe and echo and khooshe.saturation and echo.saturation and echo.saturation.per_second:
        ratio = khooshe.saturation.per_second / echo.saturation.per_second
        print(f"throughput khooshe/echo = {ratio:.2f}   target ≥ {TARGET_RATIO}: "
              f"{'PASS' if ratio >= TARGET_RATIO else 'MISS'}")
        k, e = khooshe.saturation, echo.saturation
        if k.bot_cpu and e.bot_cpu:
            # Less at the mercy of other load on the machine than wall-clock throughput: what the
            # ratio would be if each bot had a core to itself and were CPU-bound.
            cpu_ratio = (e.bot_cpu / e.updates) / (k.bot_cpu / k.updates)
            print(f"CPU per update echo/khooshe = {cpu_ratio:.2f}   (khooshe {1000 * k.bot_cpu / k.updates:.2f} ms,"
                  f" echo {1000 * e.bot_cpu / e.updates:.2f} ms; the throughput ratio if both were CPU-bound on a core each)")
    if khooshe and khooshe.latency and khooshe.latency.rec.first:
        p99 = 1000 * percentile(khooshe.latency.rec.first, .99)
        print(f"khooshe p99 at half saturation = {p99:.1f} ms   target ≤ {TARGET_P99_MS:g} ms: "
              f"{'PASS' if p99 <= TARGET_P99_MS else 'MISS'}")
    if khooshe:
        rss = khooshe.peak_rss / 2**20
        print(f"khooshe peak RSS = {rss:.1f} MB   target ≤ {TARGET_RSS_MB:g} MB: "
              f"{'PASS' if rss <= TARGET_RSS_MB else 'MISS'}")


# ---------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.updates", description=__doc__.split("\n\n")[0])
    p.add_argument("--owners", type=int, default=None, help="simulated users per bot (default 500)")
    p.add_argument("--quick", action="store_true", help="a fast smoke run: 50 users, 20 s latency phase")
    p.add_argument("--latency-seconds", type=float, default=None,
                   help="length of the paced latency phase (default 60, quick 20)")
    p.add_argument("--rate", type=float, default=None,
                   help="updates/s for the latency phase (default: half of Khooshe's saturation)")
    p.add_argument("--rtt-ms", type=float, default=0.0, help="artificial round trip per API request")
    p.add_argument("--profile", action="store_true",
                   help="run Khooshe's saturation phase under cProfile and print the hot spots (no echo)")
    p.add_argument("--profile-out", type=Path, default=None, help="with --profile: keep the .prof file here")
    p.add_argument("--skip-echo", action="store_true", help="measure Khooshe only")
    p.add_argument("--platform", default="telegram",
                   help="comma-separated profiles of the fake Bot API to run against, one full run each"
                        " (telegram; bale once bot/emulator/ has it)")
    p.add_argument("--http", choices=("aiohttp", "httpx"), default=None,
                   help="Khooshe's KHOOSHE_HTTP (default: the bot's default); the echo bot stays bare PTB (httpx)")
    p.add_argument("--loop", choices=("auto", "uvloop", "asyncio"), default=None,
                   help="Khooshe's KHOOSHE_LOOP (default: the bot's default); the echo bot stays on asyncio")
    p.add_argument("--serve-echo", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.owners is None:
        args.owners = 50 if args.quick else 500
    if args.latency_seconds is None:
        args.latency_seconds = 20.0 if args.quick else 60.0
    return args


async def run(args: argparse.Namespace) -> None:
    for platform in [p.strip() for p in args.platform.split(",") if p.strip()]:
        await run_platform(argparse.Namespace(**{**vars(args), "platform": platform}))


async def run_platform(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-khooshe-"))
    try:
        results = [await bench_khooshe(args, tmp)]
        khooshe = results[0]
        if not args.profile and not args.skip_echo:
            rate = (khooshe.latency.rate_asked if khooshe.latency else 0) or (
                khooshe.saturation.per_second / 2 if khooshe.saturation else 10.0)
            results.append(await bench_echo(args, khooshe_steps(), rate))
        report(results, args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_echo:
        serve_echo()
        return 0
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
