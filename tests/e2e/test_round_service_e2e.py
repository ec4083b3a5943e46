"""The round life cycle as admins and operators meet it: the command line and the chat call the
same service, the rules hold whichever way a round is changed, and every action is audited."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest_asyncio

from bot.emulator import FakeBotApi, FakeUser
from bot.services.ranking import weight_sensitivity
from bot.services.rounds import SYSTEM
from storage.database import Database
from tests.support.clock import TEST_NOW, TestClock, offset_env
from tests.support.factories import add_firm, full_answers, submit
from tests.support.khooshe import (
    ADMIN_ID,
    ROOT,
    Khooshe,
    seed,
    start_khooshe,
    stop_khooshe,
)
from tests.support.scenarios import OWNERS, prepare_closed_round

FIRMS = [4101, 4102, 4103]


@pytest_asyncio.fixture
async def no_round(api: FakeBotApi, db_path: Path) -> AsyncIterator[Khooshe]:
    async with Database(db_path) as db:
        await seed(db, open_round=False)
        for uid in FIRMS:
            await add_firm(db, uid)
    for uid in (*FIRMS, ADMIN_ID):
        api.user(uid, language_code="en" if uid == ADMIN_ID else "fa")
    running = await start_khooshe(api, db_path, seeded=True, tick_seconds=3600)
    yield running
    await stop_khooshe(running)


@pytest_asyncio.fixture
async def closed(api: FakeBotApi, db_path: Path) -> AsyncIterator[tuple[Khooshe, int]]:
    async with Database(db_path) as db:
        round_id = await prepare_closed_round(db, OWNERS)
        async with db.transaction() as repo:
            await repo.users.ensure(user_id=ADMIN_ID, language="en", first_name="Admin")
    for uid in OWNERS:
        api.user(uid)
    api.user(ADMIN_ID, language_code="en")
    running = await start_khooshe(api, db_path, clock=TestClock(), seeded=True, tick_seconds=3600)
    await running.tick()  # its closing time has passed: closed and scored by the scheduler
    yield running, round_id
    await stop_khooshe(running)


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


async def cli(khooshe: Khooshe, *args: str) -> Ran:
    """``python -m bot …`` at the bot's own moment, while the bot keeps running (the event loop
    is not blocked, so the bot can finish its own transactions meanwhile)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KHOOSHE_")}
    env["KHOOSHE_DB"] = str(khooshe.db.path)
    env["KHOOSHE_ADMINS"] = str(ADMIN_ID)
    env.update(offset_env(khooshe.services.clock.now()))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return Ran(proc.returncode, out.decode("utf-8"), err.decode("utf-8"))


async def admin_of(khooshe: Khooshe) -> FakeUser:
    admin = khooshe.user(ADMIN_ID, "Admin", language_code="en")
    await admin.send("/start")
    await admin.settle()
    return admin


async def audit_actions(khooshe: Khooshe) -> list[tuple[int, str, str | None]]:
    async with khooshe.db.read() as repo:
        entries = await repo.access.all_audit_entries()
    return [(e.user_id, e.action, e.target) for e in entries if e.action.startswith("round_")]


async def test_round_open_on_the_command_line_announces_to_every_firm(no_round: Khooshe) -> None:
    khooshe = no_round
    result = await cli(khooshe, "round", "open", "--title", "Winter", "--closes", "1405/10/20")
    assert result.returncode == 0, result.stderr
    assert "announcement to 3 firms is queued" in result.stdout
    await khooshe.drain()
    for uid in FIRMS:
        [message] = khooshe.api.messages(uid)
        assert "Winter" in message.text
    assert await audit_actions(khooshe) == [(SYSTEM, "round_create", "round 1")]


async def test_a_new_round_uses_questionnaire_version_2(no_round: Khooshe) -> None:
    result = await cli(no_round, "round", "open", "--title", "Winter", "--closes", "1405/10/20")
    assert result.returncode == 0, result.stderr
    async with no_round.db.read() as repo:
        round_ = await repo.rounds.open_round()
    assert round_ is not None and round_.questionnaire_version == 2


async def test_round_close_on_the_command_line_scores_so_publish_works(no_round: Khooshe) -> None:
    khooshe = no_round
    assert (await cli(khooshe, "round", "open", "--title", "Winter", "--closes", "1405/10/20")).returncode == 0
    async with khooshe.db.read() as repo:
        firm = await repo.firms.by_owner(FIRMS[0])
    assert firm is not None
    await submit(khooshe.db, 1, firm.id, full_answers(0))
    closed = await cli(khooshe, "round", "close")
    assert closed.returncode == 0, closed.stderr
    assert "1 firms scored" in closed.stdout
    admin = await admin_of(khooshe)
    await admin.send("/publish 1")
    await admin.wait_for("1 firms will each get")
    await admin.press("📣 Publish")
    await admin.wait_for("published; 1 summaries")


async def test_an_overlapping_round_is_refused(no_round: Khooshe) -> None:
    admin = await admin_of(no_round)
    await admin.send("/newround A | 1405/10/01 | 1405/10/20")
    await admin.wait_for("Please confirm")
    await admin.press("✅ Create")
    await admin.wait_for("Round #1 created")
    await admin.send("/newround B | 1405/10/15 | 1405/10/30")
    refusal = await admin.wait_for("overlap")
    assert "#1" in refusal.text
    async with no_round.db.read() as repo:
        assert [r.title for r in await repo.rounds.all()] == ["A"]


async def test_a_gregorian_year_is_refused_with_its_solar_hijri_date(no_round: Khooshe) -> None:
    admin = await admin_of(no_round)
    await admin.send("/newround A | 2026/12/10 | 2027/01/10")
    refusal = await admin.wait_for("Gregorian")
    assert "1405/09/19" in refusal.text


async def test_extending_into_a_gregorian_year_is_refused(no_round: Khooshe) -> None:
    admin = await admin_of(no_round)
    await admin.send("/newround A | 1405/10/01 | 1405/10/20")
    await admin.wait_for("Please confirm")
    await admin.press("✅ Create")
    await admin.wait_for("Round #1 created")
    await admin.send("/extend 1 2027/01/01")
    await admin.wait_for("Gregorian")
    async with no_round.db.read() as repo:
        round_ = await repo.rounds.get(1)
    assert round_ is not None and round_.closes_at < TEST_NOW + timedelta(days=60)


async def test_a_past_opening_opens_now_only_after_confirmation(no_round: Khooshe) -> None:
    khooshe = no_round
    admin = await admin_of(khooshe)
    await admin.send("/newround Late | 1405/09/01 | 1405/10/20")
    await admin.wait_for("already passed")
    async with khooshe.db.read() as repo:
        assert await repo.rounds.all() == []
    await admin.press("✅ Open now")
    await admin.wait_for("Round #1 is open")
    await khooshe.drain()
    for uid in FIRMS:
        assert any("Late" in m.text for m in khooshe.api.messages(uid))


async def test_close_says_how_many_firms_are_still_answering_and_waits_for_confirmation(no_round: Khooshe) -> None:
    khooshe = no_round
    admin = await admin_of(khooshe)
    await admin.send("/newround Now | 1405/09/10 10:30 | 1405/10/20")
    await admin.wait_for("Please confirm")
    await admin.press("✅ Create")
    await admin.wait_for("created")
    khooshe.services.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
    await khooshe.tick()
    async with khooshe.db.transaction() as repo:
        firm = await repo.firms.by_owner(FIRMS[0])
        assert firm is not None
        await repo.submissions.start(round_id=1, firm_id=firm.id, cursor="T1")
    await admin.send("/closeround 1")
    await admin.wait_for("1 firm is still answering")
    async with khooshe.db.read() as repo:
        round_ = await repo.rounds.get(1)
    assert round_ is not None and round_.state == "open"
    await admin.press("🔒 Close")
    await admin.wait_for("Round #1 is closed")


async def test_admins_are_told_when_a_round_closes_by_itself(closed: tuple[Khooshe, int]) -> None:
    khooshe, round_id = closed
    await khooshe.drain()
    notices = [m.text for m in khooshe.api.messages(ADMIN_ID)]
    assert notices == [f"🔒 Round #{round_id} «Autumn 1405» closed by itself at its closing time; "
                       f"{len(OWNERS)} firms were scored. Publish the results with /publish {round_id}."]


async def test_publish_ends_with_a_delivery_report_to_the_admin(closed: tuple[Khooshe, int]) -> None:
    khooshe, round_id = closed
    khooshe.api.block(OWNERS[-1])
    admin = await admin_of(khooshe)
    await admin.send(f"/publish {round_id}")
    await admin.wait_for("firms will each get")
    await admin.press("📣 Publish")
    await admin.wait_for("published")
    await khooshe.drain()
    await khooshe.tick()
    report = await admin.wait_for("are out")
    assert f"{len(OWNERS) - 1} firms received them, 1 had blocked the bot, 0 could not be reached" in report.text


async def test_sensitivity_on_a_scored_round_gives_its_numbers(closed: tuple[Khooshe, int]) -> None:
    khooshe, round_id = closed
    expected = await weight_sensitivity(khooshe.db, round_id, {"tech": 0, "quality": 0, "export": 0, "innovation": 1})
    assert expected.firms == len(OWNERS)
    admin = await admin_of(khooshe)
    await admin.send(f"/sensitivity {round_id} 0,0,0,1")
    reply = await admin.wait_for("firms change national rank")
    assert (f"{expected.changed} of {len(OWNERS)} firms change national rank; "
            f"the largest move is {expected.max_shift} places") in reply.text


async def test_every_round_action_is_in_the_audit_log_and_its_export(no_round: Khooshe) -> None:
    khooshe = no_round
    admin = await admin_of(khooshe)
    await admin.send("/newround A | 1405/10/01 | 1405/10/20")
    await admin.wait_for("Please confirm")
    await admin.press("✅ Create")
    await admin.wait_for("created")
    await admin.send("/editround 1 title A2")
    await admin.wait_for("Round updated")
    await admin.send("/extend 1 1405/10/25")
    await admin.wait_for("now closes")
    await admin.send("/openround 1")
    await admin.wait_for("is open")
    await admin.send("/closeround 1")
    await admin.wait_for("Close round #1 now?")
    await admin.press("🔒 Close")
    await admin.wait_for("is closed")
    await admin.send("/newround B | 1405/11/01 | 1405/11/20")
    await admin.wait_for("Please confirm")
    await admin.press("✅ Create")
    await admin.wait_for("created")
    await admin.send("/cancelround 2")
    await admin.wait_for("Nobody has answered it")
    await admin.press("🗑 Cancel the round")
    await admin.wait_for("cancelled and removed")
    actions = ["round_create", "round_edit", "round_extend", "round_open", "round_close", "round_create", "round_cancel"]
    assert [a for _, a, _ in await audit_actions(khooshe)] == actions
    await admin.send("/auditexport")
    document = await admin.wait_for(lambda e: e.kind == "document")
    assert document.data is not None
    rows = list(csv.reader(io.StringIO(document.data.decode("utf-8-sig"))))
    assert [r[4] for r in rows[1:] if r[4].startswith("round_")] == actions


async def test_a_round_closed_by_mistake_reopens_until_a_new_date(closed: tuple[Khooshe, int]) -> None:
    khooshe, round_id = closed
    admin = await admin_of(khooshe)
    await admin.send(f"/reopenround {round_id} 1405/09/20")
    question = await admin.wait_for("again until")
    assert "scored again when it closes" in question.text
    await admin.press("🔓 Reopen")
    await admin.wait_for(f"Round #{round_id} is open again until")
    async with khooshe.db.read() as repo:
        reopened = await repo.rounds.get(round_id)
    assert reopened is not None and reopened.state == "open" and reopened.scored_at is None
    assert (ADMIN_ID, "round_reopen", f"round {round_id}") in await audit_actions(khooshe)


async def test_a_reopened_round_cannot_be_published_until_it_closes_again(closed: tuple[Khooshe, int]) -> None:
    khooshe, round_id = closed
    admin = await admin_of(khooshe)
    await admin.send(f"/reopenround {round_id} 1405/09/20")
    await admin.wait_for("again until")
    await admin.press("🔓 Reopen")
    await admin.wait_for("is open again")
    await admin.send(f"/publish {round_id}")
    await admin.wait_for("Only a closed, scored round can be published")


async def test_a_published_round_is_never_reopened(published: tuple[Khooshe, int]) -> None:
    khooshe, round_id = published
    admin = khooshe.user(ADMIN_ID)
    await admin.send(f"/reopenround {round_id} 1405/09/20")
    await admin.wait_for("دوره منتشرشده را نمی‌توان دوباره باز کرد")
    async with khooshe.db.read() as repo:
        kept = await repo.rounds.get(round_id)
    assert kept is not None and kept.state == "closed"


async def test_an_admin_can_choose_the_questionnaire_version_of_a_new_round(no_round: Khooshe) -> None:
    admin = await admin_of(no_round)
    await admin.send("/newround Winter | 1405/10/01 | 1405/10/20 | | نسخه ۱")
    await admin.wait_for("Please confirm the new round")
    await admin.press("✅ Create")
    await admin.wait_for("created")
    async with no_round.db.read() as repo:
        [created] = await repo.rounds.all()
    assert created.questionnaire_version == 1


async def test_an_unknown_questionnaire_version_is_refused_with_the_choices(no_round: Khooshe) -> None:
    admin = await admin_of(no_round)
    await admin.send("/newround Winter | 1405/10/01 | 1405/10/20 | | 7")
    await admin.wait_for("There is no questionnaire version «7»; choose one of 1, 2.")
    async with no_round.db.read() as repo:
        assert await repo.rounds.all() == []


async def test_a_title_with_html_characters_reaches_every_firm_as_typed(no_round: Khooshe) -> None:
    now = no_round.services.clock.now()
    await no_round.services.rounds.create(
        SYSTEM, title="R&D <Winter>", opens=now, closes=now + timedelta(days=20), version=1, start_now=True)
    await no_round.drain()
    for uid in FIRMS:
        [announcement] = no_round.api.messages(uid)
        assert "«R&D <Winter>»" in announcement.text
