"""Clean shutdown of ``python -m bot`` on SIGTERM: polling stops, the update and the message in
flight finish, a hung one is cancelled (its row uncertain), the process exits with 0 within 5 s, no
outbox row is left 'sending', and the next start sends what was left exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from bot.emulator import FakeBotApi
from storage.database import Database
from tests.support.bot_process import BotProcess
from tests.support.broadcast_drill import prepare, queue_broadcast
from tests.support.clock import TEST_NOW
from tests.support.khooshe import ADMIN_ID, seed

EXIT_SECONDS = 5.0  # the functional deadline: `docker stop` SIGKILLs after 10 s
RATE = 150.0  # the send rate, scaled up 5× from Telegram's so the tests stay short
FINISHED = "is finished"  # in the broadcast's report to the admin


async def until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def outbox(db_path: Path, owners: list[int]) -> dict[str, int]:
    """How many of the firms' outbox rows are in each state (the admin's report is left out)."""
    chats = set(owners)
    async with Database(db_path) as db, db.read() as repo:
        rows = [row for row in await repo.outbox.all() if row.chat_id in chats]
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    return counts


async def broadcast_bot(api: FakeBotApi, tmp_path: Path, firms: int) -> tuple[BotProcess, list[int]]:
    """A broadcast to ``firms`` firms, due now, and the bot that will send it (not started)."""
    db_path = tmp_path / "khooshe.db"
    owners = await prepare(db_path, firms)
    await queue_broadcast(db_path, TEST_NOW)
    api.user(ADMIN_ID, "Admin", language_code="en")
    for uid in owners:
        api.user(uid)
    bot = BotProcess(api, db_path, tmp_path / "bot.log", KHOOSHE_ADMINS=str(ADMIN_ID),
                     KHOOSHE_TICK_SECONDS="1", KHOOSHE_SEND_RATE=str(RATE))
    return bot, owners


def delivered(api: FakeBotApi, owners: list[int]) -> int:
    return sum(len(api.messages(uid)) for uid in owners)


def finished(api: FakeBotApi) -> bool:
    return any(FINISHED in m.text and m.edit_date is None for m in api.messages(ADMIN_ID))


async def test_sigterm_mid_broadcast_exits_in_time_and_a_restart_completes_it_exactly_once(
    api: FakeBotApi, tmp_path: Path
) -> None:
    api.rate_limit = round(RATE * 30 / 29)  # the fake server's limit, just above the send rate
    bot, owners = await broadcast_bot(api, tmp_path, firms=300)
    db_path = Path(bot.env["KHOOSHE_DB"])
    bot.start()
    try:
        await until(lambda: delivered(api, owners) >= 60, "the broadcast to be under way")
        exited = await bot.terminate()
        log = (tmp_path / "bot.log").read_text()
        assert exited.code == 0, log[-3000:]
        assert exited.seconds <= EXIT_SECONDS, log[-3000:]
        assert "shutting down (SIGTERM)" in log and "shut down in" in log
        counts = await outbox(db_path, owners)
        assert "sending" not in counts, counts
        assert counts.get("pending", 0) > 0, counts  # it really was stopped mid-broadcast
        # Every message that reached the server is marked sent, and only those.
        assert counts["sent"] == delivered(api, owners), counts

        bot.start()
        await until(lambda: finished(api), "the broadcast's report")
        await asyncio.sleep(0.5)  # anything extra would show up now
        assert (await bot.terminate()).code == 0
    finally:
        bot.stop()
    per_firm = {uid: len(api.messages(uid)) for uid in owners}
    assert [uid for uid, n in per_firm.items() if n != 1] == [], "every firm gets it exactly once"
    assert await outbox(db_path, owners) == {"sent": len(owners)}
    assert api.count_429 == 0


async def test_sigterm_during_a_slow_send_lets_it_finish_and_marks_it_sent(api: FakeBotApi, tmp_path: Path) -> None:
    bot, owners = await broadcast_bot(api, tmp_path, firms=30)
    db_path = Path(bot.env["KHOOSHE_DB"])
    slow = owners[10]
    api.hang_next("sendMessage", chat_id=slow, seconds=1.0)  # answered, a second late
    bot.start()
    try:
        await until(lambda: bool(api.held), "the send to be on the wire")
        exited = await bot.terminate()
    finally:
        bot.stop()
    log = (tmp_path / "bot.log").read_text()
    assert exited.code == 0, log[-3000:]
    assert exited.seconds <= EXIT_SECONDS, log[-3000:]
    async with Database(db_path) as db, db.read() as repo:
        rows = {row.chat_id: row for row in await repo.outbox.all() if row.chat_id in set(owners)}
    assert rows[slow].status == "sent" and len(api.messages(slow)) == 1
    assert {row.status for row in rows.values()} == {"sent", "pending"}  # no new one was taken
    assert sum(row.status == "sent" for row in rows.values()) == delivered(api, owners)


async def test_sigterm_during_a_hung_send_exits_in_time_and_the_row_is_reported_uncertain_not_resent(
    api: FakeBotApi, tmp_path: Path
) -> None:
    """The hung request had reached the server, which might have delivered it: cut off by the
    shutdown, its row is uncertain (as after a time-out), and the restart sends every other row
    once and this one never."""
    bot, owners = await broadcast_bot(api, tmp_path, firms=30)
    db_path = Path(bot.env["KHOOSHE_DB"])
    stuck = owners[10]
    api.hang_next("sendMessage", chat_id=stuck)  # never answered, never delivered
    bot.start()
    try:
        await until(lambda: bool(api.held), "the send to hang")
        exited = await bot.terminate()
        log = (tmp_path / "bot.log").read_text()
        assert exited.code == 0, log[-3000:]
        assert exited.seconds <= EXIT_SECONDS, log[-3000:]
        async with Database(db_path) as db, db.read() as repo:
            rows = {row.chat_id: row for row in await repo.outbox.all() if row.chat_id in set(owners)}
        assert "sending" not in {row.status for row in rows.values()}
        assert rows[stuck].status == "uncertain"
        assert api.messages(stuck) == []

        bot.start()
        await until(lambda: finished(api), "the broadcast's report")
        await asyncio.sleep(0.5)
        assert (await bot.terminate()).code == 0
    finally:
        bot.stop()
    assert {uid: len(api.messages(uid)) for uid in owners} == {uid: int(uid != stuck) for uid in owners}
    [report] = [m.text for m in api.messages(ADMIN_ID) if FINISHED in m.text and m.edit_date is None]
    assert "Delivered: 29" in report
    assert "Uncertain (may have arrived, not sent again): 1" in report


async def seeded_bot(api: FakeBotApi, tmp_path: Path) -> BotProcess:
    db_path = tmp_path / "khooshe.db"
    async with Database(db_path) as db:
        await seed(db)
    return BotProcess(api, db_path, tmp_path / "bot.log")


async def test_sigterm_lets_the_update_in_flight_finish(api: FakeBotApi, tmp_path: Path) -> None:
    bot = await seeded_bot(api, tmp_path)
    owner = api.user(3001)
    api.hang_next("*", chat_id=3001, seconds=1.0)  # the reply to /start is slow, not lost
    bot.start()
    try:
        await owner.send("/start")
        await until(lambda: bool(api.held), "the reply to be under way")
        exited = await bot.terminate()
    finally:
        bot.stop()
    log = (tmp_path / "bot.log").read_text()
    assert exited.code == 0, log[-3000:]
    assert exited.seconds <= EXIT_SECONDS, log[-3000:]
    assert api.messages(3001), "the update in flight was handled to the end"


async def test_sigterm_while_a_reply_hangs_still_exits_in_time(api: FakeBotApi, tmp_path: Path) -> None:
    bot = await seeded_bot(api, tmp_path)
    owner = api.user(3001)
    api.hang_next("*", chat_id=3001)  # the handler's first call to the Bot API never returns
    bot.start()
    try:
        await owner.send("/start")
        await until(lambda: bool(api.held), "the handler to hang")
        exited = await bot.terminate()
    finally:
        bot.stop()
    log = (tmp_path / "bot.log").read_text()
    assert exited.code == 0, log[-3000:]
    assert exited.seconds <= EXIT_SECONDS, log[-3000:]
    assert "cancelling 1 update(s)" in log
