"""Exports, CSV imports and scoring in the worker process (``KHOOSHE_OFFLOAD=process``, the
production setting; the other tests use threads): the same results as in threads."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from bot.emulator import FakeBotApi
from bot.services import offload
from bot.services.ranking import score_round
from storage.database import Database
from tests.support.journeys import publish_round
from tests.support.khooshe import ADMIN_ID, Khooshe, start_khooshe, stop_khooshe
from tests.support.scenarios import OWNERS, SILENT, prepare_published_world

CSV_ESTATES = (
    "province,name,kind\n"
    "Tehran,Offload Test Estate,park\n"
    "تهران,شهرک صنعتی عباس‌آباد,estate\n"
    "Atlantis,Nowhere Estate,estate\n"
)


async def _stored(db: Database, round_id: int) -> tuple[list[Any], list[Any]]:
    async with db.read() as repo:
        async with repo.conn.execute(
            "SELECT * FROM scores WHERE round_id = ? ORDER BY firm_id", (round_id,)) as cur:
            scores = [tuple(r) for r in await cur.fetchall()]
        async with repo.conn.execute(
            "SELECT * FROM peer_stats WHERE round_id = ? ORDER BY scope, scope_id, metric", (round_id,)) as cur:
            peers = [tuple(r) for r in await cur.fetchall()]
    return scores, peers


async def _export(khooshe: Khooshe) -> list[list[tuple[Any, ...]]]:
    admin = khooshe.user(ADMIN_ID)
    await admin.send("/exportall")
    doc = await admin.wait_for(lambda e: e.is_message and e.kind == "document", timeout=30)
    assert doc.data is not None
    return [list(ws.values) for ws in load_workbook(io.BytesIO(doc.data)).worksheets]


async def test_the_worker_process_scores_exports_and_imports_like_threads(api: FakeBotApi, db_path: Path) -> None:
    async with Database(db_path) as db:
        round_id = await prepare_published_world(db)
    for uid in (*OWNERS, SILENT, 5200):
        api.user(uid)
    khooshe = await start_khooshe(api, db_path, seeded=True, tick_seconds=3600, offload="process")
    try:
        await khooshe.tick()  # closes the round and scores it, in the worker process
        assert offload.mode() == "process" and offload._offload.pool is not None
        in_process = await _stored(khooshe.db, round_id)
        assert len(in_process[0]) == 7 and in_process[1]
        await publish_round(khooshe.user(ADMIN_ID), round_id)
        await khooshe.drain()
        book = await _export(khooshe)

        admin = khooshe.user(ADMIN_ID)
        await admin.send_document("estates.csv", CSV_ESTATES.encode(), caption="/import estates")
        report = await admin.wait_for("ورود شهرک", timeout=30)
        assert "۱ افزوده شد، ۱ از قبل بود، ۱ رد شد" in report.text
        assert "سطر ۴: استان ناشناخته 'Atlantis'" in report.text
        async with khooshe.db.read() as repo:
            assert "Offload Test Estate" in (await repo.estates.names()).values()

        # The same again in threads: the same rows, the same workbook.
        await offload.shutdown()
        offload.configure("thread")
        await score_round(khooshe.db, round_id)
        assert await _stored(khooshe.db, round_id) == in_process
        assert await _export(khooshe) == book
    finally:
        await stop_khooshe(khooshe)
    assert offload._offload.pool is None
