"""The bot process is killed with SIGKILL mid-assessment and restarted: nothing is lost."""

from __future__ import annotations

from pathlib import Path

from bot.emulator import FakeBotApi
from storage.database import Database
from tests.support.bot_process import BotProcess
from tests.support.factories import stored_answers
from tests.support.journeys import (
    TOTAL_QUESTIONS,
    answer_questions,
    fa_digits,
    register,
)


async def test_sigkill_mid_assessment_then_resume(api: FakeBotApi, bot_process: BotProcess) -> None:
    owner = api.user(3001)
    await register(owner)
    await owner.press("📋 شروع خودارزیابی")
    await answer_questions(owner, 1, 5)
    sixth = await owner.wait_for(f"سؤال ۶ از {fa_digits(TOTAL_QUESTIONS)}")

    bot_process.kill()
    db_path = Path(bot_process.env["KHOOSHE_DB"])
    before = await stored_answers(db_path, 3001)
    assert list(before) == ["T1", "T2", "T3", "T4", "T5"]

    # While the bot is down the owner presses an answer on the question on screen; after the
    # restart that press is applied to question 6, the conversation continues at question 7.
    await owner.press("کنترل آماری فرایند", message=sixth.message_id)
    bot_process.start()
    await owner.wait_for(f"سؤال ۷ از {fa_digits(TOTAL_QUESTIONS)}", timeout=20)
    after = await stored_answers(db_path, 3001)
    assert after == {**before, "T6": "spc"}

    # Killed again; this time the owner comes back through the menu.
    bot_process.kill()
    bot_process.start()
    await owner.send("/start")
    menu = await owner.wait_for("باز است", timeout=20)
    assert any(f"(۶ از {fa_digits(TOTAL_QUESTIONS)})" in b for row in menu.buttons for b in row)
    await owner.press(f"📋 ادامه خودارزیابی (۶ از {fa_digits(TOTAL_QUESTIONS)})")
    await owner.wait_for("دوباره خوش آمدید")
    await answer_questions(owner, 7, 9)
    await owner.wait_for(f"سؤال ۱۰ از {fa_digits(TOTAL_QUESTIONS)}")
    assert len(await stored_answers(db_path, 3001)) == 9


async def test_sigkill_mid_registration_keeps_every_field(api: FakeBotApi, bot_process: BotProcess) -> None:
    owner = api.user(3002)
    await owner.send("/register")
    await owner.wait_for("نام ثبتی")
    await owner.send("کارخانه نمونه")
    await owner.wait_for("شناسه ملی")
    await owner.send("10380284790")
    await owner.wait_for("کدام استان")
    bot_process.kill()
    bot_process.start()
    # The province buttons from before the restart still work, and the step is right.
    await owner.press("فارس")
    await owner.wait_for("کدام شهرک", timeout=20)
    await owner.press("شهرک صنعتی زرقان")
    await owner.wait_for("خوشه کسب‌وکار")
    async with Database(Path(bot_process.env["KHOOSHE_DB"])) as db, db.read() as repo:
        draft = await repo.drafts.get(3002)
    assert draft is not None
    assert draft.data["name"] == "کارخانه نمونه" and draft.data["national_id"] == "10380284790"
    assert draft.step == "CLUSTER"


async def test_after_a_restart_pressing_the_older_copy_of_a_question_leaves_one_live_keyboard(
    api: FakeBotApi, bot_process: BotProcess,
) -> None:
    owner = api.user(3003)
    await register(owner)
    await owner.press("📋 شروع خودارزیابی")
    await answer_questions(owner, 1, 1)
    older = await owner.wait_for(f"سؤال ۲ از {fa_digits(TOTAL_QUESTIONS)}")
    bot_process.kill()
    bot_process.start()
    await owner.send("/assess")  # the restarted bot shows question 2 again, as a new message
    newer = await owner.wait_for(lambda e: e.event == "send" and f"سؤال ۲ از {fa_digits(TOTAL_QUESTIONS)}" in e.text,
                                 timeout=20)
    await owner.press("خیر", message=older.message_id)
    await owner.wait_for(f"سؤال ۳ از {fa_digits(TOTAL_QUESTIONS)}")
    await owner.settle()
    assert not (api.message(owner.id, newer.message_id).reply_markup or {}).get("inline_keyboard")
    assert (api.message(owner.id, older.message_id).reply_markup or {}).get("inline_keyboard")
