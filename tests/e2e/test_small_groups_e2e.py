"""A manager sees pressure points and notes only of groups of at least five submitted
assessments: in an estate of two firms, the one note listed beside "not answered: <the other
firm>" would be known to be the answering firm's.  The dashboard and the export say why."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from tests.support.factories import add_firm, full_answers, submit
from tests.support.journeys import fa_digits
from tests.support.khooshe import ADMIN_ID, Khooshe

MANAGER = 7101
NOTE = "آب شهرک سه روز در هفته قطع است"
WHY = "دست‌کم ۵ بنگاه"
POWER_CUTS = "قطعی برق"  # the problem full_answers(1) reports


async def two_firms_one_answered(khooshe: Khooshe) -> int:
    """Estate 1: a firm that submitted with a note, and one that has not answered."""
    async with khooshe.db.transaction() as repo:
        await repo.access.add_manager(user_id=MANAGER, estate_id=1, by=ADMIN_ID)
        current = await repo.rounds.open_round()
    assert current is not None
    answered = await add_firm(khooshe.db, 6101, name="بنگاه پاسخ‌داده")
    await submit(khooshe.db, current.id, answered, {**full_answers(1), "P3": NOTE})
    await add_firm(khooshe.db, 6102, name="بنگاه ساکت")
    return current.id


async def three_more_and_all_answered(khooshe: Khooshe, round_id: int) -> None:
    async with khooshe.db.read() as repo:
        silent = await repo.firms.by_owner(6102)
    assert silent is not None
    await submit(khooshe.db, round_id, silent.id, full_answers(1))
    for owner in (6103, 6104, 6105):
        await submit(khooshe.db, round_id, await add_firm(khooshe.db, owner), full_answers(1))


async def dashboard(khooshe: Khooshe) -> str:
    manager = khooshe.user(MANAGER)
    await manager.settle()
    await manager.send("/dashboard")
    first = await manager.wait_for("داشبورد")
    return "\n".join(e.text for e in [first, *await manager.settle()] if e.is_message)


async def test_dashboard_shows_notes_and_pressure_points_only_from_five_respondents(khooshe: Khooshe) -> None:
    round_id = await two_firms_one_answered(khooshe)
    text = await dashboard(khooshe)
    assert NOTE not in text and POWER_CUTS not in text
    assert WHY in text and f"تاکنون {fa_digits(1)} بنگاه" in text
    assert "بنگاه ساکت" in text  # who has not answered is still listed

    await three_more_and_all_answered(khooshe, round_id)
    text = await dashboard(khooshe)
    assert NOTE in text and f"{POWER_CUTS}: {fa_digits(5)}" in text
    assert WHY not in text


async def test_export_shows_notes_and_pressure_points_only_from_five_respondents(khooshe: Khooshe) -> None:
    async def sheets() -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
        manager = khooshe.user(MANAGER)
        await manager.settle()
        await manager.send("/export 1")
        doc = await manager.wait_for(lambda e: e.is_message and e.kind == "document")
        assert doc.data is not None
        wb = load_workbook(io.BytesIO(doc.data))
        return list(wb.worksheets[1].values)[1:], list(wb.worksheets[2].values)[1:]

    round_id = await two_firms_one_answered(khooshe)
    problems, notes = await sheets()
    assert len(problems) == 1 and WHY in str(problems[0][0])
    assert len(notes) == 1 and WHY in str(notes[0][0])

    await three_more_and_all_answered(khooshe, round_id)
    problems, notes = await sheets()
    assert {r[0]: r[1] for r in problems}[POWER_CUTS] == 5
    assert notes == [(NOTE, "Autumn 1405")]  # the note, and the round it was written in
