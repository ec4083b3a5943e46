"""The limits of a CSV import sent in the chat: the bytes actually downloaded (the size a
message states is optional), the rows of one file, and each field's length and characters; a
file past a limit is refused as a whole with the limit named, a bad line is named in the report,
and other users are served all the while."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from bot.emulator import FakeBotApi
from storage.database import Database
from tests.support.khooshe import ADMIN_ID, Khooshe, seed, start_khooshe, stop_khooshe

OTHER = 6101
HEADER = "province,name,kind\n"


@pytest_asyncio.fixture
async def bot(api: FakeBotApi, db_path: Path) -> AsyncIterator[Khooshe]:
    async with Database(db_path) as db:
        await seed(db, open_round=False)
    running = await start_khooshe(api, db_path, seeded=True, tick_seconds=3600)
    yield running
    await stop_khooshe(running)


def estates_csv(rows: int) -> bytes:
    return (HEADER + "".join(f"Tehran,Limit Test Estate {n},estate\n" for n in range(rows))).encode()


async def estates_stored(khooshe: Khooshe) -> int:
    async with khooshe.db.read() as repo:
        return await repo.estates.count()


async def test_a_file_over_the_byte_cap_sent_without_its_size_is_refused_while_others_are_served(bot: Khooshe) -> None:
    admin = bot.user(ADMIN_ID, "Admin", "en")
    other = bot.user(OTHER)
    before = await estates_stored(bot)
    data = estates_csv(70_000)  # about 2.6 MB
    assert len(data) > 2 * 1024 * 1024
    await admin.send_document("estates.csv", data, caption="/import estates", state_size=False)
    await other.send("/start")
    await other.wait_for("بنگاه خود را ثبت کنید", timeout=30)
    refusal = await admin.wait_for("larger than", timeout=30)
    assert "larger than 2 MB; nothing was imported" in refusal.text
    assert await estates_stored(bot) == before
    await bot.drain()
    assert await estates_stored(bot) == before


async def test_a_file_over_the_row_cap_is_refused_as_a_whole(api: FakeBotApi, db_path: Path) -> None:
    """In the worker process, as in production: the refusal crosses back from it."""
    async with Database(db_path) as db:
        await seed(db, open_round=False)
    bot = await start_khooshe(api, db_path, seeded=True, tick_seconds=3600, offload="process")
    try:
        admin = bot.user(ADMIN_ID)
        before = await estates_stored(bot)
        await admin.send_document("estates.csv", estates_csv(20_001), caption="/import estates")
        refusal = await admin.wait_for("بیش از", timeout=60)
        assert "بیش از ۲۰٬۰۰۰ سطر" in refusal.text and "چیزی وارد نشد" in refusal.text
        assert await estates_stored(bot) == before
    finally:
        await stop_khooshe(bot)


async def test_a_line_with_a_control_character_or_an_overlong_field_is_named(bot: Khooshe) -> None:
    admin = bot.user(ADMIN_ID, "Admin", "en")
    text = (HEADER
            + "Tehran,Good Limits Estate,estate\n"        # line 2: added
            + "Tehran,Bell\x07Estate,estate\n"             # line 3: a control character
            + "Tehran,Null\x00Estate,estate\n"             # line 4: NUL
            + 'Tehran,"Broken\nName",estate\n'             # lines 5-6: a line break inside quotes
            + f"Tehran,{'L' * 121},estate\n")              # line 7: one character too many
    await admin.send_document("estates.csv", text.encode(), caption="/import estates")
    report = await admin.wait_for("Estates import", timeout=30)
    assert "added 1, skipped 0 (already there), rejected 4" in report.text
    assert "line 3: the name holds a control character" in report.text
    assert "line 4: the name holds a control character" in report.text
    assert "line 6: the name holds a control character" in report.text
    assert "line 7: the name is longer than 120 characters" in report.text
    async with bot.db.read() as repo:
        names = set((await repo.estates.names()).values())
    assert "Good Limits Estate" in names
    assert [n for n in names if n.startswith(("Bell", "Null", "Broken", "LLL"))] == []


async def test_a_line_the_csv_reader_cannot_read_is_named_and_nothing_is_imported(bot: Khooshe) -> None:
    admin = bot.user(ADMIN_ID, "Admin", "en")
    before = await estates_stored(bot)
    text = HEADER + "Tehran,Before The Break Estate,estate\n" + "Tehran,Carriage\rReturn,estate\n"
    await admin.send_document("estates.csv", text.encode(), caption="/import estates")
    refusal = await admin.wait_for("cannot be read", timeout=30)
    assert refusal.text.startswith("Line 3 cannot be read as CSV")
    assert "nothing was imported" in refusal.text
    assert await estates_stored(bot) == before


async def test_a_clusters_file_sent_as_estates_is_refused_with_the_header_expected(bot: Khooshe) -> None:
    admin = bot.user(ADMIN_ID, "Admin", "en")
    before = await estates_stored(bot)
    await admin.send_document("clusters.csv", b"province,name,sector\nTehran,Garments,C\n",
                              caption="/import estates")
    refusal = await admin.wait_for("This looks like a clusters file", timeout=30)
    assert "first line is: province,name,kind" in refusal.text
    assert await estates_stored(bot) == before
