"""Publishing a closed round: each scored firm gets one summary and one chart, 429s are honoured,
blocked users are marked and skipped, and a SIGKILL mid-publish repeats nothing (a send in flight
at the kill is counted uncertain)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest_asyncio

from bot.emulator import FakeBotApi
from bot.services.ranking import score_round
from storage.database import Database
from tests.support.bot_process import BotProcess
from tests.support.clock import TestClock
from tests.support.factories import full_answers, submit
from tests.support.journeys import publish_round
from tests.support.khooshe import ADMIN_ID, Khooshe, start_khooshe, stop_khooshe
from tests.support.scenarios import OWNERS, prepare_closed_round

PNG = b"\x89PNG\r\n\x1a\n"


@pytest_asyncio.fixture
async def closed_round(api: FakeBotApi, db_path: Path) -> AsyncIterator[tuple[Khooshe, int]]:
    clock = TestClock()
    async with Database(db_path) as db:
        round_id = await prepare_closed_round(db, OWNERS)
    for uid in OWNERS:
        api.user(uid)
    running = await start_khooshe(api, db_path, clock=clock, seeded=True, tick_seconds=3600)
    yield running, round_id
    await stop_khooshe(running)


async def test_publish_delivers_one_summary_and_chart_per_firm(closed_round: tuple[Khooshe, int]) -> None:
    khooshe, round_id = closed_round
    api = khooshe.api
    await khooshe.tick()  # the round's closing time has passed: it closes and is scored
    async with khooshe.db.read() as repo:
        assert await repo.scores.count(round_id) == len(OWNERS)
    api.block(OWNERS[-1])
    api.fail_next("sendMessage", 429, retry_after=1)

    owner = khooshe.user(OWNERS[0])
    await owner.send(f"/publish {round_id}")
    await owner.wait_for("فقط برای مدیران")
    admin = khooshe.user(ADMIN_ID)
    await publish_round(admin, round_id)
    await khooshe.drain()
    for _ in range(50):  # the 429 pushed one message back by a second
        if await khooshe.drain() == 0 and all(
            sum(m.kind == "photo" for m in api.messages(uid)) == 1 for uid in OWNERS[:-1]
        ):
            break
        await asyncio.sleep(0.1)
    assert api.count_429 >= 1

    for i, uid in enumerate(OWNERS[:-1]):
        sent = api.messages(uid)
        photos = [m for m in sent if m.kind == "photo"]
        texts = [m for m in sent if m.kind == "text" and "Autumn 1405" in m.text]
        assert len(photos) == 1 and photos[0].data is not None and photos[0].data.startswith(PNG)
        assert len(texts) == 1, [m.text for m in texts]
        expected = f"of {len(OWNERS)}" if i == 1 else f"از {len(OWNERS)}".translate(
            str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
        assert expected in texts[0].text
        for other in OWNERS:
            if other != uid:
                assert f"بنگاه شماره {other}" not in texts[0].text
    assert api.messages(OWNERS[-1]) == []
    async with khooshe.db.read() as repo:
        blocked = await repo.users.get(OWNERS[-1])
        summaries = await repo.outbox.counts(kind_prefix="summary")
        charts = await repo.outbox.counts(kind_prefix="chart")
    assert blocked is not None and blocked.unreachable_since is not None
    assert summaries == charts == {"sent": len(OWNERS) - 1, "unreachable": 1}

    # Publishing again is refused and sends nothing more.
    await admin.send(f"/publish {round_id}")
    await admin.wait_for("منتشر شده است")
    await khooshe.drain()
    assert len(api.messages(OWNERS[0])) == 3  # the refusal, the summary and the chart

    # /myrank shows the result again, any time.
    await owner.settle()
    await owner.send("/myrank")
    await owner.wait_for(lambda e: e.is_message and e.kind == "photo")
    assert len(api.messages(OWNERS[0])) == 5


async def test_sigkill_during_publish_repeats_nothing(api: FakeBotApi, tmp_path: Path) -> None:
    owners = list(range(6001, 6061))
    db_path = tmp_path / "khooshe.db"
    async with Database(db_path) as db:
        round_id = await prepare_closed_round(db, owners)
    for uid in owners:
        api.user(uid)
    api.rate_limit = 30
    # Replies beyond their share of the budget come on top of KHOOSHE_SEND_RATE (see the pacer),
    # so the bot is given the headroom an operator leaves under a strict 30/s limit.
    bot = BotProcess(api, db_path, tmp_path / "bot.log", KHOOSHE_ADMINS=str(ADMIN_ID),
                     KHOOSHE_TICK_SECONDS="1", KHOOSHE_SEND_RATE="26")
    bot.start()
    try:
        admin = api.user(ADMIN_ID)
        # The round closes and is scored on the first tick (the admin is told); then publish.
        await admin.wait_for("امتیازدهی شدند", timeout=20)
        await publish_round(admin, round_id)
        kills = 0
        for wait in (0.8, 0.6):
            await asyncio.sleep(wait)
            bot.kill()
            kills += 1
            bot.start()
        def delivered() -> int:
            return sum(len(api.messages(uid)) for uid in owners)
        for _ in range(300):
            if delivered() >= 2 * len(owners):
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # anything extra would show up now
        async with Database(db_path) as db, db.read() as repo:
            rows = await repo.outbox.all()
        # A send that had left when a kill came may or may not have arrived: it is marked
        # uncertain and never sent again. Every other part of every summary arrives once.
        uncertain = {(r.chat_id, r.kind) for r in rows if r.status == "uncertain"}
        log_tail = (tmp_path / "bot.log").read_text()[-3000:]
        for uid in owners:
            kinds = [m.kind for m in api.messages(uid)]
            for part, shown in (("summary", "text"), ("chart", "photo")):
                # "Uncertain" is exactly "may have arrived": once or not at all, never twice.
                allowed = {0, 1} if (uid, part) in uncertain else {1}
                assert kinds.count(shown) in allowed, (uid, part, kinds, log_tail)
        assert len(uncertain) <= kills * 16  # at most the sends in flight at each kill
        assert api.count_429 == 0
    finally:
        bot.stop()


async def test_the_publish_report_counts_a_summary_answered_502_after_acting_as_uncertain(
    closed_round: tuple[Khooshe, int],
) -> None:
    khooshe, round_id = closed_round
    api = khooshe.api
    await khooshe.tick()  # closes and scores the round
    admin = khooshe.user(ADMIN_ID)
    await publish_round(admin, round_id)
    # The first summary is stored by the server, which then answers 502: it may have arrived.
    api.fail_next("sendMessage", 502, after=True)
    for _ in range(50):  # the report is queued by a tick once every summary has its outcome
        await khooshe.drain()
        await khooshe.tick()
        await khooshe.drain()
        if any("📬" in m.text for m in api.messages(ADMIN_ID)):
            break
        await asyncio.sleep(0.1)
    report = await admin.wait_for("📬")
    assert "نامعلوم (شاید رسیده باشد؛ دوباره فرستاده نمی‌شود): ۱" in report.text


async def test_the_best_firm_of_a_small_field_hears_it_is_the_highest_and_no_top_100_praise(
    closed_round: tuple[Khooshe, int],
) -> None:
    khooshe, round_id = closed_round
    await khooshe.tick()
    await publish_round(khooshe.user(ADMIN_ID), round_id)
    await khooshe.drain()
    best = OWNERS[2]  # the strongest answers (full_answers(2)), named in public rankings
    owner = khooshe.user(best)
    summary = await owner.wait_for("Autumn 1405")
    size = str(len(OWNERS)).translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    assert f"در کشور: بالاترین امتیاز در میان {size} بنگاه" in summary.text
    assert "تبریک" not in summary.text and "بهتر از" not in summary.text


async def test_a_firm_scored_in_an_earlier_round_reads_what_changed_since(closed_round: tuple[Khooshe, int]) -> None:
    khooshe, round_id = closed_round
    now = khooshe.services.clock.now()
    async with khooshe.db.transaction() as repo:
        earlier = await repo.rounds.create(
            title="تابستان ۱۴۰۵", questionnaire_version=1, opens_at=now - timedelta(days=100),
            closes_at=now - timedelta(days=70), state="closed",
        )
        firm = await repo.firms.by_owner(OWNERS[0])  # full_answers(0) now: the weakest
    assert firm is not None
    await submit(khooshe.db, earlier.id, firm.id, full_answers(2))
    await score_round(khooshe.db, earlier.id)
    async with khooshe.db.transaction() as repo:
        await repo.rounds.mark_published(earlier.id, now - timedelta(days=60), by=ADMIN_ID)
    await khooshe.tick()
    await publish_round(khooshe.user(ADMIN_ID), round_id)
    await khooshe.drain()
    summary = await khooshe.user(OWNERS[0]).wait_for("Autumn 1405")
    assert "نسبت به «تابستان ۱۴۰۵»" in summary.text
    assert "امتیاز کمتر" in summary.text and "امتیاز بیشتر" not in summary.text
