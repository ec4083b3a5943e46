"""A Bot API fault that clears by itself (a 5xx, a 429, a time-out) on the bot's reply to an
answer costs the owner a moment, never an apology; and the answer is saved whatever the reply."""

from __future__ import annotations

import pytest

from bot.emulator import FakeBotApi
from bot.emulator.client import FakeUser
from tests.support.journeys import MANUFACTURER_ANSWERS, answer_questions, give, register
from tests.support.khooshe import Khooshe

APOLOGY = "متأسفیم"


async def at_question(khooshe: Khooshe, user_id: int, n: int) -> FakeUser:
    """An owner registered and answering, with question ``n`` on screen."""
    owner = khooshe.user(user_id)
    await register(owner)
    await owner.press("📋 شروع خودارزیابی")
    await answer_questions(owner, 1, n - 1)
    await owner.wait_for(f"سؤال {n} از".translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")))
    return owner


async def apologies(owner: FakeUser) -> list[str]:
    return [e.text for e in await owner.settle(0.5) if e.is_message and APOLOGY in e.text]


async def test_a_502_on_the_next_question_after_a_press_is_retried_not_apologised(
    khooshe: Khooshe, api: FakeBotApi,
) -> None:
    owner = await at_question(khooshe, 3801, 1)
    api.fail_next("editMessageText", 502)
    await give(owner, MANUFACTURER_ANSWERS[0])
    await owner.wait_for("سؤال ۲ از")
    assert await apologies(owner) == []


async def test_a_502_after_the_edit_was_made_is_retried_not_apologised(
    khooshe: Khooshe, api: FakeBotApi,
) -> None:
    owner = await at_question(khooshe, 3802, 1)
    api.fail_next("editMessageText", 502, after=True)
    await give(owner, MANUFACTURER_ANSWERS[0])
    await owner.wait_for("سؤال ۲ از")
    assert await apologies(owner) == []


async def test_two_429s_on_the_reply_to_a_typed_answer_are_waited_out(
    khooshe: Khooshe, api: FakeBotApi,
) -> None:
    owner = await at_question(khooshe, 3803, 8)
    api.fail_next("sendMessage", 429, retry_after=1, times=2)
    await give(owner, MANUFACTURER_ANSWERS[7])
    await owner.wait_for("سؤال ۹ از")
    assert await apologies(owner) == []


@pytest.mark.platforms("telegram")
async def test_a_reply_that_timed_out_is_sent_again_not_apologised(
    khooshe: Khooshe, api: FakeBotApi,
) -> None:
    """Telegram only: the retry is the rate limiter's, the same on both platforms, and the wait
    for the read time-out (KHOOSHE_REPLY_READ_TIMEOUT, 10 s) is long."""
    owner = await at_question(khooshe, 3804, 8)
    # The fake never answers this one: the bot stops waiting at its read time-out.
    api.hang_next("sendMessage", chat_id=owner.id)
    await give(owner, MANUFACTURER_ANSWERS[7])
    await owner.wait_for("سؤال ۹ از", timeout=khooshe.settings.reply_read_timeout + 5)
    assert await apologies(owner) == []


@pytest.mark.platforms("telegram")
async def test_a_reply_answered_after_six_seconds_arrives_once(
    khooshe: Khooshe, api: FakeBotApi,
) -> None:
    """Telegram only: the read time-out is the request layer's, the same on both platforms."""
    owner = await at_question(khooshe, 3806, 8)
    api.hang_next("sendMessage", chat_id=owner.id, seconds=6.0)
    await give(owner, MANUFACTURER_ANSWERS[7])
    await owner.wait_for("سؤال ۹ از", timeout=15)
    await owner.settle(1.0, timeout=15)
    assert sum("سؤال ۹ از" in m.text for m in api.messages(owner.id)) == 1


async def test_a_typed_answer_is_saved_though_every_reply_to_it_fails(
    khooshe: Khooshe, api: FakeBotApi,
) -> None:
    owner = await at_question(khooshe, 3805, 8)
    api.fail_next("sendMessage", 502, times=40)
    await give(owner, MANUFACTURER_ANSWERS[7])
    await owner.settle(0.5, timeout=15)
    async with khooshe.db.read() as repo:
        firm = await repo.firms.by_owner(owner.id)
        round_ = await repo.rounds.open_round()
        assert firm is not None and round_ is not None
        submission = await repo.submissions.for_firm(round_id=round_.id, firm_id=firm.id)
        assert submission is not None
        answers = await repo.answers.all(submission.id)
    assert answers.get("T8") == 30
