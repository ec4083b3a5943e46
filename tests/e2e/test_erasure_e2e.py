""""Delete my data" leaves no trace: after an owner who registered, answered with a note, and
received a broadcast deletes their data, neither a table row nor a byte of the database's files
(the main file, the write-ahead log and its index, read raw) holds their firm's name, national
ID, phone, the note or their first name, while the bot runs and after it stops; and nothing kept
links the user to the tombstone's scores."""

from __future__ import annotations

import json
from pathlib import Path

import aiosqlite

from bot.delivery.keys import firms_prefix
from storage.database import Database
from tests.support.journeys import TOTAL_QUESTIONS, answer_questions, fa_digits, register
from tests.support.khooshe import ADMIN_ID, Khooshe, stop_khooshe
from tests.support.scenarios import OWNERS

OWNER = 6001
FIRST_NAME = "Shirindokht"
NAME = "صنایع شیمیایی زرین‌کیمیا"
NATIONAL_ID = "10861512340"
PHONE = "09121112233"
#: A free-text note shaped like an option id (letters, digits, underscore).
NOTE = "ZarrinKimia_09121112233"


def forms(value: str) -> set[bytes]:
    """The ways a value can sit in the files: UTF-8, JSON-escaped, and for numbers the plain
    digits (ASCII and Persian) without the phone's leading 0 or country code."""
    found = {value.encode(), json.dumps(value)[1:-1].encode()}
    if value.isdigit():
        digits = value.lstrip("0")
        found |= {digits.encode(), fa_digits(int(digits)).encode()}
    return found


SECRETS = {what: forms(value) for what, value in
           {"name": NAME, "national ID": NATIONAL_ID, "phone": PHONE, "note": NOTE, "first name": FIRST_NAME}.items()}


def traces_in_files(db_path: Path) -> list[str]:
    """Which secrets are in which of the database's files, read as raw bytes."""
    found = []
    for suffix in ("", "-wal", "-shm"):
        path = Path(f"{db_path}{suffix}")
        if not path.exists():
            continue
        data = path.read_bytes()
        found += [f"{what} in {path.name}" for what, needles in SECRETS.items() if any(n in data for n in needles)]
    return found


async def traces_in_tables(conn: aiosqlite.Connection) -> list[str]:
    """Which secrets are in which table's rows."""
    async with conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'") as cur:
        tables = [r[0] for r in await cur.fetchall()]
    found = set()
    for table in tables:
        async with conn.execute(f'SELECT * FROM "{table}"') as cur:
            for row in await cur.fetchall():
                cells = [v.encode() if isinstance(v, str) else v for v in row if isinstance(v, str | bytes)]
                for what, needles in SECRETS.items():
                    if any(n in cell for cell in cells for n in needles):
                        found.add(f"{what} in {table}")
    return sorted(found)


async def register_answer_and_get_a_broadcast(khooshe: Khooshe) -> None:
    owner = khooshe.user(OWNER, FIRST_NAME)
    await register(owner, name=NAME, national_id=NATIONAL_ID, phone=f"+98 {PHONE[1:4]} {PHONE[4:7]} {PHONE[7:]}")
    await owner.press("📋 شروع خودارزیابی")
    await answer_questions(owner, 1, TOTAL_QUESTIONS - 1)
    await owner.wait_for(f"سؤال {fa_digits(TOTAL_QUESTIONS)} از")
    await owner.send(NOTE)
    await owner.wait_for("پاسخ‌هایتان را مرور کنید")
    await owner.press("✅ ارسال")
    await owner.wait_for("امتیازهای موقت")
    await owner.settle()

    admin = khooshe.user(ADMIN_ID, "Admin", language_code="en")
    await admin.send("/broadcast")
    await admin.wait_for("Who should receive it")
    await admin.press("All firms")
    await admin.wait_for("Firms that will receive it")
    await admin.press("Continue")
    await admin.wait_for("Now send the notice")
    await admin.send("Water cut on Wednesday")
    await admin.wait_for("It will go to")
    await admin.press("Send now")
    await admin.wait_for("is on its way")
    await khooshe.drain()
    keeper = khooshe.services.broadcasts
    assert keeper is not None
    await keeper.tick(khooshe.services.clock.now())
    await khooshe.drain()
    await admin.wait_for("is finished")
    await owner.wait_for("Water cut on Wednesday")


async def delete_my_data(khooshe: Khooshe) -> None:
    owner = khooshe.user(OWNER, FIRST_NAME)
    await owner.settle()
    await owner.send("/settings")
    await owner.wait_for("یادآوری")
    await owner.press("🗑 حذف داده‌های من")
    await owner.wait_for("برگشت‌پذیر نیست")
    await owner.press("🗑 بله، حذف شود")
    await owner.wait_for("پاک شد")
    await owner.settle()


async def test_deleted_values_are_in_no_row_and_no_byte_of_the_database(khooshe: Khooshe, db_path: Path) -> None:
    await register_answer_and_get_a_broadcast(khooshe)
    # The values are there to find before (the search itself works).
    async with khooshe.db.read() as repo:
        before = await traces_in_tables(repo.conn)
    assert {"name in firms", "national ID in firms", "phone in firms", "note in answers",
            "first name in users"} <= set(before)

    await delete_my_data(khooshe)
    # While the bot still runs.
    async with khooshe.db.read() as repo:
        assert await traces_in_tables(repo.conn) == []
    assert traces_in_files(db_path) == []

    # And after it stops.
    await stop_khooshe(khooshe)
    assert traces_in_files(db_path) == []
    async with Database(db_path) as db, db.read() as repo:
        assert await traces_in_tables(repo.conn) == []


async def test_nothing_kept_links_the_user_to_the_tombstone(published: tuple[Khooshe, int]) -> None:
    """The scores of a deleted firm stay (published aggregates); the messages it was sent and
    the audit log no longer say whose they were."""
    khooshe, round_id = published
    owner_id = OWNERS[2]
    async with khooshe.db.read() as repo:
        firm = await repo.firms.by_owner(owner_id)
        assert firm is not None
        sent_before = await repo.outbox.counts_with_key_prefix(firms_prefix(round_id), kinds=("summary", "chart"))
    owner = khooshe.user(owner_id)
    await owner.settle()
    await owner.send("/settings")
    await owner.wait_for("یادآوری")
    await owner.press("🗑 حذف داده‌های من")
    await owner.wait_for("برگشت‌پذیر نیست")
    await owner.press("🗑 بله، حذف شود")
    await owner.wait_for("پاک شد")
    await owner.settle()

    async with khooshe.db.read() as repo:
        assert await repo.scores.for_firm(round_id, firm.id) is not None
        messages = await repo.outbox.all()
        audit = await repo.access.audit_entries(limit=10_000)
        sent_after = await repo.outbox.counts_with_key_prefix(firms_prefix(round_id), kinds=("summary", "chart"))
    assert [m.dedupe_key for m in messages if m.chat_id == owner_id] == []
    assert [m.dedupe_key for m in messages if f"firm:{firm.id}:" in f"{m.dedupe_key}:"
            or f"user:{owner_id}" in m.dedupe_key] == []
    assert [e.action for e in audit if e.target in (f"firm:{firm.id}", f"firm {firm.id}")] == []
    assert [e.action for e in audit if e.user_id == owner_id] == ["delete_my_data"]
    # The round's delivery figures still count the firm's messages.
    assert sent_after == sent_before
