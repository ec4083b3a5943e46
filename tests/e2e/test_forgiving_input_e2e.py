"""Forgiving input: numbers with words and units, numbers in words, two-digit years, typed yes/no, a single
«۱۰۰» for the sales split; refusals and media get one short line, the question stays on screen."""

from __future__ import annotations

from bot.emulator import BotEvent, FakeUser
from tests.support.journeys import (
    MANUFACTURER_ANSWERS,
    OTHER_VALID_NATIONAL_IDS,
    answer_questions,
    fa_digits,
    give,
    register,
)
from tests.support.khooshe import Khooshe

ONE_NUMBER_0_100_FA = "لطفاً یک عدد صحیح بین ۰ و ۱۰۰ بفرستید، مثلاً ۲۵."
JUST_ONE_NUMBER_FA = "لطفاً فقط یک عدد بین ۰ و ۱۰۰ بفرستید، نه دو عدد."
USE_THE_BUTTONS_FA = "لطفاً با دکمه‌های سؤال بالا پاسخ دهید."
NAME_NEEDED_FA = "لطفاً نام بنگاه را به صورت پیام متنی بنویسید."
# Version 2 answers up to E1: Q1 «بله», so Q2 is still asked and E1 is question 16.
BEFORE_E1_V2 = [*MANUFACTURER_ANSWERS[:10], ("press", "بله"), *MANUFACTURER_ANSWERS[11:15]]


def said(events: list[BotEvent]) -> list[str]:
    """The texts of the messages among ``events`` (sent or edited), in order."""
    return [e.text for e in events if e.is_message]


def times_shown(owner: FakeUser, n: int) -> int:
    """How many of the bot's messages in the chat show question ``n``."""
    return sum(f"سؤال {fa_digits(n)} از" in m.text for m in owner.messages())


async def stored_answers(khooshe: Khooshe, owner_id: int) -> dict[str, object]:
    async with khooshe.db.read() as repo:
        firm = await repo.firms.by_owner(owner_id)
        round_ = await repo.rounds.open_round()
        assert firm is not None and round_ is not None
        submission = await repo.submissions.for_firm(round_id=round_.id, firm_id=firm.id)
        assert submission is not None
        return await repo.answers.all(submission.id)


async def at_question(khooshe: Khooshe, owner_id: int, n: int) -> FakeUser:
    """A newly registered owner, with questions 1..n-1 answered and question ``n`` on screen."""
    owner = khooshe.user(owner_id)
    await register(owner)
    await owner.press("📋 شروع خودارزیابی")
    if n > 1:
        await answer_questions(owner, 1, n - 1)
    await owner.wait_for(f"سؤال {fa_digits(n)} از")
    await owner.settle()
    return owner


async def test_a_percentage_with_words_and_a_unit_is_accepted(khooshe: Khooshe) -> None:
    owner = await at_question(khooshe, 3401, 8)  # T8, a percentage
    await owner.send("حدود ۳۰ درصد")
    await owner.wait_for("سؤال ۹ از")
    assert (await stored_answers(khooshe, 3401))["T8"] == 30


async def test_a_number_written_in_words_is_read_and_echoed_in_digits(khooshe: Khooshe) -> None:
    owner = await at_question(khooshe, 3403, 8)  # T8, a percentage
    await owner.send("حدود سی درصد")
    ninth = await owner.wait_for("سؤال ۹ از")
    assert ninth.text.startswith("✔️ ۳۰٪")
    assert (await stored_answers(khooshe, 3403))["T8"] == 30


async def test_none_in_words_is_zero_on_a_count(khooshe: Khooshe) -> None:
    owner = await at_question(khooshe, 3404, 18)  # E3, countries
    await owner.send("هیچ")
    await owner.wait_for("سؤال ۱۹ از")
    assert (await stored_answers(khooshe, 3404))["E3"] == 0


async def test_a_count_with_a_unit_word_is_accepted(khooshe: Khooshe) -> None:
    owner = await at_question(khooshe, 3402, 18)  # E3, countries
    await owner.send("۳ کشور")
    await owner.wait_for("سؤال ۱۹ از")
    assert (await stored_answers(khooshe, 3402))["E3"] == 3


async def test_a_two_digit_year_is_a_solar_hijri_year(khooshe: Khooshe) -> None:
    owner = await at_question(khooshe, 3403, 17)  # E2, the year exports began
    await owner.send("۹۵")
    await owner.wait_for("سؤال ۱۸ از")
    assert (await stored_answers(khooshe, 3403))["E2"] == 1395


async def test_a_typed_yes_answers_a_yes_no_question(khooshe: Khooshe) -> None:
    owner = await at_question(khooshe, 3404, 1)  # T1, website: yes / no buttons
    await owner.send("آره")
    next_question = await owner.wait_for("سؤال ۲ از")
    assert next_question.text.startswith("✔️ بله")
    assert (await stored_answers(khooshe, 3404))["T1"] == "yes"


async def test_a_typed_no_answers_a_yes_no_question(khooshe: Khooshe) -> None:
    owner = await at_question(khooshe, 3405, 1)
    await owner.send("نه")
    await owner.wait_for("سؤال ۲ از")
    assert (await stored_answers(khooshe, 3405))["T1"] == "no"


async def test_an_out_of_range_number_gets_one_short_line_not_the_question_again(khooshe: Khooshe) -> None:
    owner = await at_question(khooshe, 3406, 8)
    await owner.send("۱۵۰")
    assert said(await owner.settle()) == [ONE_NUMBER_0_100_FA]
    assert times_shown(owner, 8) == 1
    assert "T8" not in await stored_answers(khooshe, 3406)


async def test_two_numbers_get_one_short_line_not_the_question_again(khooshe: Khooshe) -> None:
    owner = await at_question(khooshe, 3407, 8)
    await owner.send("۲۰ تا ۳۰")
    assert said(await owner.settle()) == [JUST_ONE_NUMBER_FA]
    assert times_shown(owner, 8) == 1


async def test_the_question_can_be_answered_after_a_refusal(khooshe: Khooshe) -> None:
    owner = await at_question(khooshe, 3408, 8)
    await owner.send("زیاد")  # "a lot": no number
    await owner.settle()
    await owner.send("30")
    await owner.wait_for("سؤال ۹ از")
    assert (await stored_answers(khooshe, 3408))["T8"] == 30


async def test_a_sticker_at_a_number_question_says_a_number_is_needed(khooshe: Khooshe) -> None:
    owner = await at_question(khooshe, 3409, 8)
    await owner.send_sticker()
    assert said(await owner.settle()) == [ONE_NUMBER_0_100_FA]
    await owner.send("۳۰")
    await owner.wait_for("سؤال ۹ از")


async def test_a_voice_message_at_a_button_question_says_to_use_the_buttons(khooshe: Khooshe) -> None:
    owner = await at_question(khooshe, 3410, 1)
    await owner.send_voice()
    assert said(await owner.settle()) == [USE_THE_BUTTONS_FA]
    await owner.press("بله")
    await owner.wait_for("سؤال ۲ از")


async def test_a_location_mid_assessment_keeps_the_question_on_screen(khooshe: Khooshe) -> None:
    owner = await at_question(khooshe, 3411, 2)
    await owner.send_location()
    await owner.settle()
    assert times_shown(owner, 2) == 1
    await owner.press("خیر")
    await owner.wait_for("سؤال ۳ از")


async def at_e1_in_version_2(khooshe: Khooshe, owner_id: int) -> tuple[FakeUser, BotEvent]:
    """A new owner in a version 2 round, with E1 (the split of sales) on screen."""
    async with khooshe.db.transaction() as repo:
        await repo.conn.execute("UPDATE rounds SET questionnaire_version = 2")
    owner = khooshe.user(owner_id)
    await register(owner)
    await owner.press("📋 شروع خودارزیابی")
    for n, answer in enumerate(BEFORE_E1_V2, start=1):
        await owner.wait_for(f"سؤال {fa_digits(n)} از")
        await give(owner, answer)
    return owner, await owner.wait_for("سؤال ۱۶ از")


async def test_a_single_hundred_means_all_sales_were_domestic(khooshe: Khooshe) -> None:
    owner, _e1 = await at_e1_in_version_2(khooshe, 3412)
    await owner.send("۱۰۰")
    after = await owner.wait_for("سؤال ۱۷ از")
    assert "برنامه صادراتی" in after.text  # E2 and E3 are skipped: no exports
    assert (await stored_answers(khooshe, 3412))["E1"] == [100, 0, 0]


async def test_the_sales_split_prompt_says_a_single_hundred_will_do(khooshe: Khooshe) -> None:
    _owner, e1 = await at_e1_in_version_2(khooshe, 3413)
    assert "اگر همه فروش داخلی بوده، فقط ۱۰۰ بنویسید." in e1.text


async def test_a_sticker_during_registration_says_what_the_step_needs(khooshe: Khooshe) -> None:
    owner = khooshe.user(3414)
    await owner.send("/start")
    await owner.wait_for("بنگاه خود را ثبت کنید")
    await owner.press("📝 ثبت‌نام بنگاه")
    await owner.wait_for("نام ثبتی")
    await owner.send_sticker()
    assert said(await owner.settle()) == [NAME_NEEDED_FA]
    await owner.send("کارخانه نمونه")
    await owner.wait_for("شناسه ملی")


async def test_a_typed_number_is_echoed_as_it_was_read(khooshe: Khooshe) -> None:
    owner = khooshe.user(4391)
    await register(owner, national_id=OTHER_VALID_NATIONAL_IDS[2])
    await owner.press("📋 شروع خودارزیابی")
    await answer_questions(owner, 1, 7)
    await owner.wait_for("سؤال ۸ از")
    await owner.send("حدود ۳۰ درصد")
    ninth = await owner.wait_for("سؤال ۹ از")
    assert ninth.text.startswith("✔️ ۳۰٪")
