"""A firm owner registers through the real bot over HTTP, making mistakes on the way."""

from __future__ import annotations

import asyncio

from bot.emulator import FakeUser
from storage.repositories.firms import FIRM_FIELDS
from tests.support.journeys import (
    OTHER_VALID_NATIONAL_IDS,
    VALID_NATIONAL_ID,
    has_button,
    register,
)
from tests.support.khooshe import ADMIN_ID, Khooshe


async def test_registration_with_wrong_inputs_on_the_way(khooshe: Khooshe) -> None:
    owner = khooshe.user(1001, "Reza")
    await owner.send("/start")
    menu = await owner.wait_for("سلام Reza")
    assert ["📝 ثبت‌نام بنگاه"] in menu.buttons
    await owner.press("📝 ثبت‌نام بنگاه")
    await owner.wait_for("نام ثبتی")
    await owner.send("  شركت صنايع   غذايي دشت  ")  # Arabic ي/ك and stray spaces
    await owner.wait_for("شناسه ملی")

    await owner.send("۱۰۳۸۰۲۸۴۷۹۲")  # bad check digit, Persian digits
    assert "رقم کنترل" in (await owner.wait_for("معتبر نیست")).text
    # One line says what is wrong; the question stays on screen above it, not sent again.
    assert [e.text for e in await owner.settle() if e.is_message] == []
    await owner.send("10380abc790")
    await owner.wait_for("فقط از رقم")
    await owner.send("1038028479")
    await owner.wait_for("شما ۱۰ رقم نوشتید")
    await owner.send("۱۰۳۸۰-۲۸۴ ۷۹۰")  # valid, with a dash and a space
    await owner.wait_for("کدام استان")

    await owner.press("تهران")
    estates = await owner.wait_for("کدام شهرک")
    assert "صفحه ۱ از ۲" in estates.text
    await owner.send("فولاد مبارکه")  # no such estate in Tehran
    await owner.wait_for("هیچ شهرکی")
    await owner.send("آباد")
    filtered = await owner.wait_for("منطبق با «آباد»")
    assert ["شهرک صنعتی شمس‌آباد"] in filtered.buttons
    await owner.press("شهرک صنعتی شمس‌آباد")
    await owner.wait_for("خوشه کسب‌وکار")
    await owner.send("خوشه پوشاک")  # typed instead of pressed
    await owner.wait_for("با دکمه‌ها")
    await owner.press("خوشه پوشاک")
    await owner.wait_for("کدام بخش")
    await owner.press("صنعت و تولید")
    await owner.wait_for("چند نفر")
    await owner.send("چند نفر")  # no number
    await owner.wait_for("عدد صحیح")
    await owner.send("0")
    await owner.wait_for("عدد صحیح")
    await owner.send("٤٥")  # Arabic-Indic digits
    await owner.wait_for("سال شمسی")
    await owner.send("2009")
    await owner.wait_for("سال میلادی")
    await owner.send("۱۳۸۸")
    await owner.wait_for("شماره همراه")
    await owner.send("09121234567")  # typed, not shared
    await owner.wait_for("به‌جای تایپ")
    await owner.share_contact("+989350000000", user_id=555)  # someone else's contact
    await owner.wait_for("شخص دیگری")
    await owner.share_contact("+98 912 123 4567")
    review = await owner.wait_for("بررسی کنید")
    # The consent to be named is the review's last question; each answer confirms.
    assert "آیا اجازه می‌دهید نام بنگاه شما در رتبه‌بندی عمومی منتشر شود" in review.text
    assert "شرکت صنایع غذایی دشت" in review.text
    assert "۱۰۳۸۰۲۸۴۷۹۰" in review.text
    assert "شهرک صنعتی شمس‌آباد" in review.text and "۴۵" in review.text and "۱۳۸۸" in review.text

    # Edit one field from the review, then confirm.
    await owner.press("✏️ تعداد کارکنان")
    await owner.wait_for("چند نفر")
    await owner.send("52")
    review = await owner.wait_for("بررسی کنید")
    assert "۵۲" in review.text
    await owner.press("✅ تأیید، بی‌نام بماند")
    await owner.wait_for("بنگاه شما ثبت شد")

    async with khooshe.db.read() as repo:
        firm = await repo.firms.by_owner(1001)
    assert firm is not None
    assert firm.name == "شرکت صنایع غذایی دشت"
    assert firm.national_id == VALID_NATIONAL_ID
    assert firm.employees == 52 and firm.founded_year == 1388
    assert firm.phone == "+989121234567" and firm.consent_public is False
    assert firm.sector == "C"


async def test_cancel_keeps_the_draft_and_changing_province_asks_estate_again(khooshe: Khooshe) -> None:
    owner = khooshe.user(1002)
    await owner.send("/register")
    await owner.wait_for("نام ثبتی")
    await owner.send("کارگاه فرش")
    await owner.wait_for("شناسه ملی")
    await owner.send("/cancel")
    await owner.wait_for("ثبت‌نام متوقف شد")
    await owner.wait_for(lambda e: has_button(e, "📝 ادامه ثبت‌نام"))
    await owner.send("hello?")  # outside a conversation: the menu, never silence
    await owner.wait_for(lambda e: has_button(e, "📝 ادامه ثبت‌نام"))
    await owner.press("📝 ادامه ثبت‌نام")
    await owner.wait_for("شناسه ملی بنگاه چیست")
    await owner.send(OTHER_VALID_NATIONAL_IDS[0])
    await owner.wait_for("کدام استان")
    await owner.press("اصفهان")
    await owner.wait_for("کدام شهرک")
    await owner.press("↩️ تغییر استان")
    await owner.wait_for("کدام استان")
    await owner.press("کرمان")
    listing = await owner.wait_for("کدام شهرک")
    assert any("خضرا" in b for row in listing.buttons for b in row)
    assert not any("محمودآباد" in b for row in listing.buttons for b in row)


async def test_national_id_of_another_firm_is_refused(khooshe: Khooshe) -> None:
    first, second = khooshe.user(1003), khooshe.user(1004)
    await register(first)
    await second.send("/register")
    await second.wait_for("نام ثبتی")
    await second.send("بنگاه دوم")
    await second.wait_for("شناسه ملی")
    await second.send(VALID_NATIONAL_ID)
    await second.wait_for("قبلاً با حساب دیگری ثبت شده")


async def test_registered_owner_edits_profile(khooshe: Khooshe) -> None:
    owner = khooshe.user(1005)
    await register(owner)
    await owner.send("/profile")
    profile = await owner.wait_for("مشخصات بنگاه شما")
    assert "شهرک صنعتی برازجان" in profile.text
    await owner.press("✏️ ویرایش مشخصات")
    await owner.wait_for("بررسی کنید")
    await owner.press("✏️ نام بنگاه")
    await owner.wait_for("نام ثبتی")
    await owner.send("خرمای طلایی برازجان")
    await owner.wait_for("بررسی کنید")
    await owner.press("✅ تأیید")
    await owner.wait_for("به‌روز شد")
    async with khooshe.db.read() as repo:
        firm = await repo.firms.by_owner(1005)
    assert firm is not None and firm.name == "خرمای طلایی برازجان"
    assert set(FIRM_FIELDS) <= set(firm.model_dump())


async def test_english_registration(khooshe: Khooshe) -> None:
    owner = khooshe.user(1006, "Sara", language_code="en")
    await owner.send("/start")
    menu = await owner.wait_for("Hello Sara")
    assert ["📝 Register my firm"] in menu.buttons
    await owner.press("📝 Register my firm")
    await owner.wait_for("registered name")
    await owner.send("Dashtestan Dates Co")
    await owner.wait_for("national ID")
    await owner.send("12345")
    await owner.wait_for("you typed 5")
    await owner.send(OTHER_VALID_NATIONAL_IDS[1])
    await owner.wait_for("Which province")
    await owner.press("Bushehr")
    await owner.wait_for("Which estate")


async def test_language_switch_from_the_menu(khooshe: Khooshe) -> None:
    owner = khooshe.user(1007)
    await owner.send("/start")
    await owner.wait_for("سلام")
    await owner.press("🌐 English")
    menu = await owner.wait_for("Language set to English")
    assert ["🌐 فارسی"] in menu.buttons
    await owner.send("/language")
    await owner.wait_for("Choose your language")
    await owner.press("فارسی")
    await owner.wait_for("زبان روی فارسی")


async def reach_review(owner: FakeUser, national_id: str = VALID_NATIONAL_ID) -> int:
    """Registers up to the review screen; returns the review message's id."""
    await owner.send("/register")
    await owner.wait_for("نام ثبتی")
    await owner.send("کارخانه دوبار")
    await owner.wait_for("شناسه ملی")
    await owner.send(national_id)
    await owner.wait_for("کدام استان")
    await owner.press("بوشهر")
    await owner.wait_for("کدام شهرک")
    await owner.press("شهرک صنعتی برازجان")
    await owner.wait_for("خوشه کسب‌وکار")
    await owner.press("عضو خوشه نیستیم")
    await owner.wait_for("کدام بخش")
    await owner.press("صنعت و تولید")
    await owner.wait_for("چند نفر")
    await owner.send("12")
    await owner.wait_for("سال شمسی")
    await owner.send("1395")
    await owner.wait_for("شماره همراه")
    await owner.share_contact()
    review = await owner.wait_for("بررسی کنید")
    await owner.settle()
    assert review.message_id is not None
    return review.message_id


async def test_national_id_typed_in_full_width_digits_is_accepted(khooshe: Khooshe) -> None:
    owner = khooshe.user(1011)
    await owner.send("/register")
    await owner.wait_for("نام ثبتی")
    await owner.send("صنایع تمام‌عرض")
    await owner.wait_for("شناسه ملی")
    await owner.send(VALID_NATIONAL_ID.translate(str.maketrans("0123456789", "０１２３４５６７８９")))
    reply = await owner.wait_for(lambda e: e.is_message and ("کدام استان" in e.text or "شناسه ملی" in e.text))
    assert "کدام استان" in reply.text, reply.text


async def test_both_taps_of_a_double_tapped_confirm_see_the_firm_registered(khooshe: Khooshe) -> None:
    owner = khooshe.user(1012)
    review = await reach_review(owner)
    confirm = "✅ تأیید، نام ما نمایش داده شود"
    await asyncio.gather(owner.press(confirm, message=review), owner.press(confirm, message=review))
    sent = [e.text for e in await owner.settle() if e.event == "send"]
    assert len(sent) == 2 and all(text.startswith("🎉 بنگاه شما ثبت شد") for text in sent), sent


async def test_a_national_id_taken_by_another_account_can_be_sent_to_the_admins(khooshe: Khooshe) -> None:
    khooshe.user(ADMIN_ID)  # the admin has a chat with the bot
    holder = khooshe.user(1091)
    await register(holder)  # VALID_NATIONAL_ID, registered first
    claimant = khooshe.user(1092, "Sara")
    await claimant.send("/register")
    await claimant.wait_for("نام ثبتی")
    await claimant.send("صنایع غذایی نمونه")
    await claimant.wait_for("شناسه ملی")
    await claimant.send(VALID_NATIONAL_ID)
    refused = await claimant.wait_for("قبلاً با حساب دیگری ثبت شده")
    assert refused.buttons == [["📨 درخواست بررسی از مدیران سامانه"]]
    await claimant.press("📨 درخواست بررسی از مدیران سامانه")
    await claimant.wait_for("درخواست شما به مدیران سامانه رسید")
    await khooshe.drain()
    [notice] = [m.text for m in khooshe.api.messages(ADMIN_ID) if "📨" in m.text]
    nid = VALID_NATIONAL_ID.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    assert f"Sara (شناسه ۱۰۹۲) می‌گوید بنگاه با شناسه ملی {nid} از آنِ اوست" in notice
    assert "مالک با شناسه ۱۰۹۱" in notice
    await claimant.send(OTHER_VALID_NATIONAL_IDS[0])  # the registration goes on meanwhile
    await claimant.wait_for("کدام استان")
