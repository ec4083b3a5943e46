"""The intake: an update the bot cannot read is skipped while everyone else is served, and an
update the server was told had arrived is still handled after a SIGKILL."""

from __future__ import annotations

import asyncio
import random
import uuid
from pathlib import Path

from bot.emulator import FakeBotApi, FakeUser
from bot.intake.inbox import MAX_PENDING
from storage.database import Database
from tests.support.bot_process import BotProcess
from tests.support.factories import stored_answers
from tests.support.journeys import (
    MANUFACTURER_ANSWERS,
    OTHER_VALID_NATIONAL_IDS,
    TOTAL_QUESTIONS,
    answer_questions,
    fa_digits,
    give,
    register,
)
from tests.support.khooshe import Khooshe


async def inbox_states(db: Database) -> dict[int, str]:
    async with db.read() as repo:
        rows = await repo.conn.execute_fetchall("SELECT update_id, state FROM inbox")
    return {int(r[0]): str(r[1]) for r in rows}


async def test_unreadable_updates_are_skipped_and_the_next_owner_is_served(
    khooshe: Khooshe, api: FakeBotApi,
) -> None:
    owner = khooshe.user(3101)
    broken = [
        await api.push_update({"message": {"message_id": 1, "text": "/start"}}),  # no chat
        await api.push_update({"callback_query": {"id": "q1", "data": "x"}}),  # no sender
        await api.push_update({"message": "not an object"}),
    ]
    await owner.send("/start")
    await owner.wait_for("بنگاه خود را ثبت کنید")
    states = await inbox_states(khooshe.db)
    assert [states[u] for u in broken] == ["skipped", "skipped", "skipped"]
    assert all(state in ("new", "done") for u, state in states.items() if u not in broken)


async def test_a_burst_waits_on_the_server_and_every_user_is_answered_once(
    khooshe: Khooshe, api: FakeBotApi,
) -> None:
    owners = [khooshe.user(3200 + i) for i in range(3 * MAX_PENDING)]
    for owner in owners:
        await owner.send("/start")
    for owner in owners:
        await owner.wait_for("بنگاه خود را ثبت کنید", timeout=30)
    # The bot never asks for more updates than it has room for: the rest wait on the server.
    assert max(call["limit"] for call in api.calls_to("getUpdates")) <= MAX_PENDING
    assert [sum("بنگاه خود را ثبت کنید" in m.text for m in owner.messages()) for owner in owners] == [1] * len(owners)


async def test_unreadable_update_keeps_no_payload(khooshe: Khooshe, api: FakeBotApi) -> None:
    await api.push_update({"message": {"message_id": 1, "text": "09121234567"}})
    owner = khooshe.user(3102)
    await owner.send("/start")
    await owner.wait_for("بنگاه خود را ثبت کنید")
    async with khooshe.db.read() as repo:
        kept = await repo.conn.execute_fetchall("SELECT payload FROM inbox WHERE state != 'new'")
    assert all(row[0] is None for row in kept)


async def test_a_button_press_without_chat_instance_is_handled(khooshe: Khooshe, api: FakeBotApi) -> None:
    owner = khooshe.user(3103)
    await owner.send("/start")
    welcome = await owner.wait_for("بنگاه خود را ثبت کنید")
    message = api.message(owner.id, welcome.message_id)
    press_id = f"bare-{uuid.uuid4().hex}"
    api.callback_queries[press_id] = {"id": press_id, "user_id": owner.id, "answered": False,
                                          "data": welcome.button_data[0][0], "message_id": message.message_id}
    # Only what the bare minimum of a press carries: no chat_instance, no language_code.
    await api.push_update({"callback_query": {
        "id": press_id, "from": {"id": owner.id, "is_bot": False, "first_name": "Ali"},
        "message": api.message_json(message), "data": welcome.button_data[0][0]}})
    await owner.wait_for("نام ثبتی")


async def confirmed(api: FakeBotApi, timeout: float = 10) -> None:
    """Waits until the bot has told the server it received every update (a later offset)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while api.updates and loop.time() < deadline:
        await asyncio.sleep(0.02)
    assert not api.updates, "the bot never confirmed its updates"


async def test_updates_confirmed_but_not_handled_survive_a_sigkill(
    api: FakeBotApi, bot_process: BotProcess,
) -> None:
    owner = api.user(3104)
    await register(owner)
    await owner.settle()
    # The reply to /profile never arrives, so its handler is still running, and the owner's
    # next message waits behind it; both were fetched and confirmed to the server.
    api.hang_next("sendMessage", chat_id=owner.id)
    await owner.send("/profile")
    while not api.held:
        await asyncio.sleep(0.02)
    await owner.send("/help")
    await confirmed(api)
    bot_process.kill()
    bot_process.start()
    await owner.wait_for("مشخصات بنگاه شما", timeout=20)
    await owner.wait_for("/assess", timeout=10)


async def test_killed_between_an_answer_and_its_reply_shows_the_next_question_after_restart(
    api: FakeBotApi, bot_process: BotProcess,
) -> None:
    owner = api.user(3105)
    await register(owner)
    await owner.press("📋 شروع خودارزیابی")
    await answer_questions(owner, 1, 5)
    sixth = await owner.wait_for(f"سؤال ۶ از {fa_digits(TOTAL_QUESTIONS)}")
    # The answer is saved, but the edit that would show question 7 never gets through.
    api.hang_next("editMessageText", chat_id=owner.id)
    await owner.press("کنترل آماری فرایند", message=sixth.message_id)
    while not api.held:
        await asyncio.sleep(0.02)
    await confirmed(api)
    db_path = Path(bot_process.env["KHOOSHE_DB"])
    assert (await stored_answers(db_path, owner.id))["T6"] == "spc"
    bot_process.kill()
    bot_process.start()
    await owner.wait_for(f"سؤال ۷ از {fa_digits(TOTAL_QUESTIONS)}", timeout=20)
    answers = await stored_answers(db_path, owner.id)
    assert list(answers) == ["T1", "T2", "T3", "T4", "T5", "T6"]  # T6 applied once, to T6


async def reach_question(owner: FakeUser, n: int) -> None:
    """Waits for question ``n`` the way a person would: if it does not come, reopen it."""
    for _ in range(5):
        try:
            await owner.wait_for(f"سؤال {fa_digits(n)} از {fa_digits(TOTAL_QUESTIONS)}", timeout=12)
            return
        except AssertionError:
            await owner.send("/assess")
    raise AssertionError(f"question {n} never came back")


async def test_sigkill_at_random_moments_loses_no_answer_and_applies_none_twice(
    api: FakeBotApi, bot_process: BotProcess,
) -> None:
    calm, hurried = api.user(3106), api.user(3107)
    for owner, national_id in ((calm, OTHER_VALID_NATIONAL_IDS[0]), (hurried, OTHER_VALID_NATIONAL_IDS[1])):
        await register(owner, national_id=national_id)
        await owner.press("📋 شروع خودارزیابی")
    await answer_questions(calm, 1, 10)
    await calm.wait_for(f"سؤال ۱۱ از {fa_digits(TOTAL_QUESTIONS)}")
    await answer_questions(hurried, 1, 3)

    chance = random.Random(8)

    async def killer() -> None:
        for _ in range(3):
            await asyncio.sleep(chance.uniform(0.2, 1.2))
            bot_process.kill()
            await asyncio.sleep(chance.uniform(0.0, 0.4))
            bot_process.start()

    killing = asyncio.create_task(killer())
    for n in range(4, 11):  # presses and typed answers only
        await reach_question(hurried, n)
        await give(hurried, MANUFACTURER_ANSWERS[n - 1])
    await reach_question(hurried, 11)
    await killing
    db_path = Path(bot_process.env["KHOOSHE_DB"])
    assert await stored_answers(db_path, hurried.id) == await stored_answers(db_path, calm.id)
