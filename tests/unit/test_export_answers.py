"""The answers workbook (/exportanswers), built from a real database in the test's thread."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from bot.services.exports import answers_workbook
from bot.settings import Settings
from storage.database import Database
from tests.support.factories import add_firm, full_answers, submit
from tests.support.khooshe import seed


async def answers_sheet(db: Database, version: int) -> dict[str, tuple[str, float | None]]:
    await seed(db)
    async with db.transaction() as repo:
        await repo.conn.execute("UPDATE rounds SET questionnaire_version = ?", (version,))
        current = await repo.rounds.open_round()
    assert current is not None
    firm = await add_firm(db, 7001, name="Firm A", lang="en")
    await submit(db, current.id, firm, full_answers(0))  # no certificate, no exports
    built = await answers_workbook(db, None, "en", Settings(_env_file=None, token="1:x"))  # type: ignore[call-arg]
    assert built is not None
    sheet = load_workbook(io.BytesIO(built[1]))["Answers"]
    return {r[3]: (r[5], r[6]) for r in sheet.iter_rows(min_row=2, values_only=True)}


async def test_a_question_an_earlier_answer_skips_shows_its_implied_value_and_points(db: Database) -> None:
    rows = await answers_sheet(db, 2)
    assert rows["E3"] == ("0 (skipped: implied by an earlier answer)", 0.0)


async def test_a_question_the_firm_answered_is_not_marked_skipped(db: Database) -> None:
    rows = await answers_sheet(db, 2)
    assert rows["E4"] == ("No", 0.0)
