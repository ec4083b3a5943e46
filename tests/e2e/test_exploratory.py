"""Exploratory end-to-end tests: the bot tried the way real owners and admins use it.

Every test runs the real bot against the strict fake Bot API server.  Most also check that no
update failed (an ERROR log from ``bot.application`` means the user got the apology message).
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.emulator import BotEvent, FakeUser
from tests.support.journeys import (
    MANUFACTURER_ANSWERS,
    OTHER_VALID_NATIONAL_IDS,
    TOTAL_QUESTIONS,
    VALID_NATIONAL_ID,
    answer_questions,
    close_round,
    fa_digits,
    give,
    has_button,
    publish_round,
    register,
)
from tests.support.khooshe import ADMIN_ID, Khooshe

APOLOGY_FA = "مشکلی از طرف ما پیش آمد"
APOLOGY_EN = "Sorry, something went wrong"
REVIEW_FA = "پاسخ‌هایتان را مرور کنید"
NAME_QUESTION_FA = "نام ثبتی بنگاه شما چیست؟"
NAME_NEEDED_FA = "لطفاً نام بنگاه را به صورت پیام متنی بنویسید."
NATIONAL_ID_QUESTION_FA = "شناسه ملی بنگاه چیست؟ ۱۱ رقم دارد."
CLUSTER_QUESTION_FA = "آیا بنگاه عضو یک خوشه کسب‌وکار است؟"
NO_LONGER_ACTIVE_FA = "این دکمه دیگر فعال نیست."
NATIONAL_ID_TAKEN_FA = "این شناسه ملی قبلاً با حساب دیگری ثبت شده است."


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name}: {r.getMessage()} {r.exc_info[1] if r.exc_info else ''}"
            for r in caplog.records if r.levelno >= logging.ERROR]


def said(events: list[BotEvent]) -> list[str]:
    """The texts of the messages among ``events`` (sent or edited), in order; an older screen
    whose keyboard was only taken off says nothing new."""
    return [e.text for e in events if e.is_message and not e.keyboard_removed]


def no_apology(user: FakeUser) -> None:
    texts = [e.text for e in user.events if e.is_message]
    assert not any(APOLOGY_FA in t or APOLOGY_EN in t for t in texts), texts


async def start_registration(user: FakeUser) -> None:
    await user.send("/start")
    await user.wait_for("بنگاه خود را ثبت کنید")
    await user.press("📝 ثبت‌نام بنگاه")
    await user.wait_for("نام ثبتی")


async def reach_question(owner: FakeUser, n: int) -> BotEvent:
    """From the menu of a registered owner: starts the assessment and answers 1..n-1."""
    await owner.press("📋 شروع خودارزیابی")
    if n > 1:
        await answer_questions(owner, 1, n - 1)
    return await owner.wait_for(f"سؤال {fa_digits(n)} از")


# --- registration ------------------------------------------------------------------------------


async def test_html_special_characters_in_firm_name_are_shown_literally(
    khooshe: Khooshe, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    owner = khooshe.user(3001, first_name="<b>Ali & \"Co\"</b>")
    name = "<b>صنایع</b> & \"کیان\" 'نو' 🌾"
    await register(owner, name=name)
    await owner.send("/profile")
    profile = await owner.wait_for("نام")
    assert name in profile.text
    await owner.send("/start")
    menu = await owner.wait_for("سلام")
    assert "<b>Ali & \"Co\"</b>" in menu.text and name in menu.text
    no_apology(owner)
    assert errors(caplog) == []


async def test_name_length_and_shape_rules(khooshe: Khooshe) -> None:
    owner = khooshe.user(3002)
    await start_registration(owner)
    await owner.send("       ")
    await owner.wait_for("نام باید بین")
    await owner.send("ک" * 101)
    await owner.wait_for("نام باید بین")
    await owner.send("۱۲۳۴۵")
    await owner.wait_for("شبیه یک عدد")
    await owner.send("ک" * 100)
    await owner.wait_for("شناسه ملی")


async def test_national_id_with_arabic_digits_spaces_and_dashes(khooshe: Khooshe) -> None:
    owner = khooshe.user(3003)
    await start_registration(owner)
    await owner.send("کارخانه نمونه")
    await owner.wait_for("شناسه ملی")
    arabic = VALID_NATIONAL_ID.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    await owner.send(f"{arabic[:3]}-{arabic[3:7]} {arabic[7:]}")
    await owner.wait_for("کدام استان")
    async with khooshe.db.read() as repo:
        draft = await repo.drafts.get(3003)
    assert draft is not None and draft.data["national_id"] == VALID_NATIONAL_ID


async def test_typed_province_with_arabic_kaf_and_estate_search_with_arabic_yeh(khooshe: Khooshe) -> None:
    owner = khooshe.user(3004)
    await start_registration(owner)
    await owner.send("کارخانه نمونه")
    await owner.wait_for("شناسه ملی")
    await owner.send(OTHER_VALID_NATIONAL_IDS[0])
    await owner.wait_for("کدام استان")
    await owner.send("كرمان")  # Arabic kaf
    await owner.wait_for("کدام شهرک")
    await owner.send("زيرزمين")  # no such estate, Arabic yeh
    await owner.wait_for("«زیرزمین»")  # echoed normalised, with a polite "no match"
    await owner.send("بم")
    found = await owner.wait_for("بم")  # the only match: chosen at once
    assert "شهرک صنعتی بم" in found.text and has_button(found, "✏️ تغییر شهرک")


async def test_province_without_estates_offers_to_name_the_estate_or_change_province(khooshe: Khooshe) -> None:
    owner = khooshe.user(3005)
    await start_registration(owner)
    await owner.send("کارخانه نمونه")
    await owner.wait_for("شناسه ملی")
    await owner.send(OTHER_VALID_NATIONAL_IDS[1])
    await owner.wait_for("کدام استان")
    await owner.press("ایلام")
    none = await owner.wait_for(lambda e: e.event == "send" and "ایلام" in e.text)
    assert none.buttons == [["🏷 شهرک من در فهرست نیست"], ["↩️ تغییر استان"]]
    await owner.press("↩️ تغییر استان")
    await owner.wait_for("کدام استان")
    await owner.press("بوشهر")
    await owner.wait_for("کدام شهرک")


async def test_edit_province_from_review_asks_estate_and_cluster_then_returns_to_review(khooshe: Khooshe) -> None:
    owner = khooshe.user(3006)
    await register(owner)
    await owner.send("/profile")
    await owner.wait_for("مشخصات")
    await owner.press("✏️")
    review = await owner.wait_for("بررسی کنید")
    edit = next(b for row in review.buttons for b in row if "استان" in b)
    await owner.press(edit)
    await owner.wait_for("کدام استان")
    await owner.press("کرمان")
    await owner.wait_for("کدام شهرک")
    await owner.press("شهرک صنعتی بم")
    await owner.wait_for("خوشه کسب‌وکار")
    await owner.press("خوشه خرمای بم")
    review = await owner.wait_for("بررسی کنید")
    assert "شهرک صنعتی بم" in review.text and "کرمان" in review.text
    await owner.press("✅ تأیید")
    await owner.wait_for("به‌روز")
    async with khooshe.db.read() as repo:
        firm = await repo.firms.by_owner(3006)
        estate = await repo.estates.get(firm.estate_id)  # type: ignore[union-attr]
    assert estate is not None and estate.name == "شهرک صنعتی بم"


async def test_editing_profile_then_cancel_keeps_profile(khooshe: Khooshe) -> None:
    owner = khooshe.user(3007)
    await register(owner)
    await owner.send("/register")
    review = await owner.wait_for("بررسی کنید")
    edit = next(b for row in review.buttons for b in row if "نام" in b and "رتبه" not in b)
    await owner.press(edit)
    await owner.wait_for("نام ثبتی")
    await owner.send("نام تازه")
    await owner.wait_for("بررسی کنید")
    await owner.send("/cancel")
    await owner.wait_for("تغییری نکرد")
    async with khooshe.db.read() as repo:
        firm = await repo.firms.by_owner(3007)
    assert firm is not None and firm.name == "صنایع غذایی نمونه"


async def test_contact_of_someone_else_and_typed_phone_are_refused(khooshe: Khooshe) -> None:
    owner = khooshe.user(3008)
    await start_registration(owner)
    await owner.send("کارخانه نمونه")
    await owner.wait_for("شناسه ملی")
    await owner.send(OTHER_VALID_NATIONAL_IDS[2])
    await owner.wait_for("کدام استان")
    await owner.press("بوشهر")
    await owner.wait_for("کدام شهرک")
    await owner.press("شهرک صنعتی برازجان")
    await owner.wait_for("خوشه کسب‌وکار")
    await owner.press("عضو خوشه نیستیم")
    await owner.wait_for("کدام بخش")
    await owner.press("صنعت و تولید")
    await owner.wait_for("چند نفر")
    await owner.send("1,200")
    await owner.wait_for("سال شمسی")
    await owner.send("2005")
    await owner.wait_for("میلادی")
    await owner.send("۱۳۹۰")
    await owner.wait_for("شماره همراه")
    await owner.send("09121234567")
    await owner.wait_for("به‌جای تایپ")
    await owner.share_contact("+989121111111", user_id=999)
    await owner.wait_for("شخص دیگری")
    await owner.share_contact("989121234567")
    await owner.wait_for("آیا اجازه")
    async with khooshe.db.read() as repo:
        draft = await repo.drafts.get(3008)
    assert draft is not None and draft.data["phone"] == "+989121234567" and draft.data["employees"] == 1200


async def test_register_command_mid_registration_asks_the_current_step_again(khooshe: Khooshe) -> None:
    """/register while registering asks the step the owner is at again: no menu, no pause."""
    owner = khooshe.user(3009)
    await start_registration(owner)
    await owner.send("کارخانه نمونه")
    await owner.wait_for("شناسه ملی")
    await owner.send("/register")
    assert said(await owner.settle()) == [NATIONAL_ID_QUESTION_FA]
    await owner.send(VALID_NATIONAL_ID)
    await owner.wait_for("کدام استان")


async def test_photo_at_name_step_gets_a_polite_retry(khooshe: Khooshe) -> None:
    owner = khooshe.user(3010)
    await start_registration(owner)
    await owner.send_photo(b"\x89PNG\r\n\x1a\n" + b"\0" * 8 + (16).to_bytes(4, "big") + (16).to_bytes(4, "big"))
    # One short line of what the step needs, and nothing else (no main menu, no question again).
    assert said(await owner.settle()) == [NAME_NEEDED_FA]
    await owner.send("کارخانه نمونه")
    await owner.wait_for("شناسه ملی")


async def test_contact_shared_at_name_step_keeps_the_conversation(khooshe: Khooshe) -> None:
    owner = khooshe.user(3011)
    await start_registration(owner)
    await owner.share_contact()
    # A contact is not a name: one short line says so, and nothing else (no main menu).
    assert said(await owner.settle()) == [NAME_NEEDED_FA]
    await owner.send("کارخانه نمونه")
    await owner.wait_for("شناسه ملی")


async def test_stale_review_button_while_editing_a_field(khooshe: Khooshe) -> None:
    """After ✏️ Name on the review, the review's other buttons stay on screen; pressing one
    must not throw the owner out of the edit."""
    owner = khooshe.user(3012)
    await register(owner)
    await owner.send("/register")
    review = await owner.wait_for("بررسی کنید")
    edit_name = next(b for row in review.buttons for b in row if "نام" in b and "رتبه" not in b)
    await owner.press(edit_name, message=review.message_id)
    await owner.wait_for("نام ثبتی")
    await owner.press("✅ تأیید", message=review.message_id)
    await owner.settle()
    await owner.send("نام بسیار تازه")
    again = await owner.wait_for("بررسی کنید")
    assert "نام بسیار تازه" in again.text


async def test_two_owners_race_for_the_same_national_id(khooshe: Khooshe, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    a, b = khooshe.user(3013), khooshe.user(3014)

    async def until_review(user: FakeUser) -> None:
        await start_registration(user)
        await user.send("کارخانه " + str(user.id))
        await user.wait_for("شناسه ملی")
        await user.send(OTHER_VALID_NATIONAL_IDS[3])
        await user.wait_for("کدام استان")
        await user.press("بوشهر")
        await user.wait_for("کدام شهرک")
        await user.press("شهرک صنعتی برازجان")
        await user.wait_for("خوشه کسب‌وکار")
        await user.press("عضو خوشه نیستیم")
        await user.wait_for("کدام بخش")
        await user.press("صنعت و تولید")
        await user.wait_for("چند نفر")
        await user.send("10")
        await user.wait_for("سال شمسی")
        await user.send("1390")
        await user.wait_for("شماره همراه")
        await user.share_contact()
        await user.wait_for("بررسی کنید")

    await asyncio.gather(until_review(a), until_review(b))
    confirm = "✅ تأیید، نام ما نمایش داده شود"
    await asyncio.gather(a.press(confirm), b.press(confirm))
    await a.settle()
    await b.settle()
    async with khooshe.db.read() as repo:
        owners = [await repo.firms.by_owner(3013), await repo.firms.by_owner(3014)]
    assert sum(f is not None for f in owners) == 1
    loser = a if owners[0] is None else b
    # The loser is told the ID is taken and asked for the national ID again.
    told = said(loser.events)
    assert told[-2].startswith(NATIONAL_ID_TAKEN_FA), told[-2:]
    assert told[-1] == NATIONAL_ID_QUESTION_FA, told[-2:]
    await loser.send(OTHER_VALID_NATIONAL_IDS[0])
    await loser.wait_for("بررسی کنید")
    assert errors(caplog) == []


# --- assessment ----------------------------------------------------------------------------------


async def test_apostrophe_in_free_text_answer_breaks_the_persian_review(
    khooshe: Khooshe, caplog: pytest.LogCaptureFixture
) -> None:
    """P3 typed with an ASCII apostrophe: html.escape makes it &#x27;, then localize_digits turns
    that into &#x۲۷; — not an HTML entity, so Telegram rejects the whole review message."""
    caplog.set_level(logging.ERROR)
    owner = khooshe.user(3101)
    await register(owner)
    await reach_question(owner, TOTAL_QUESTIONS)
    await owner.send("برق 'قطع' می‌شود")
    review = await owner.wait_for(lambda e: e.is_message and (REVIEW_FA in e.text or APOLOGY_FA in e.text))
    assert REVIEW_FA in review.text, review.text
    assert "'قطع'" in review.text
    assert errors(caplog) == []


async def test_typed_answer_formats(khooshe: Khooshe, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    owner = khooshe.user(3102)
    await register(owner)
    await reach_question(owner, 8)
    await owner.send("۳۰٪")
    await answer_questions(owner, 9, 15)
    await owner.wait_for("سؤال ۱۶ از")
    await owner.send("۷۰ و ۲۰ و ۱۰")
    await owner.wait_for("سؤال ۱۷ از")
    await owner.press("➡️ قبلی")
    await owner.wait_for("سؤال ۱۶ از")
    await owner.send("70%, 20%, 10%")
    await owner.wait_for("سؤال ۱۷ از")
    await owner.send("2019")
    await owner.wait_for("سال شمسی")
    await owner.send("ندارم")
    await owner.wait_for("سؤال ۱۸ از")
    await owner.send("-1")
    await owner.wait_for("عدد صحیح")
    await owner.send("۲۵۱")
    await owner.wait_for("عدد صحیح")
    await owner.send("۰")
    await owner.wait_for("سؤال ۱۹ از")
    async with khooshe.db.read() as repo:
        firm = await repo.firms.by_owner(3102)
        round_ = await repo.rounds.open_round()
        sub = await repo.submissions.for_firm(round_id=round_.id, firm_id=firm.id)  # type: ignore[union-attr]
        answers = await repo.answers.all(sub.id)  # type: ignore[union-attr]
    assert answers["T8"] == 30 and answers["E1"] == [70, 20, 10] and answers["E2"] == "none" and answers["E3"] == 0
    assert errors(caplog) == []


async def test_gregorian_year_at_e2_gets_a_hint(khooshe: Khooshe) -> None:
    """Registration says «looks like a Gregorian year»; E2 only repeats the range."""
    owner = khooshe.user(3103)
    await register(owner)
    await reach_question(owner, 17)
    await owner.send("2019")
    reply = await owner.wait_for("سال شمسی")
    assert "میلادی" in reply.text, reply.text


async def test_p3_too_long_then_skip_and_review_in_english_fits(khooshe: Khooshe, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    owner = khooshe.user(3104)
    await register(owner)
    await reach_question(owner, TOTAL_QUESTIONS)
    await owner.send("الف" * 200)
    await owner.wait_for("کمتر از ۵۰۰ نویسه")
    await owner.press("چیزی ندارم، ادامه ⏭")
    review = await owner.wait_for(REVIEW_FA)
    assert len(review.text) <= 4096
    assert "(بدون پاسخ)" in review.text
    await owner.send("/cancel")
    await owner.wait_for(lambda e: has_button(e, "🌐 English"))
    await owner.press("🌐 English")
    await owner.wait_for("Language set to English")
    await owner.send("/assess")
    en = await owner.wait_for(lambda e: e.is_message and "review your answers" in e.text)
    assert len(en.text) <= 4096
    assert errors(caplog) == []


async def test_double_tap_does_not_show_the_next_question_twice(khooshe: Khooshe) -> None:
    owner = khooshe.user(3105)
    await register(owner)
    first = await reach_question(owner, 1)
    assert first.buttons[0][0] == "بله"
    data = first.button_data[0][0] or ""
    await owner.press_data(data, message=first.message_id)
    await owner.press_data(data, message=first.message_id)
    await owner.settle()
    shown = [m for m in owner.messages() if "سؤال ۲ از" in m.text]
    assert len(shown) == 1, [m.text[:20] for m in shown]


async def test_text_at_button_question_and_help(khooshe: Khooshe, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    owner = khooshe.user(3106)
    await register(owner)
    await reach_question(owner, 1)
    await owner.send("شاید")
    # One short line; the question stays on screen above it rather than being sent again.
    assert said(await owner.settle()) == ["لطفاً با دکمه‌های سؤال بالا پاسخ دهید."]
    await owner.press("بله")
    await owner.wait_for("سؤال ۲ از")
    await owner.press("خیر")
    await owner.wait_for("سؤال ۳ از")
    await owner.press("❓")
    help_ = await owner.wait_for("❓")
    assert "دیجی‌کالا" in help_.text
    no_apology(owner)
    assert errors(caplog) == []


async def test_assess_command_mid_assessment_shows_the_current_question(khooshe: Khooshe) -> None:
    owner = khooshe.user(3107)
    await register(owner)
    await reach_question(owner, 3)
    await owner.send("/assess")
    shown = said(await owner.settle())
    assert len(shown) == 1 and f"سؤال ۳ از {fa_digits(TOTAL_QUESTIONS)}" in shown[0], shown
    await give(owner, MANUFACTURER_ANSWERS[2])
    await owner.wait_for("سؤال ۴ از")


async def test_language_switch_mid_assessment(khooshe: Khooshe) -> None:
    owner = khooshe.user(3108)
    await register(owner)
    await reach_question(owner, 2)
    await owner.send("/language")
    await owner.wait_for(lambda e: has_button(e, "🌐 English"))
    await owner.press("🌐 English")
    await owner.wait_for(lambda e: e.event == "answer" and "Language set to English" in e.text)
    reply = await owner.wait_for(lambda e: e.is_message)
    assert "Question 2 of 28" in reply.text, reply.text  # the same question, now in English
    async with khooshe.db.read() as repo:
        stored = await repo.users.get(3108)
    assert stored is not None and stored.language == "en"


async def test_language_switch_mid_registration(khooshe: Khooshe) -> None:
    owner = khooshe.user(3109)
    await start_registration(owner)
    await owner.send("/language")
    await owner.wait_for(lambda e: has_button(e, "🌐 English"))
    await owner.press("🌐 English")
    await owner.wait_for(lambda e: e.event == "answer" and "Language set to English" in e.text)
    reply = await owner.wait_for(lambda e: e.is_message)
    assert "registered name" in reply.text, reply.text  # the same step, now in English


async def test_back_from_review_and_edit_then_back(khooshe: Khooshe) -> None:
    owner = khooshe.user(3110)
    await register(owner)
    await reach_question(owner, TOTAL_QUESTIONS)
    await give(owner, MANUFACTURER_ANSWERS[-1])
    review = await owner.wait_for(REVIEW_FA)
    await owner.press("➡️ قبلی", message=review.message_id)
    await owner.wait_for(f"سؤال {fa_digits(TOTAL_QUESTIONS)} از")
    await owner.send("متن دیگر")
    review = await owner.wait_for(REVIEW_FA)
    await owner.press("✏️ ۱۶", message=review.message_id)
    await owner.wait_for("سؤال ۱۶ از")
    await owner.press("➡️ قبلی")
    await owner.wait_for("سؤال ۱۵ از")
    await owner.press("خیر")
    await owner.wait_for(REVIEW_FA)
    await owner.press("✅ ارسال")
    await owner.wait_for("امتیازهای موقت")
    # Pressing Submit again (a replayed tap on the review) changes nothing.
    await owner.press_data(review.button_data[-1][1] or "", message=review.message_id)
    await owner.settle()
    async with khooshe.db.read() as repo:
        firm = await repo.firms.by_owner(3110)
        round_ = await repo.rounds.open_round()
        sub = await repo.submissions.for_firm(round_id=round_.id, firm_id=firm.id)  # type: ignore[union-attr]
    assert sub is not None and sub.status == "submitted"
    no_apology(owner)


async def test_round_closed_by_admin_while_owner_is_mid_assessment(khooshe: Khooshe, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    owner = khooshe.user(3111)
    admin = khooshe.user(ADMIN_ID, "Admin")
    await register(owner)
    await reach_question(owner, 2)
    async with khooshe.db.read() as repo:
        round_ = await repo.rounds.open_round()
    assert round_ is not None
    await close_round(admin, round_.id)
    await owner.press("بله")
    await owner.wait_for("دیگر باز نیست")
    await owner.send("۳۰")
    await owner.settle()
    await publish_round(admin, round_.id)
    await khooshe.drain()
    no_apology(owner)
    assert errors(caplog) == []


# --- admin ----------------------------------------------------------------------------------------


async def test_admin_round_commands_refuse_bad_input_politely(khooshe: Khooshe, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    admin = khooshe.user(ADMIN_ID, "Admin")
    await admin.send("/newround")
    await admin.wait_for("/newround")
    await admin.send("/newround دور | 1405/13/01 | 1405/12/01")
    await admin.wait_for("تاریخ شمسی")
    await admin.send("/newround دور | 1405/11/10 | 1405/11/01")
    await admin.wait_for("بعد از زمان آغاز")
    await admin.send("/newround دور | 1405/11/01 | 1405/11/10 | 1,1,1")
    await admin.wait_for("چهار عدد")
    await admin.send("/newround دور | 1405/11/01 | 1405/11/10 | ۰,۰,۰,۰")
    await admin.wait_for("چهار عدد")
    await admin.send("/rounds")
    await admin.wait_for("Autumn 1405")
    await admin.send("/editround 1 closes 1405/12/01")
    await admin.wait_for("/extend")
    await admin.send("/extend 1 1400/01/01")
    await admin.wait_for("دیرتر از")
    await admin.send("/extend 99 1410/01/01")
    await admin.wait_for("وجود ندارد")
    # Round 1 is open and unscored: nothing to compare, nothing to publish.
    await admin.send("/sensitivity 1 2,1,1,1")
    await admin.wait_for("هنوز امتیازی ندارد")
    await admin.send("/publish 1")
    await admin.wait_for("بسته و امتیازدهی شده")
    no_apology(admin)
    assert errors(caplog) == []


async def test_weights_nan_are_refused(khooshe: Khooshe, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    admin = khooshe.user(ADMIN_ID, "Admin")
    await admin.send("/newround دور | 1410/11/01 | 1410/11/10 | nan,1,1,1")
    reply = await admin.wait_for(lambda e: e.is_message)
    assert "چهار عدد" in reply.text, reply.text
    assert errors(caplog) == []


async def test_openround_while_another_is_open(khooshe: Khooshe) -> None:
    admin = khooshe.user(ADMIN_ID, "Admin")
    await admin.send("/newround دور بعدی | 1410/01/01 | 1410/01/20")
    await admin.wait_for("تأیید کنید")
    await admin.press("✅ ایجاد")
    created = await admin.wait_for("ایجاد شد")
    assert created is not None
    await admin.send("/openround 2")
    await admin.wait_for("باز است")


async def test_non_admin_is_refused_every_admin_command(khooshe: Khooshe) -> None:
    owner = khooshe.user(3201)
    for command in ("/rounds", "/newround a | 1410/01/01 | 1410/01/02", "/editround 1 title x",
                    "/openround 1", "/closeround 1", "/extend 1 1410/01/01", "/publish 1",
                    "/sensitivity 1 1,1,1,1"):
        await owner.send(command)
        await owner.wait_for("فقط برای مدیران")
    await owner.send("/start")
    await owner.wait_for("سلام")
    await owner.press_data("adm:rc:forgedtoken")
    await owner.wait_for(lambda e: e.event == "answer" and "فقط برای مدیران" in e.text)
    async with khooshe.db.read() as repo:
        round_ = await repo.rounds.open_round()
    assert round_ is not None


# --- settings and the menu -------------------------------------------------------------------------


async def test_mute_and_unmute_buttons_do_not_apologise(khooshe_no_round: Khooshe, caplog: pytest.LogCaptureFixture) -> None:
    """set_mute answers the callback query, then settings_menu answers it a second time:
    Telegram refuses the second answer, so every press ends in the apology message."""
    caplog.set_level(logging.ERROR)
    owner = khooshe_no_round.user(3302)
    await register(owner)
    await owner.send("/settings")
    await owner.wait_for("تنظیمات")
    await owner.press("🔕")
    await owner.wait_for(lambda e: e.event == "answer" and "خاموش" in e.text)
    shown = await owner.wait_for(lambda e: e.is_message)
    async with khooshe_no_round.db.read() as repo:
        assert (await repo.users.get(3302)).muted  # type: ignore[union-attr]
    assert "تنظیمات" in shown.text and any("🔔" in b for row in shown.buttons for b in row), shown.text
    no_apology(owner)
    assert errors(caplog) == []


async def test_myrank_help_and_unknown_input(khooshe_no_round: Khooshe, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    owner = khooshe_no_round.user(3301)
    await register(owner)
    await owner.send("/myrank")
    await owner.wait_for("هنوز نتیجه‌ای")
    await owner.send("/help")
    await owner.wait_for("/assess")
    await owner.send("/whatever")
    await owner.wait_for("فرمان /whatever وجود ندارد")
    await owner.send("سلام خوبید؟")
    await owner.wait_for("صنایع غذایی نمونه")
    await owner.send_document("a.pdf", b"%PDF-1.4", mime_type="application/pdf")
    await owner.wait_for("صنایع غذایی نمونه")
    await owner.send("/assess")
    await owner.wait_for("هیچ دوره ارزیابی‌ای باز نیست")
    no_apology(owner)
    assert errors(caplog) == []


async def test_multi_choice_toggle_after_done_changes_nothing(khooshe: Khooshe) -> None:
    owner = khooshe.user(3401)
    await register(owner)
    q3 = await reach_question(owner, 3)
    toggle_data = q3.button_data[0][0] or ""
    await owner.press(q3.buttons[0][0].removeprefix("▫️ "))
    await owner.wait_for(lambda e: e.event == "edit")
    await owner.press("ثبت انتخاب‌ها ✔️")
    await owner.wait_for("سؤال ۴ از")
    await owner.press_data(toggle_data, message=q3.message_id)
    await owner.wait_for(lambda e: e.event == "answer" and "قبلاً پاسخ داده‌اید" in e.text)
    async with khooshe.db.read() as repo:
        firm = await repo.firms.by_owner(3401)
        round_ = await repo.rounds.open_round()
        sub = await repo.submissions.for_firm(round_id=round_.id, firm_id=firm.id)  # type: ignore[union-attr]
        answers = await repo.answers.all(sub.id)  # type: ignore[union-attr]
    assert len(answers["T3"]) == 1 and sub.cursor == "T4"  # type: ignore[union-attr]


async def test_stale_estate_page_mid_registration_asks_the_current_step_again(khooshe: Khooshe) -> None:
    """«Next »» turns the list into its second page in place; a search's list is a message of
    its own.  After choosing on page 2, the search list's buttons are stale: pressing one is
    answered «no longer active» and the cluster question is asked again; the estate chosen on
    page 2 stays chosen."""
    owner = khooshe.user(3402)
    await start_registration(owner)
    await owner.send("کارخانه نمونه")
    await owner.wait_for("شناسه ملی")
    await owner.send(VALID_NATIONAL_ID)
    await owner.wait_for("کدام استان")
    await owner.press("تهران")
    page1 = await owner.wait_for(lambda e: e.event == "send" and "کدام شهرک" in e.text)
    assert "صفحه ۱ از ۲" in page1.text
    await owner.send("آباد")
    found = await owner.wait_for("منطبق با")
    await owner.press("بعدی", message=page1.message_id)
    page2 = await owner.wait_for(lambda e: e.event == "edit" and "صفحه ۲ از ۲" in e.text)
    chosen = int((page2.button_data[0][0] or "").rsplit(":", 1)[1])
    await owner.press(page2.buttons[0][0], message=page2.message_id)
    await owner.wait_for("خوشه کسب‌وکار")
    await owner.press(found.buttons[0][0], message=found.message_id)
    events = await owner.settle()
    assert [e.text for e in events if e.event == "answer"] == [NO_LONGER_ACTIVE_FA]
    assert said(events) == [CLUSTER_QUESTION_FA]
    async with khooshe.db.read() as repo:
        draft = await repo.drafts.get(3402)
    assert draft is not None and draft.step == "CLUSTER" and draft.data["estate_id"] == chosen
    await owner.press("عضو خوشه نیستیم")
    await owner.wait_for("کدام بخش")
