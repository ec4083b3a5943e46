"""The broadcast drill's machinery, shared by the suite (scaled down) and bench/broadcast_drill.py:
a subprocess bot (`python -m bot`) against the strict fake Bot API with a rate limit, blocked users,
transient 5xx on sends and SIGKILLs at random moments (with ``latency``, each at a moment when
sends are on the wire). After each kill, before the restart, the database is read for the rows
whose send had departed: the bot must report exactly those (and the 502s) as uncertain."""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.delivery.keys import broadcast_prefix
from bot.emulator import FakeBotApi
from bot.emulator.server import RATE_LIMITED
from bot.emulator.strict import ApiError
from storage.database import Database
from storage.repositories.base import stamp
from tests.support.factories import national_id, tehran
from tests.support.khooshe import ADMIN_ID, seed

ROOT = Path(__file__).resolve().parents[2]
FIRST_OWNER = 10_000_001
NOTICE = "📣 Notice to all firms: the estate's annual meeting is on 1405/09/20."


class DrillApi(FakeBotApi):
    """The fake server, with transient 5xx on sends to firms only (so start-up calls never fail
    and the admin's report arrives), the time of every send and every 429 recorded, and the sends
    it holds unanswered known (``open_sends``)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.send_error_rate = 0.0
        self.send_times: list[float] = []
        self.times_429: list[float] = []
        self.count_5xx = 0
        self.chats_5xx: set[int] = set()  # firms whose send was answered with the injected 502
        self._chat_in_hand: object = None  # the chat of the call being answered (set as it is read)
        # sendMessage requests received and not yet answered, by id(request): their chat once read.
        self._open_sends: dict[int, object] = {}

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info.get("method", "").lower() != "sendmessage":
            return await super()._handle(request)
        self._open_sends[id(request)] = None
        try:
            return await super()._handle(request)
        finally:
            del self._open_sends[id(request)]

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        params = await super()._read_params(request)
        self._chat_in_hand = params.get("chat_id")
        if id(request) in self._open_sends:
            self._open_sends[id(request)] = params.get("chat_id")
        return params

    def open_sends(self) -> tuple[int, set[int]]:
        """How many sends the server holds unanswered, and the chats of those it has read."""
        return len(self._open_sends), {c for c in self._open_sends.values() if isinstance(c, int)}

    def _inject_faults(self, method: str) -> None:
        # The firms' sends only: the admin's progress and report are how the drill sees the end.
        if (method in RATE_LIMITED and self.send_error_rate and self._chat_in_hand != ADMIN_ID
                and self.random.random() < self.send_error_rate):
            self.count_5xx += 1
            if isinstance(self._chat_in_hand, int):
                self.chats_5xx.add(self._chat_in_hand)
            raise ApiError(502, "Bad Gateway")
        try:
            super()._inject_faults(method)
        except ApiError as exc:
            if exc.code == 429:
                self.times_429.append(time.monotonic())
            raise

    def m_sendMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        result = super().m_sendMessage(p)
        if p.get("chat_id") != ADMIN_ID:
            self.send_times.append(time.monotonic())
        return result


@dataclass
class DrillResult:
    firms: int
    blocked: int
    blocked_reported: int | None
    uncertain_reported: int  # the report's uncertain count (0 when it has none)
    kills: int
    duplicates: int
    duplicates_per_kill: list[int]
    missing: list[int]
    count_429: int
    count_429_after_first_second: int
    count_5xx: int
    rate: float
    seconds: float
    peak_rss_mb: float
    state: str
    report: str
    log_tail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


async def prepare(db_path: Path, firms: int) -> list[int]:
    """Sample estates, an open round and ``firms`` registered firms, inserted in bulk."""
    owners = [FIRST_OWNER + i for i in range(firms)]
    async with Database(db_path) as db:
        await seed(db, open_round=True)
        async with db.transaction() as repo:
            now = stamp()
            await repo.conn.execute(
                "INSERT INTO users (id, language, first_name, created_at) VALUES (?, 'en', 'Admin', ?)",
                (ADMIN_ID, now),
            )
            await repo.conn.executemany(
                "INSERT INTO users (id, language, first_name, created_at) VALUES (?, 'fa', ?, ?)",
                [(uid, f"Owner {i}", now) for i, uid in enumerate(owners)],
            )
            await repo.conn.executemany(
                "INSERT INTO firms (owner_id, name, national_id, province_id, estate_id, cluster_id, sector,"
                " employees, founded_year, phone, consent_public, created_at, updated_at)"
                " SELECT ?, ?, ?, province_id, id, NULL, 'C', 20, 1390, '+989120000000', 1, ?, ? FROM estates"
                " WHERE id = ?",
                [(uid, f"Firm {i}", national_id(i + 1), now, now, 1 + i % 5) for i, uid in enumerate(owners)],
            )
    return owners


async def queue_broadcast(db_path: Path, when: datetime) -> int:
    async with Database(db_path) as db, db.transaction() as repo:
        return await repo.broadcasts.create(
            created_by=ADMIN_ID, audience={"estates": None}, content={"kind": "text", "text": NOTICE},
            send_at=when, progress_chat=ADMIN_ID,
        )


async def on_the_wire(db_path: Path) -> list[int]:
    """The chats whose send had departed and not ended (read while the bot is dead)."""
    async with Database(db_path) as db, db.read() as repo:
        return await repo.outbox.on_the_wire()


async def uncertain_chats(db_path: Path) -> list[int]:
    async with Database(db_path) as db, db.read() as repo:
        return sorted(row.chat_id for row in await repo.outbox.all() if row.status == "uncertain")


async def broadcast_state(db_path: Path, broadcast_id: int) -> tuple[str, dict[str, int]]:
    async with Database(db_path) as db, db.read() as repo:
        found = await repo.broadcasts.get(broadcast_id)
        counts = await repo.broadcasts.delivery_counts(broadcast_prefix(broadcast_id))
    assert found is not None
    return found.state, counts


class BotProcess:
    """``python -m bot`` with KHOOSHE_* settings; its RSS (and its children's) is sampled."""

    def __init__(self, api: FakeBotApi, db_path: Path, log: Path, *, offset: float, rate: float) -> None:
        self.env = {**os.environ, "KHOOSHE_TOKEN": api.token, "KHOOSHE_API_URL": api.base_url,
                    "KHOOSHE_DB": str(db_path), "KHOOSHE_ADMINS": str(ADMIN_ID),
                    "KHOOSHE_CLOCK_OFFSET": str(offset), "KHOOSHE_TICK_SECONDS": "1",
                    "KHOOSHE_SEND_RATE": str(rate)}
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.peak_rss = 0

    def start(self) -> None:
        with self.log.open("ab") as out:  # the child keeps its own copy of the handle
            self.proc = subprocess.Popen([sys.executable, "-m", "bot"], cwd=ROOT, env=self.env, stdout=out, stderr=out)

    def sample(self) -> None:
        import psutil

        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            proc = psutil.Process(self.proc.pid)
            rss = proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
        except psutil.Error:
            return
        self.peak_rss = max(self.peak_rss, rss)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


async def run_drill(
    folder: Path, *, firms: int, rate: float, kills: int, seed: int = 1, blocked_share: float = 0.02,
    error_rate: float = 0.01, rate_limit: int | None = None, verbose: bool = False,
    latency: tuple[float, float] | None = None,
) -> DrillResult:
    """Runs one broadcast to ``firms`` firms; see the module docstring."""
    rng = random.Random(seed)
    db_path = folder / "khooshe.db"
    owners = await prepare(db_path, firms)
    limit = rate_limit or max(30, round(rate * 30 / 29))
    async with DrillApi(rate_limit=limit, seed=seed) as api:
        api.send_error_rate = error_rate
        api.latency = latency  # seconds per request (every method), drawn per request
        api.user(ADMIN_ID, "Admin", language_code="en")
        for uid in owners:
            api.user(uid)
        blocked = set(rng.sample(owners, round(firms * blocked_share)))
        for uid in blocked:
            api.block(uid)
        offset = (tehran("1405/09/10 10:00") - datetime.now(UTC)).total_seconds()
        broadcast_id = await queue_broadcast(db_path, tehran("1405/09/10 10:00"))
        log = folder / "bot.log"
        bot = BotProcess(api, db_path, log, offset=offset, rate=rate)
        reachable = [uid for uid in owners if uid not in blocked]

        def delivered() -> int:
            return sum(len(api.bot_messages.get(uid, {})) for uid in owners)

        def duplicated() -> int:
            return sum(max(0, len(api.bot_messages.get(uid, {})) - 1) for uid in owners)

        # Kill when these many notices have gone out: random moments spread over the delivery; with
        # latency, once at least two sends are held by the server too (so a kill cuts sends off).
        thresholds = sorted(rng.sample(range(max(1, firms // 10), max(2, firms * 9 // 10)), kills))
        on_the_wire_needed = 2 if latency else 0
        kill_points: list[int] = []
        # Per kill: (sends the server held, the chats among them it had read, the rows on the wire).
        cut: list[tuple[int, list[int], list[int]]] = []
        dup_before: list[int] = []
        started = time.monotonic()
        deadline = started + firms / rate * 3 + 120
        bot.start()
        state, counts = "scheduled", {}
        uncertain_rows: list[int] = []
        try:
            for threshold in thresholds:
                while ((delivered() < threshold or api.open_sends()[0] < on_the_wire_needed)
                       and time.monotonic() < deadline):
                    bot.sample()
                    await asyncio.sleep(0.005)
                held, read = api.open_sends()  # nothing runs between this and the kill
                before = delivered()
                dup_before.append(duplicated())
                bot.kill()
                wire = await on_the_wire(db_path)
                cut.append((held, sorted(read), wire))
                if verbose:
                    print(f"  SIGKILL at {before} notices delivered, {held} sends held by the server,"
                          f" {len(wire)} on the wire", flush=True)
                kill_points.append(before)
                bot.start()
            last_report = time.monotonic()
            while time.monotonic() < deadline:
                bot.sample()
                await asyncio.sleep(0.25)
                report = [m for m in api.messages(ADMIN_ID) if "is finished" in m.text and m.edit_date is None]
                if report:
                    break
                if verbose and time.monotonic() - last_report > 15:
                    last_report = time.monotonic()
                    print(f"  {delivered()} of {len(reachable)} delivered, {time.monotonic() - started:.0f} s", flush=True)
            await asyncio.sleep(1.0)  # anything extra would show up now
            state, counts = await broadcast_state(db_path, broadcast_id)
            uncertain_rows = [chat for chat in await uncertain_chats(db_path) if chat != ADMIN_ID]
        finally:
            bot.stop()
        per_firm = {uid: len(api.messages(uid)) for uid in owners}
        missing = [uid for uid in reachable if per_firm[uid] == 0]
        duplicates = sum(max(0, n - 1) for n in per_firm.values())
        marks = [*dup_before, duplicates]
        per_kill = [marks[i + 1] - marks[i] for i in range(len(dup_before))]
        extra_blocked = [uid for uid in blocked if per_firm[uid]]
        reports = [m.text for m in api.messages(ADMIN_ID) if "is finished" in m.text]
        match = re.search(r"Blocked the bot: (\d+)", reports[-1]) if reports else None
        uncertain = re.search(r"Uncertain[^:]*: (\d+)", reports[-1]) if reports else None
        times = sorted(api.send_times)
        first = times[0] if times else 0.0
        seconds = (times[-1] - first) if len(times) > 1 else 0.0
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        return DrillResult(
            firms=firms, blocked=len(blocked), blocked_reported=int(match.group(1)) if match else None,
            uncertain_reported=int(uncertain.group(1)) if uncertain else 0,
            kills=len(per_kill), duplicates=duplicates, duplicates_per_kill=per_kill, missing=missing,
            count_429=api.count_429, count_429_after_first_second=sum(t > first + 1.0 for t in api.times_429),
            count_5xx=api.count_5xx, rate=(len(times) - 1) / seconds if seconds else 0.0, seconds=seconds,
            peak_rss_mb=bot.peak_rss / 2**20, state=state, report=reports[-1] if reports else "",
            log_tail=tail, extra={"counts": counts, "delivered_to_blocked": extra_blocked,
                                  "kill_points": kill_points, "chats_5xx": sorted(api.chats_5xx),
                                  "cut": cut, "uncertain_chats": uncertain_rows,
                                  "blocked_chats": sorted(blocked)},
        )

