"""Small factories that put firms, submissions and moments straight into the database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.domain.national_id import check_digit
from bot.domain.questionnaire import load_questionnaire
from storage.database import Database
from tests.support.clock import TEHRAN, tehran  # noqa: F401  (tests import tehran from here)

#: The free-text questions of the questionnaire every test round uses.
FREE_TEXT = load_questionnaire(1).free_text_ids


def national_id(n: int) -> str:
    first_ten = f"10{n:08d}"
    if int(first_ten[3:9]) == 0:
        first_ten = f"11{n:08d}"
    return first_ten + str(check_digit(first_ten))


async def add_firm(
    db: Database, owner_id: int, *, name: str | None = None, lang: str = "fa",
    estate_id: int = 1, consent: bool = True, sector: str = "C", muted: bool = False,
) -> int:
    """Registers a firm for ``owner_id`` in ``estate_id`` and returns the firm id."""
    async with db.transaction() as repo:
        await repo.users.ensure(user_id=owner_id, language=lang, first_name=f"Owner {owner_id}")
        await repo.users.set_muted(user_id=owner_id, muted=muted)
        estate = await repo.estates.get(estate_id)
        assert estate is not None
        firm = await repo.firms.save(owner_id=owner_id, fields={
            "name": name or f"بنگاه {owner_id}", "national_id": national_id(owner_id),
            "province_id": estate.province_id, "estate_id": estate_id, "cluster_id": None,
            "sector": sector, "employees": 20, "founded_year": 1390, "phone": "+989120000000",
            "consent_public": consent,
        })
    return firm.id


async def submit(db: Database, round_id: int, firm_id: int, answers: dict[str, Any], *, status: str = "submitted") -> None:
    """Stores answers for the firm and, by default, submits them."""
    async with db.transaction() as repo:
        submission = await repo.submissions.start(round_id=round_id, firm_id=firm_id, cursor="review")
        for qid, value in answers.items():
            await repo.answers.put(submission_id=submission.id, qid=qid, value=value)
        if status == "submitted":
            await repo.submissions.submit(submission.id, free_text=FREE_TEXT)


def full_answers(level: int) -> dict[str, Any]:
    """A complete, valid set of answers; ``level`` 0–2 makes weaker or stronger firms."""
    yes = "yes" if level >= 1 else "no"
    return {
        "T1": yes, "T2": "yes", "T3": ["social"] if level < 2 else ["own_site", "marketplace", "social"],
        "T4": ["paper", "spreadsheet", "erp"][level], "T5": ["manual", "spreadsheet", "mes"][level],
        "T6": ["visual", "manual_gauges", "automated"][level],
        "T7": ["cash_cheque", "bank_pos", "online_gateway"][level], "T8": 20 * level, "T9": yes,
        "T10": 30 * level, "Q1": yes, "Q2": ["iso9001"] if level else ["none"], "Q3": "mandatory" if level else "no",
        "Q4": yes, "Q5": "no", "E1": [100 - 30 * level, 10 * level, 20 * level], "E2": 1398 if level else "none",
        "E3": 2 * level, "E4": yes, "E5": yes, "I1": yes, "I2": "yes", "I3": yes, "I4": 20 * level, "I5": "no",
        "P1": ["power"] if level else ["working_capital"], "P2": "power" if level else "working_capital",
        "P3": None,
    }


async def stored_answers(db_path: Path, owner_id: int) -> dict[str, object]:
    """The answers an owner's submission to the open round holds."""
    async with Database(db_path) as db, db.read() as repo:
        firm = await repo.firms.by_owner(owner_id)
        round_ = await repo.rounds.open_round()
        assert firm is not None and round_ is not None
        submission = await repo.submissions.for_firm(round_id=round_.id, firm_id=firm.id)
        assert submission is not None
        return await repo.answers.all(submission.id)
