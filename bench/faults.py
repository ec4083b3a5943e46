"""The fault drill (issue 9): a round end to end against the fake Bot API while it injects, one
phase at a time, the Bot API faults a real deployment meets, and a table of what each did.

    .venv/bin/python -m bench.faults            # 100 owners per phase, broadcasts to 2,000 firms (≈ 15 min)
    .venv/bin/python -m bench.faults --quick    # 20 owners per phase, 300 firms, short phases (≈ 4 min)

Khooshe runs as ``python -m bot`` (a child process, restarted after each kill) against
``bot.emulator.FakeBotApi`` over real HTTP on 127.0.0.1; the fake server and every
simulated person live in this process. Each phase: the admin composes a broadcast to all firms
(``/broadcast`` → All firms → the notice), the fault is switched on, the admin presses «Send now»
and that phase's owners (pre-registered firms) do ``/assess``, the whole questionnaire and submit;
after the phase's window the fault is cleared and the phase ends when every owner is done and
the broadcast's report has come. At the end the admin closes the round (``/closeround``: it is
scored) and publishes it (``/publish``). What is measured is in bench/README.md. This script
prints figures; it never fails because a target was missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import re
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.domain.questionnaire.loader import load_questionnaire  # noqa: E402
from bot.emulator import BotEvent, FakeBotApi, FakeUser  # noqa: E402
from bot.emulator.server import BotMessage  # noqa: E402
from bot.i18n import translator  # noqa: E402
from bot.settings import Settings  # noqa: E402
from storage.database import Database  # noqa: E402
from tests.support.bot_process import BotProcess  # noqa: E402
from tests.support.broadcast_drill import prepare  # noqa: E402
from tests.support.journeys import MANUFACTURER_ANSWERS, TOTAL_QUESTIONS  # noqa: E402
from tests.support.khooshe import ADMIN_ID  # noqa: E402

FA_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")
QUESTION = re.compile(r"سؤال ([۰-۹]+) از ([۰-۹]+)")
REVIEW = "پاسخ‌هایتان را مرور کنید"
SUBMIT = "✅ ارسال"
DONE = "ثبت انتخاب‌ها ✔️"
# How long an owner waits for a reply before trying again (/assess): a reply later than this
# counts as never come. A restart takes a few seconds; at 3–7 s per request a reply takes up to
# three round trips (getUpdates, the callback answer, the edit), hence the longer wait there.
PATIENCE = 30.0
SLOW_PATIENCE = 60.0
ADMIN_TIMEOUT = 90.0
MAX_RECOVERIES = 6  # an owner who got no answer (or an apology) this many times gives up
THINK = (0.3, 0.8)  # a person's pause between two taps, in seconds (scripted, but under the per-user limit)


def _fa(text: str) -> str:
    return translator("fa")(text)


APOLOGY = _fa("Sorry, something went wrong on our side. Please try again; your earlier answers are safe.")
SUBMITTED = (_fa("✅ Your answers are submitted."), "خودارزیابی «")


# ---------------------------------------------------------------------------------------------
# The fake server: every message it stores, timed


class DrillApi(FakeBotApi):
    """FakeBotApi that records when each bot message was stored and counts long polls."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stored: list[tuple[float, int, str]] = []  # (monotonic time, chat, text)
        self.polls = 0

    def _new_message(self, chat_id: int, kind: str, raw: str, *args: Any, **kwargs: Any) -> BotMessage:
        msg = super()._new_message(chat_id, kind, raw, *args, **kwargs)
        self.stored.append((time.monotonic(), chat_id, msg.text))
        return msg

    async def m_getUpdates(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        self.polls += 1
        return await super().m_getUpdates(p)

    def clear_faults(self) -> None:
        self.error_rate_5xx = self.error_rate_5xx_after = 0.0
        self.latency = None
        self.rate_limit = None


# ---------------------------------------------------------------------------------------------
# The phases


@dataclass(frozen=True)
class Phase:
    key: str
    label: str
    window: float  # seconds the fault is on (full run)
    quick_window: float


PHASES = [
    Phase("none", "none (baseline)", 60, 15),
    Phase("5xx-before", "20% 5xx before acting", 60, 15),
    Phase("5xx-after", "20% 5xx after acting", 60, 15),
    Phase("lat-300ms", "200–400 ms latency", 60, 15),
    Phase("lat-5s", "3–7 s latency", 30, 12),
    Phase("flood-limit", "5 msg/s flood limit (429)", 60, 15),
    Phase("flooder", "one user sends 2,000 msgs", 60, 15),
    Phase("kills", "3 SIGKILL + 1 SIGTERM", 60, 30),
]


def switch_on(api: DrillApi, phase: Phase) -> None:
    if phase.key == "5xx-before":
        api.error_rate_5xx = 0.2
    elif phase.key == "5xx-after":
        api.error_rate_5xx_after = 0.2
    elif phase.key == "lat-300ms":
        api.latency = (0.2, 0.4)
    elif phase.key == "lat-5s":
        api.latency = (3.0, 7.0)
    elif phase.key == "flood-limit":
        api.rate_limit = 5


# ---------------------------------------------------------------------------------------------
# An owner answering the questionnaire, the way a person would, and recovering like one


@dataclass
class OwnerRun:
    uid: int
    latencies: list[float] = field(default_factory=list)  # inject → the reply waited for, seconds
    sent: set[int] = field(default_factory=set)  # question numbers the owner sent an answer for
    no_reply: set[int] = field(default_factory=set)  # … whose reply never came
    # Each reply that never came: (monotonic time sent, question number, what was sent)
    missed: list[tuple[float, int, str]] = field(default_factory=list)
    recoveries: int = 0
    submitted: bool = False
    gave_up: bool = False
    error: str = ""


def question_number(event: BotEvent) -> int | None:
    found = QUESTION.search(event.text) if event.is_message else None
    return int(found.group(1).translate(FA_DIGITS)) if found else None


def screen(event: BotEvent) -> str | int | None:
    """What a message shows: a question number, "review", "submitted", or None."""
    if not event.is_message:
        return None
    if any(s in event.text for s in SUBMITTED):
        return "submitted"
    if REVIEW in event.text:
        return "review"
    return question_number(event)


def is_apology(event: BotEvent) -> bool:
    return event.is_message and APOLOGY in event.text


def shows(n: int) -> Callable[[BotEvent], bool]:
    """The message the owner waits for after answering question n - 1: question n (or the review)."""
    want: str | int = n if n <= TOTAL_QUESTIONS else "review"
    return lambda e: screen(e) == want


def ticked(label: str) -> Callable[[BotEvent], bool]:
    return lambda e: e.event == "edit" and any(b == f"✅ {label}" for row in e.buttons for b in row)


class Owner:
    def __init__(self, user: FakeUser, rng: random.Random, patience: float, *, press_latest: bool = False) -> None:
        self.user, self.rng, self.patience = user, rng, patience
        self.press_latest = press_latest  # the drill before 2026-12-04: press the newest message
        self.run = OwnerRun(user.id)

    async def step(self, n: int, action: str, payload: str, expect: Callable[[BotEvent], bool],
                   on: BotEvent | None = None) -> BotEvent | None:
        """One update and its reply; None when the reply was an apology or never came. A press
        is on the message ``on`` showed, the screen being answered (as a person taps what they
        read), not on whichever message came last: after a restart the bot may show the
        conversation again below a screen that then moves on."""
        await asyncio.sleep(self.rng.uniform(*THINK))
        user = self.user
        user._seen = first = len(user.events)
        began = time.monotonic()
        target = on.message_id if on is not None and not self.press_latest else None
        try:
            if action == "text":
                await user.send(payload)
            else:
                if target is None:  # the newest message with buttons, for the record
                    target = user._target(None).message_id
                await user.press(payload, target)
        except AssertionError:  # the button is not there (a stale screen): look again
            return None
        if n:
            self.run.sent.add(n)
        try:
            event = await user.wait_for(lambda e: expect(e) or is_apology(e), timeout=self.patience)
        except AssertionError:
            if n:
                self.run.no_reply.add(n)
            came = [f"{e.event} #{e.message_id} {e.text[:30]!r}" for e in user.events[first:]]
            pressed = f" on #{target}, the screen showing #{on.message_id if on else '-'}" if action == "press" else ""
            self.run.missed.append((began, n, f"{action} {payload}"[:40] + pressed + (f" [got only: {'; '.join(came)}]"
                                                                           if came else "")))
            return None
        self.run.latencies.append(event.at - began)
        return None if is_apology(event) else event

    async def look(self) -> BotEvent | None:
        """/assess: the bot shows where the owner is (it resumes at the first unanswered question)."""
        return await self.step(0, "text", "/assess", lambda e: screen(e) is not None)

    async def answer(self, event: BotEvent) -> BotEvent | None:
        """Answers what ``event`` shows; returns the next screen."""
        where = screen(event)
        if where == "review":
            return await self.step(0, "press", SUBMIT, lambda e: screen(e) == "submitted", on=event)
        assert isinstance(where, int)
        how, what = MANUFACTURER_ANSWERS[where - 1]
        if how == "press":
            return await self.step(where, "press", str(what), shows(where + 1), on=event)
        if how == "type":
            return await self.step(where, "text", str(what), shows(where + 1))
        shown = event
        for label in what:  # type: ignore[attr-defined]
            if any(b == f"✅ {label}" for row in shown.buttons for b in row):
                continue  # ticked before a restart or a retry
            got = await self.step(where, "press", label, ticked(label), on=shown)
            if got is None:
                return None
            shown = got
        return await self.step(where, "press", DONE, shows(where + 1), on=shown)

    async def journey(self) -> OwnerRun:
        run = self.run
        try:
            event = await self.look()
            while True:
                if event is None:
                    run.recoveries += 1
                    if run.recoveries > MAX_RECOVERIES:
                        run.gave_up = True
                        return run
                    # A person waits a moment before trying again; late replies land meanwhile.
                    await asyncio.sleep(2.0)
                    event = await self.look()
                    continue
                if screen(event) == "submitted":
                    run.submitted = True
                    return run
                event = await self.answer(event)
        except Exception as exc:  # noqa: BLE001 - a harness surprise must not stop the other owners
            run.error = f"{type(exc).__name__}: {exc}"[:300]
            run.gave_up = True
            return run


# ---------------------------------------------------------------------------------------------
# The admin: a broadcast, and the round's close and publish


class Admin:
    def __init__(self, api: DrillApi, db_path: Path) -> None:
        self.api, self.db_path = api, db_path
        self.user = api.user(ADMIN_ID, "Admin", language_code="en")
        self.attempts = 0

    async def step(self, action: str, payload: str, expect: str | Callable[[BotEvent], bool]) -> BotEvent | None:
        user = self.user
        user._seen = len(user.events)
        try:
            if action == "text":
                await user.send(payload)
            else:
                await user.press(payload)
            return await user.wait_for(expect, timeout=ADMIN_TIMEOUT)
        except AssertionError:
            return None

    async def compose(self, notice: str) -> bool:
        """Up to the «Send now» screen."""
        return (await self.step("text", "/broadcast", "Who should receive it") is not None
                and await self.step("press", "All firms", "Firms that will receive it") is not None
                and await self.step("press", "Continue", "Now send the notice") is not None
                and await self.step("text", notice, "It will go to") is not None)

    def created(self, tag: str) -> int | None:
        """The broadcast holding ``tag``, if the bot stored one (its reply may have been lost)."""
        with sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10) as conn:
            row = conn.execute("SELECT id FROM broadcasts WHERE content LIKE ? AND state != 'draft' ORDER BY id",
                               (f"%{tag}%",)).fetchone()
        return int(row[0]) if row else None

    async def send_now(self, notice: str, tag: str, composed: bool) -> int | None:
        """Presses «Send now» (composing again if that screen was lost); the broadcast's id."""
        for _ in range(3):
            self.attempts += 1
            if not composed and not await self.compose(notice):
                found = self.created(tag)
                if found is not None:
                    return found
                continue
            composed = False
            event = await self.step("press", "Send now", "is on its way")
            found = self.created(tag)
            if found is not None:
                return found
            if event is not None:
                match = re.search(r"#(\d+)", event.text)
                return int(match.group(1)) if match else None
        return None

    def report(self, broadcast_id: int) -> str | None:
        head = f"Broadcast #{broadcast_id} is finished"
        finished = [m.text for m in self.api.messages(ADMIN_ID) if head in m.text]
        return finished[-1] if finished else None

    async def wait_report(self, broadcast_id: int, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.report(broadcast_id)
            if found:
                return found
            await asyncio.sleep(0.5)
        return None

    async def close_and_publish(self, round_id: int, timeout: float) -> list[str]:
        notes: list[str] = []
        asked = await self.step("text", f"/closeround {round_id}",
                                lambda e: e.is_message and any("Close" in b for row in e.buttons for b in row))
        closed = asked and await self.step("press", "🔒 Close", "is closed")
        notes.append(closed.text.splitlines()[0] if closed else "close: no answer")
        asked = await self.step("text", f"/publish {round_id}", "Publish round")
        began = time.monotonic()
        published = asked and await self.step("press", "📣 Publish", "published;")
        if not published:
            notes.append("publish: no answer")
            return notes
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = [m.text for m in self.api.messages(ADMIN_ID) if "are out:" in m.text]
            if out:
                notes.append(f"{out[-1]} ({time.monotonic() - began:.0f} s after the press)")
                return notes
            await asyncio.sleep(0.5)
        notes.append("publish: no delivery report in time")
        return notes


# ---------------------------------------------------------------------------------------------
# A phase


@dataclass
class PhaseResult:
    phase: Phase
    owners: list[OwnerRun]
    broadcast_id: int | None
    report: str | None
    bulk_rate: float
    bulk_in_window: int
    duplicates: int
    admin_attempts: int
    seconds: float
    notes: list[str] = field(default_factory=list)
    lost: int = 0
    lost_unanswered: int = 0  # of which: the reply never came
    lost_unstored: int = 0  # of which: not (or not rightly) in the database
    apologies: int = 0


def report_counts(report: str | None) -> dict[str, int]:
    """"Label: 12" lines of the bot's broadcast report, by lower-cased label."""
    counts: dict[str, int] = {}
    for line in (report or "").splitlines():
        found = re.match(r"\s*(.+?):\s*([\d,]+)\s*$", line)
        if found:
            counts[found.group(1).strip().lower()] = int(found.group(2).replace(",", ""))
    return counts


def report_cell(report: str | None) -> str:
    if not report:
        return "no report"
    counts = report_counts(report)

    def pick(*words: str) -> str:
        for label, n in counts.items():
            if any(w in label for w in words):
                return str(n)
        return "-"

    return (f"sent {pick('delivered', 'sent')} · blocked {pick('blocked')} · failed {pick('failed')}"
            f" · uncertain {pick('uncertain', 'unknown', 'unsure')}")


class Drill:
    def __init__(self, api: DrillApi, db_path: Path, folder: Path, firms: list[int], *, owners_per_phase: int,
                 quick: bool, seed: int) -> None:
        self.api, self.db_path, self.folder, self.firms = api, db_path, folder, firms
        self.per_phase, self.quick = owners_per_phase, quick
        self.press_latest = False
        self.rng = random.Random(seed)
        self.admin = Admin(api, db_path)
        self.bot = BotProcess(api, db_path, folder / "bot.log", KHOOSHE_ADMINS=str(ADMIN_ID),
                              KHOOSHE_TICK_SECONDS="1")
        # The bot's own per-user limit stays as configured: the flooding user is part of the drill.
        self.bot.env.pop("KHOOSHE_USER_BURST", None)
        self.send_rate = float(Settings.model_fields["send_rate"].default)

    async def start_bot(self, timeout: float = 60.0) -> None:
        polls = self.api.polls
        self.bot.start()
        deadline = time.monotonic() + timeout
        while self.api.polls == polls:
            assert self.bot.proc is not None
            if self.bot.proc.poll() is not None:
                raise RuntimeError("the bot exited at start:\n" + self.log_tail())
            if time.monotonic() > deadline:
                raise RuntimeError("the bot never started polling:\n" + self.log_tail())
            await asyncio.sleep(0.05)

    def log_tail(self, chars: int = 3000) -> str:
        path = self.bot.log_path
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    async def kills(self, window: float, began: float, notes: list[str]) -> None:
        """Three SIGKILLs and one SIGTERM spread over the window, each followed by a restart."""
        for i, when in enumerate((0.15, 0.35, 0.55, 0.75)):
            wait = began + window * when - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if i < 3:
                self.bot.kill()
                notes.append(f"SIGKILL at {time.monotonic() - began:.0f} s")
            else:
                exited = await self.bot.terminate(timeout=30)
                notes.append(f"SIGTERM at {time.monotonic() - began:.0f} s: exit {exited.code} in {exited.seconds:.1f} s")
            restart = time.monotonic()
            await self.start_bot()
            notes[-1] += f", polling again {time.monotonic() - restart:.1f} s later"

    async def flood(self, user: FakeUser, count: int) -> None:
        for i in range(count):
            await user.send(f"سلام {i}")

    async def phase(self, index: int, phase: Phase, owners: list[int], flooder: int) -> PhaseResult:
        api, admin = self.api, self.admin
        window = phase.quick_window if self.quick else phase.window
        tag = f"[drill {index + 1}: {phase.key}]"
        notice = f"📣 Notice {tag}: the estate's water is cut on Wednesday from 9 to 12."
        notes: list[str] = []
        attempts0 = admin.attempts
        composed = await admin.compose(notice)
        calls0 = len(api.calls)
        switch_on(api, phase)
        began = time.monotonic()
        background: list[asyncio.Task[Any]] = []
        if phase.key == "kills":
            background.append(asyncio.create_task(self.kills(window, began, notes)))
        if phase.key == "flooder":
            background.append(asyncio.create_task(self.flood(api.user(flooder), 2000)))
        runs: list[Awaitable[OwnerRun]] = []

        async def later(owner: Owner, delay: float) -> OwnerRun:
            await asyncio.sleep(delay)
            return await owner.journey()

        patience = SLOW_PATIENCE if phase.key == "lat-5s" else PATIENCE
        for uid in owners:
            owner = Owner(api.user(uid), random.Random(self.rng.random()), patience, press_latest=self.press_latest)
            runs.append(later(owner, self.rng.uniform(0, window / 2)))
        owners_task = asyncio.ensure_future(asyncio.gather(*runs))
        pressed = time.monotonic()
        broadcast_id = await admin.send_now(notice, tag, composed)
        if broadcast_id is None:
            notes.append("the broadcast was never created")
        rest = window - (time.monotonic() - began)
        if rest > 0:
            await asyncio.sleep(rest)
        for task in background:
            await task
        window_end = time.monotonic()
        api.clear_faults()
        injected = Counter(s for _, _, s in api.calls[calls0:] if s >= 400)
        report = None
        if broadcast_id is not None:
            report = await admin.wait_report(broadcast_id, len(self.firms) / self.send_rate * 3 + 120)
        results = await owners_task
        await asyncio.sleep(1.0)  # anything sent twice would show up now
        sends = sorted(t for t, chat, text in api.stored if tag in text and chat != ADMIN_ID)
        in_window = [t for t in sends if t <= window_end]
        if len(in_window) > 1:
            end = window_end if len(in_window) < len(sends) else in_window[-1]
            rate = (len(in_window) - 1) / max(end - in_window[0], 1e-6)
        else:  # a very slow phase: what little went out, over the time since «Send now»
            rate = len(in_window) / (window_end - pressed)
        duplicates = api.duplicates(containing=tag, chats=self.firms)
        if injected:
            notes.append("errors answered during the window: " + ", ".join(f"{k}×{v}" for k, v in sorted(injected.items())))
        if admin.attempts - attempts0 > 1:
            notes.append(f"«Send now» took {admin.attempts - attempts0} attempts")
        missed = sorted((t - began, run.uid, n, what) for run in results for t, n, what in run.missed)
        if missed:
            notes.append("no reply to: " + ", ".join(f"{what} (owner {uid % 1000}, q {n}) sent at {t:.1f} s"
                                                     for t, uid, n, what in missed))
        gave_up = [r for r in results if r.gave_up]
        if gave_up:
            notes.append(f"{len(gave_up)} owners gave up" + (f" (first error: {gave_up[0].error})" if any(
                r.error for r in gave_up) else ""))
        return PhaseResult(phase, list(results), broadcast_id, report, rate, len(in_window), duplicates,
                           admin.attempts - attempts0, time.monotonic() - began, notes)


# ---------------------------------------------------------------------------------------------
# Lost answers: what the database holds at the end


async def stored(db_path: Path, round_id: int, owners: list[int]) -> dict[int, tuple[dict[str, str], str | None]]:
    """Each owner's answers (as JSON texts) and submission status."""
    out: dict[int, tuple[dict[str, str], str | None]] = {}
    async with Database(db_path) as db, db.read() as repo:
        for uid in owners:
            firm = await repo.firms.by_owner(uid)
            submission = await repo.submissions.for_firm(round_id=round_id, firm_id=firm.id) if firm else None
            if submission is None:
                out[uid] = ({}, None)
                continue
            answers = await repo.answers.all(submission.id)
            out[uid] = ({q: json.dumps(v, sort_keys=True, ensure_ascii=False) for q, v in answers.items()},
                        submission.status)
    return out


def count_lost(results: list[PhaseResult], held: dict[int, tuple[dict[str, str], str | None]]) -> None:
    """An answer is lost when its reply never came, or when the database does not hold it as
    most owners' identical answers do (every owner gives the same answers)."""
    qids = [q.id for q in load_questionnaire(1).questions_for("C")]
    assert len(qids) == TOTAL_QUESTIONS, (len(qids), TOTAL_QUESTIONS)
    modal: dict[str, str] = {}
    for qid in qids:
        values = Counter(held[uid][0][qid] for uid in held if qid in held[uid][0])
        if values:
            modal[qid] = values.most_common(1)[0][0]
    for result in results:
        for run in result.owners:
            answers = held[run.uid][0]
            bad = {n for n in run.sent if answers.get(qids[n - 1]) != modal.get(qids[n - 1])}
            result.lost += len(bad | run.no_reply)
            result.lost_unanswered += len(run.no_reply)
            result.lost_unstored += len(bad)


def apologies(api: DrillApi, owners: list[int]) -> int:
    return sum(is_apology(e) for uid in owners for e in api.users[uid].events)


def p99(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


def print_table(results: list[PhaseResult], rate: float) -> None:
    head = ("phase", "reply p99 ms", "lost", "apologies", "bulk msg/s", "dups", "broadcast report (as the bot said)")
    rows = [head, tuple("-" * 3 for _ in head)]
    for r in results:
        latencies = [x for run in r.owners for x in run.latencies]
        rows.append((r.phase.label, f"{p99(latencies) * 1000:,.0f}", str(r.lost), str(r.apologies),
                     f"{r.bulk_rate:.2f}" if r.bulk_rate < 1 else f"{r.bulk_rate:.1f}", str(r.duplicates),
                     report_cell(r.report)))
    print(f"\nconfigured send rate {rate:g} msg/s; bulk msg/s = broadcast messages stored by the fake per second"
          " while the fault was on")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print("\nlost = replies that never came ∪ answers the database does not hold as sent, per phase:")
    for r in results:
        submitted = sum(run.submitted for run in r.owners)
        print(f"  {r.phase.label}: {r.lost_unanswered} unanswered, {r.lost_unstored} not stored;"
              f" {submitted}/{len(r.owners)} owners submitted; {r.bulk_in_window} notices out while the fault"
              f" was on; {r.seconds:.0f} s"
              + "".join(f"; {n}" for n in r.notes))


async def run(args: argparse.Namespace) -> None:
    quick = args.quick
    per_phase = args.owners or (20 if quick else 100)
    firm_count = args.firms or (300 if quick else 2000)
    phases = [p for p in PHASES if not args.phases or p.key in args.phases.split(",")]
    needed = per_phase * len(phases) + 1
    if firm_count < needed:
        raise SystemExit(f"{firm_count} firms cannot hold {len(phases)} phases of {per_phase} owners and a flooder")
    with tempfile.TemporaryDirectory(prefix="khooshe-faults-") as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        db_path = folder / "khooshe.db"
        firms = await prepare(db_path, firm_count)
        async with Database(db_path) as db, db.read() as repo:
            current = await repo.rounds.open_round()
        assert current is not None
        async with DrillApi(seed=args.seed) as api:
            for uid in firms:
                api.user(uid)
            drill = Drill(api, db_path, folder, firms, owners_per_phase=per_phase, quick=quick, seed=args.seed)
            drill.press_latest = args.press_latest
            print(f"fault drill: {len(phases)} phases, {per_phase} owners each, broadcasts to {firm_count} firms"
                  f"{' (quick)' if quick else ''}", flush=True)
            started = time.monotonic()
            results: list[PhaseResult] = []
            closing: list[str] = []
            try:
                await drill.start_bot()
                for i, phase in enumerate(phases):
                    owners = firms[i * per_phase:(i + 1) * per_phase]
                    result = await drill.phase(i, phase, owners, flooder=firms[-1])
                    result.apologies = apologies(api, owners)
                    results.append(result)
                    done = sum(r.submitted for r in result.owners)
                    print(f"  {phase.label}: {result.seconds:.0f} s, {done}/{len(owners)} owners submitted,"
                          f" broadcast #{result.broadcast_id}: {report_cell(result.report)}"
                          + "".join(f"; {n}" for n in result.notes), flush=True)
                closing = await drill.admin.close_and_publish(current.id, timeout=firm_count / 10 + 300)
            finally:
                drill.bot.stop()
            held = await stored(db_path, current.id, firms[:per_phase * len(phases)])
            count_lost(results, held)
            print_table(results, drill.send_rate)
            print("\nend of the round: " + " / ".join(closing))
            errors = [line for line in drill.log_tail(10**9).splitlines() if " ERROR " in line]
            print(f"bot log: {len(errors)} ERROR lines; whole run {time.monotonic() - started:.0f} s")
            for line in errors[-5:]:
                print("  " + line[:240])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="20 owners per phase, 300 firms, short phases")
    parser.add_argument("--owners", type=int, default=0, help="owners answering per phase (default 100, quick 20)")
    parser.add_argument("--firms", type=int, default=0, help="firms the broadcasts go to (default 2000, quick 300)")
    parser.add_argument("--phases", default="", help="comma-separated phase keys to run (default: all): "
                        + ",".join(p.key for p in PHASES))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--press-latest", action="store_true", help="owners press the newest message with the"
                        " button, not the one they answer (how the drill counted before 2026-12-04)")
    parser.add_argument("--keep", default="", help="a folder to keep the database and the bot's log in")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
