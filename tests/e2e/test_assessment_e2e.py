"""Firm owners answer the self-assessment through the real bot, over HTTP."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from tests.support.factories import full_answers, submit
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


async def stored_answers(khooshe: Khooshe, owner_id: int) -> dict[str, object]:
    async with khooshe.db.read() as repo:
        firm = await repo.firms.by_owner(owner_id)
        round_ = await repo.rounds.open_round()
        assert firm is not None and round_ is not None
        submission = await repo.submissions.for_firm(round_id=round_.id, firm_id=firm.id)
        assert submission is not None
        return await repo.answers.all(submission.id)


async def test_full_assessment_with_mistakes_back_and_edit(khooshe: Khooshe) -> None:
    owner = khooshe.user(2001)
    await register(owner)
    await owner.press("📋 شروع خودارزیابی")
    intro = await owner.wait_for("حدود پنج دقیقه")
    assert f"{fa_digits(TOTAL_QUESTIONS)} سؤال" in intro.text
    await answer_questions(owner, 1, 7)

    # T8 is typed: letters and out-of-range numbers are refused and asked again.
    await owner.wait_for(f"سؤال ۸ از {fa_digits(TOTAL_QUESTIONS)}")
    await owner.send("زیاد")  # "a lot"
    await owner.wait_for("عدد صحیح بین ۰ و ۱۰۰")
    await owner.send("150")
    await owner.wait_for("عدد صحیح بین ۰ و ۱۰۰")
    await give(owner, MANUFACTURER_ANSWERS[7])

    # Back from T9 to T8 shows the saved answer; answering it again moves on to T9.
    await owner.wait_for("سؤال ۹ از")
    await owner.press("➡️ قبلی")
    again = await owner.wait_for("سؤال ۸ از")
    assert "پاسخ فعلی: ۳۰٪" in again.text
    await owner.send("35")
    await answer_questions(owner, 9, 15)

    # E1 must total 100.
    await owner.wait_for("سؤال ۱۶ از")
    await owner.send("70 20 20")
    await owner.wait_for("جمع سه سهم ۱۱۰٪ است")
    await owner.send("هفتاد")
    await owner.wait_for("سه عدد بنویسید")
    await give(owner, MANUFACTURER_ANSWERS[15])
    await answer_questions(owner, 17, TOTAL_QUESTIONS)

    review = await owner.wait_for("پاسخ‌هایتان را مرور کنید")
    assert "۳۵٪" in review.text and "۷۰٪ / ۲۰٪ / ۱۰٪" in review.text
    assert len(review.text) <= 4096
    # Edit T8 back to 30 from the review; the bot returns to the review.
    await owner.press("✏️ ۸")
    await owner.wait_for("سؤال ۸ از")
    await owner.send("30")
    await owner.wait_for("پاسخ‌هایتان را مرور کنید")
    await owner.press("✅ ارسال")
    scores = await owner.wait_for("امتیازهای موقت")
    assert "فناوری" in scores.text
    # Hand-computed: tech 49.7 → ۵۰, quality ۷۶, export ۶۲, innovation ۵۰, overall 59.4 → ۵۹.
    assert ": ۵۰\n" in scores.text + "\n" and "۷۶" in scores.text and "۶۲" in scores.text
    assert "امتیاز کل: ۵۹" in scores.text

    answers = await stored_answers(khooshe, 2001)
    assert answers["T8"] == 30 and answers["E1"] == [70, 20, 10] and answers["T3"] == ["own_site", "social"]
    assert len(answers) == TOTAL_QUESTIONS
    async with khooshe.db.read() as repo:
        firm = await repo.firms.by_owner(2001)
        round_ = await repo.rounds.open_round()
        submission = await repo.submissions.for_firm(round_id=round_.id, firm_id=firm.id)  # type: ignore[union-attr]
    assert submission is not None and submission.status == "submitted"

    # Coming back after submitting shows the scores, never the questions again.
    await owner.send("/assess")
    await owner.wait_for("امتیازهای موقت")


async def test_leaving_and_coming_back_resumes_at_first_unanswered(khooshe: Khooshe) -> None:
    owner = khooshe.user(2002)
    await register(owner, national_id=OTHER_VALID_NATIONAL_IDS[0])
    await owner.press("📋 شروع خودارزیابی")
    await answer_questions(owner, 1, 3)
    await owner.wait_for("سؤال ۴ از")
    await owner.send("/start")
    await owner.wait_for("ادامه دهید")
    assert await stored_answers(khooshe, 2002) == {"T1": "yes", "T2": "no", "T3": ["own_site", "social"]}
    await owner.send("something random")  # outside the assessment: the menu
    menu = await owner.wait_for(lambda e: e.is_message and any(
        b == f"📋 ادامه خودارزیابی (۳ از {fa_digits(TOTAL_QUESTIONS)})" for row in e.buttons for b in row))
    assert menu is not None
    await owner.press(f"📋 ادامه خودارزیابی (۳ از {fa_digits(TOTAL_QUESTIONS)})")
    await owner.wait_for("دوباره خوش آمدید")
    await owner.wait_for("سؤال ۴ از")


async def test_old_buttons_and_multi_choice_rules(khooshe: Khooshe) -> None:
    owner = khooshe.user(2003)
    await register(owner, national_id=OTHER_VALID_NATIONAL_IDS[1])
    await owner.press("📋 شروع خودارزیابی")
    first = await owner.wait_for("سؤال ۱ از")
    await owner.press("بله")
    await owner.wait_for("سؤال ۲ از")
    # A button on the first question's (now closed) message is refused politely.
    await owner.press_data(first.button_data[0][0] or "", message=first.message_id)
    await owner.wait_for(lambda e: e.event == "answer" and "قبلاً پاسخ داده‌اید" in e.text)
    assert sum("سؤال ۲ از" in m.text for m in owner.messages()) == 1
    await owner.press("خیر")
    await owner.wait_for("سؤال ۳ از")
    await owner.press("ثبت انتخاب‌ها ✔️")  # nothing ticked
    alert = await owner.wait_for(lambda e: e.event == "answer" and "دست‌کم یک گزینه" in e.text)
    assert alert.show_alert
    await owner.press("شبکه‌های اجتماعی")
    await owner.wait_for(lambda e: e.event == "edit")
    await owner.press("هیچ‌کدام")  # exclusive: clears the others
    ticked = await owner.wait_for(lambda e: e.event == "edit")
    assert ["✅ هیچ‌کدام"] in ticked.buttons and ["▫️ شبکه‌های اجتماعی"] in ticked.buttons
    await owner.press("ثبت انتخاب‌ها ✔️")
    await owner.wait_for("سؤال ۴ از")
    assert (await stored_answers(khooshe, 2003))["T3"] == ["none"]


async def test_two_owners_interleaved_do_not_see_each_other(khooshe: Khooshe) -> None:
    a, b = khooshe.user(2004, "Ali"), khooshe.user(2005, "Babak")
    await asyncio.gather(
        register(a, name="فولادسازان دشت", national_id=OTHER_VALID_NATIONAL_IDS[2]),
        register(b, name="خرمای بم نوین", national_id=OTHER_VALID_NATIONAL_IDS[3], province="کرمان",
                 estate="شهرک صنعتی بم", cluster="خوشه خرمای بم"),
    )
    await a.press("📋 شروع خودارزیابی")
    await b.press("📋 شروع خودارزیابی")

    await asyncio.gather(answer_questions(a, 1, 6), answer_questions(b, 1, 3))
    await a.wait_for("سؤال ۷ از")
    await b.wait_for("سؤال ۴ از")
    assert len(await stored_answers(khooshe, 2004)) == 6
    assert len(await stored_answers(khooshe, 2005)) == 3
    assert not any("خرمای بم نوین" in m.text for m in a.messages())
    assert not any("فولادسازان دشت" in m.text for m in b.messages())
    async with khooshe.db.read() as repo:
        firm_a, firm_b = await repo.firms.by_owner(2004), await repo.firms.by_owner(2005)
    assert firm_a is not None and firm_a.name == "فولادسازان دشت"
    assert firm_b is not None and firm_b.name == "خرمای بم نوین"


async def test_unregistered_owner_is_sent_to_registration(khooshe: Khooshe) -> None:
    owner = khooshe.user(2006)
    await owner.send("/assess")
    await owner.wait_for("ابتدا بنگاه خود را ثبت کنید")


async def test_no_open_round(khooshe_no_round: Khooshe) -> None:
    owner = khooshe_no_round.user(2007)
    await register(owner)
    await owner.send("/assess")
    await owner.wait_for("هیچ دوره ارزیابی‌ای باز نیست")


async def test_a_repeat_firm_submits_last_rounds_answers_in_three_presses(khooshe: Khooshe) -> None:
    owner = khooshe.user(2011)
    await register(owner, national_id=OTHER_VALID_NATIONAL_IDS[2])
    now = khooshe.services.clock.now()
    async with khooshe.db.transaction() as repo:
        earlier = await repo.rounds.create(
            title="تابستان ۱۴۰۵", questionnaire_version=1, opens_at=now - timedelta(days=100),
            closes_at=now - timedelta(days=70), state="closed",
        )
        firm = await repo.firms.by_owner(2011)
    assert firm is not None
    await submit(khooshe.db, earlier.id, firm.id, full_answers(1))

    await owner.press("📋 شروع خودارزیابی")
    await owner.wait_for("«تابستان ۱۴۰۵»")
    first = await owner.wait_for("سؤال ۱ از")
    assert ["📋 همان پاسخ‌های دوره قبل"] in first.buttons
    await owner.press("📋 همان پاسخ‌های دوره قبل")
    review = await owner.wait_for("پاسخ‌هایتان را مرور کنید")
    assert f"{fa_digits(TOTAL_QUESTIONS - 1)} پاسخ از «تابستان ۱۴۰۵» پر شد" in review.text
    await owner.press("✅ ارسال")
    await owner.wait_for("امتیازهای موقت")
    answers = await stored_answers(khooshe, 2011)
    assert answers == {qid: value for qid, value in full_answers(1).items() if qid != "P3"}


async def test_submitted_answers_can_be_changed_while_the_round_is_open(khooshe: Khooshe) -> None:
    owner = khooshe.user(2012)
    await register(owner, national_id=OTHER_VALID_NATIONAL_IDS[3])
    await owner.press("📋 شروع خودارزیابی")
    await answer_questions(owner, 1, TOTAL_QUESTIONS)
    await owner.wait_for("پاسخ‌هایتان را مرور کنید")
    await owner.press("✅ ارسال")
    menu = await owner.wait_for("می‌توانید پاسخ‌هایتان را تغییر دهید")
    assert any("✏️ تغییر پاسخ‌ها" in row for row in menu.buttons)

    await owner.press("✏️ تغییر پاسخ‌ها")
    review = await owner.wait_for("پاسخ‌هایتان را مرور کنید")
    assert "می‌توانید پاسخ‌هایتان را تغییر دهید" in review.text
    await owner.press("✏️ ۸")
    await owner.wait_for("سؤال ۸ از")
    await owner.send("80")
    await owner.wait_for("پاسخ‌هایتان را مرور کنید")
    await owner.press("✅ ارسال")
    await owner.wait_for("امتیازهای موقت")
    async with khooshe.db.read() as repo:
        firm = await repo.firms.by_owner(2012)
        round_ = await repo.rounds.open_round()
        assert firm is not None and round_ is not None
        submission = await repo.submissions.for_firm(round_id=round_.id, firm_id=firm.id)
        assert submission is not None
        answers = await repo.answers.all(submission.id)
    assert submission.status == "submitted" and answers["T8"] == 80


async def test_help_opens_and_closes_inside_the_question(khooshe: Khooshe) -> None:
    owner = khooshe.user(2013)
    await register(owner, national_id=OTHER_VALID_NATIONAL_IDS[0])
    await owner.press("📋 شروع خودارزیابی")
    await answer_questions(owner, 1, 2)
    question = await owner.wait_for("سؤال ۳ از")
    sent_before = len(owner.messages())
    await owner.press("❓ راهنما")
    opened = await owner.wait_for("دیجی‌کالا")
    assert opened.message_id == question.message_id
    assert any("❓ بستن راهنما" in row for row in opened.buttons)
    await owner.press("❓ بستن راهنما")
    closed = await owner.wait_for(lambda e: e.message_id == question.message_id and "❓ راهنما" in str(e.buttons))
    assert "دیجی‌کالا" not in closed.text
    assert len(owner.messages()) == sent_before  # no message left behind


async def test_a_typed_answer_takes_the_buttons_off_the_question_it_answers(khooshe: Khooshe) -> None:
    owner = khooshe.user(2014)
    await register(owner, national_id=OTHER_VALID_NATIONAL_IDS[1])
    await owner.press("📋 شروع خودارزیابی")
    await answer_questions(owner, 1, 7)
    t8 = await owner.wait_for("سؤال ۸ از")
    assert t8.buttons != []
    await owner.send("30")
    await owner.wait_for("سؤال ۹ از")
    await owner.settle()
    assert not (khooshe.api.message(owner.id, t8.message_id).reply_markup or {}).get("inline_keyboard")
