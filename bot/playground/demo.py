"""The playground's demo world: the sample estates and clusters, 60 firms in three estates, a
round closed, scored and published, and a round open with half the firms answered.

Seeded through the same repositories and services the bot uses, so what the personas see is
what a real deployment would show."""

from __future__ import annotations

import random
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib.resources import files
from typing import Any

from bot.clock import Clock
from bot.domain.national_id import check_digit
from bot.domain.questionnaire import load_questionnaire
from bot.domain.text import localize_digits
from bot.services.places_import import add_clusters, add_estates
from bot.services.ranking import score_round
from bot.services.rounds import RoundPolicy, RoundService
from bot.settings import Settings
from storage.database import Database

SAMPLE = files("bot.playground") / "sample"
ADMIN = 900_001
MANAGER = 900_002
RESULT_OWNER = 700_001  # the first demo firm: scored, published, consenting
FIRST_OWNER = RESULT_OWNER
FIRMS_PER_ESTATE = 20
OWNERS = range(FIRST_OWNER, FIRST_OWNER + FIRMS_PER_ESTATE * 3)
# The manager's two estates and a third: three estates of Tehran province (the sample's first rows).
DEMO_ESTATES = 3
MANAGED_ESTATES = 2
NAMES = tomllib.loads((files("bot.playground") / "demo.toml").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class DemoWorld:
    """Who is who in the seeded world."""

    owners: tuple[int, ...]
    estates: tuple[int, ...]
    closed_round: int
    open_round: int


def national_id(n: int) -> str:
    """A valid, made-up 11-digit national ID for the n-th demo firm."""
    first_ten = f"14{n:08d}"
    return first_ten + str(check_digit(first_ten))


def answers(level: int, rng: random.Random) -> dict[str, Any]:
    """A complete, valid answer set; ``level`` 0–2 makes a weaker or stronger firm, and each
    question strays a level either way now and then so firms differ."""

    def lv() -> int:
        return max(0, min(2, level + rng.choice((-1, 0, 0, 0, 1))))

    def yes() -> str:
        return "yes" if lv() >= 1 else "no"

    return {
        "T1": yes(), "T2": "yes", "T3": ["social"] if lv() < 2 else ["own_site", "marketplace", "social"],
        "T4": ["paper", "spreadsheet", "erp"][lv()], "T5": ["manual", "spreadsheet", "mes"][lv()],
        "T6": ["visual", "manual_gauges", "automated"][lv()],
        "T7": ["cash_cheque", "bank_pos", "online_gateway"][lv()], "T8": 10 * lv() + rng.randint(0, 15), "T9": yes(),
        "T10": 25 * lv() + rng.randint(0, 10), "Q1": yes(), "Q2": ["iso9001"] if lv() else ["none"],
        "Q3": "mandatory" if lv() else "no", "Q4": yes(), "Q5": "no",
        "E1": [100 - 30 * level, 10 * level, 20 * level], "E2": 1395 + level if lv() else "none",
        "E3": 2 * lv(), "E4": yes(), "E5": yes(), "I1": yes(), "I2": yes(), "I3": yes(), "I4": 15 * lv(), "I5": "no",
        "P1": rng.choice((["power"], ["working_capital"], ["power", "raw_materials"])),
        "P2": rng.choice(("power", "working_capital")), "P3": None,
    }


def firm_name(i: int) -> str:
    words, names = NAMES["firm_words"], NAMES["firm_names"]
    return localize_digits(f"{words[i % len(words)]} {names[(i * 7) % len(names)]} {i + 1}", "fa")


async def seed_demo(db: Database, settings: Settings, clock: Clock, *, seed: int = 1405) -> DemoWorld:
    """Fills an empty database with the demo world, at the clock's moment."""
    rng = random.Random(seed)
    now = clock.now()
    async with db.transaction() as repo:
        await add_estates(repo, (SAMPLE / "estates.csv").read_text(encoding="utf-8-sig"))
        await add_clusters(repo, (SAMPLE / "clusters.csv").read_text(encoding="utf-8-sig"))
        estates = [e for e in [await repo.estates.get(n) for n in range(1, DEMO_ESTATES + 1)] if e is not None]
        closed = await repo.rounds.create(
            title=NAMES["closed_round"], questionnaire_version=1, opens_at=now - timedelta(days=75),
            closes_at=now - timedelta(days=45), state="open",
        )
        owners = []
        firms = []
        for i in range(FIRMS_PER_ESTATE * len(estates)):
            estate = estates[i % len(estates)]
            owner = FIRST_OWNER + i
            owners.append(owner)
            await repo.users.ensure(user_id=owner, language="fa", first_name=localize_digits(f"{NAMES['owner']} {i + 1}", "fa"))
            firm = await repo.firms.save(owner_id=owner, fields={
                "name": firm_name(i), "national_id": national_id(i + 1), "province_id": estate.province_id,
                "estate_id": estate.id, "cluster_id": None, "sector": "C", "employees": rng.choice((8, 15, 30, 60, 120)),
                "founded_year": rng.randint(1370, 1400), "phone": f"+98912{i + 1:07d}", "consent_public": i % 5 != 3,
            })
            firms.append(firm.id)
            level = 2 if owner == RESULT_OWNER else rng.choice((0, 1, 1, 2))
            if i % 10 != 9:  # one firm in ten never answered the closed round
                await _submit(repo, closed.id, firm.id, answers(level, rng))
        for estate in estates[:MANAGED_ESTATES]:
            await repo.access.add_manager(user_id=MANAGER, estate_id=estate.id, by=ADMIN)
        await repo.users.ensure(user_id=MANAGER, language="fa", first_name=NAMES["manager"])
        await repo.users.ensure(user_id=ADMIN, language="fa", first_name=NAMES["admin"])
        await repo.rounds.update(closed.id, closes_at=now - timedelta(days=45))
        await repo.rounds.set_state(closed.id, "closed")
    await score_round(db, closed.id)
    rounds = RoundService(db, clock, RoundPolicy.from_settings(settings))
    await rounds.publish(ADMIN, closed.id)
    async with db.transaction() as repo:
        current = await repo.rounds.create(
            title=NAMES["open_round"], questionnaire_version=1, opens_at=now - timedelta(days=3),
            closes_at=now + timedelta(days=12), state="open",
        )
        for i, firm_id in enumerate(firms):
            if owners[i] != RESULT_OWNER and i % 2 == 0:
                await _submit(repo, current.id, firm_id, answers(rng.choice((0, 1, 2)), rng))
    # The publication's summaries and charts go out when the bot starts; announced long ago.
    return DemoWorld(tuple(owners), tuple(e.id for e in estates), closed.id, current.id)


async def _submit(repo: Any, round_id: int, firm_id: int, given: dict[str, Any]) -> None:
    submission = await repo.submissions.start(round_id=round_id, firm_id=firm_id, cursor="review")
    for qid, value in given.items():
        await repo.answers.put(submission_id=submission.id, qid=qid, value=value)
    await repo.submissions.submit(submission.id, free_text=load_questionnaire(1).free_text_ids)


def demo_moment(real_now: datetime, settings: Settings) -> datetime:
    """Where the demo's clock starts: 10:00 today in the bot's time zone (tomorrow if that is a
    quiet day), so the first minute is never in quiet hours."""
    local = real_now.astimezone(settings.zone)
    start = local.replace(hour=10, minute=0, second=0, microsecond=0)
    while start.weekday() in settings.quiet_days:
        start += timedelta(days=1)
    return start
