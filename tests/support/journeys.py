"""Whole journeys a firm owner takes, shared by the end-to-end tests."""

from __future__ import annotations

from bot.emulator import BotEvent, FakeUser

VALID_NATIONAL_ID = "10380284790"
OTHER_VALID_NATIONAL_IDS = ("10101234565", "14007654327", "10320894878", "10861512340")


async def register(
    user: FakeUser,
    *,
    name: str = "صنایع غذایی نمونه",
    national_id: str = VALID_NATIONAL_ID,
    province: str = "بوشهر",
    estate: str = "شهرک صنعتی برازجان",
    cluster: str = "خوشه فرآوری خرمای دشتستان",
    sector: str = "صنعت و تولید",
    phone: str = "+98 912 123 4567",
) -> None:
    """Registers a firm with good answers only, in Persian."""
    await user.send("/start")
    await user.wait_for("بنگاه خود را ثبت کنید")
    await user.press("📝 ثبت‌نام بنگاه")
    await user.wait_for("نام ثبتی")
    await user.send(name)
    await user.wait_for("شناسه ملی")
    await user.send(national_id)
    await user.wait_for("کدام استان")
    await user.press(province)
    await user.wait_for("کدام شهرک")
    await user.press(estate)
    await user.wait_for("خوشه کسب‌وکار")
    await user.press(cluster)
    await user.wait_for("کدام بخش")
    await user.press(sector)
    await user.wait_for("چند نفر")
    await user.send("۴۵")
    await user.wait_for("سال شمسی")
    await user.send("1388")
    await user.wait_for("شماره همراه")
    await user.share_contact(phone)
    await user.wait_for("بررسی کنید")
    # The consent to be named is asked on the review: its answer confirms.
    await user.press("✅ تأیید، نام ما نمایش داده شود")
    await user.wait_for("ثبت شد")
    await user.settle()


def has_button(event: BotEvent, text: str) -> bool:
    """Whether a message event carries an inline button with exactly this text."""
    return event.is_message and any(b == text for row in event.buttons for b in row)


def fa_digits(n: int) -> str:
    return str(n).translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))


# A manufacturing firm's answers, in questionnaire order: ("press", label), ("tick", [labels]) or
# ("type", text).  Scores by hand: tech 49.7, quality 76, export 62, innovation 50, overall 59.4.
MANUFACTURER_ANSWERS: list[tuple[str, object]] = [
    ("press", "بله"),                                   # T1 website: 100
    ("press", "خیر"),                                   # T2 email: 0
    ("tick", ["شبکه‌های اجتماعی", "سایت خودتان"]),       # T3: 80
    ("press", "نرم‌افزار حسابداری"),                     # T4: 67
    ("press", "صفحه‌گسترده"),                            # T5: 33
    ("press", "کنترل آماری فرایند"),                     # T6: 67
    ("press", "درگاه پرداخت اینترنتی"),                  # T7: 100
    ("type", "۳۰"),                                     # T8: 30
    ("press", "خیر"),                                   # T9: 0
    ("type", "20%"),                                    # T10: 20
    ("press", "در حال اخذ"),                             # Q1: 50
    ("tick", ["ISO 9001"]),                             # Q2: 30
    ("press", "پروانه داریم (اجباری)"),                 # Q3: 100
    ("press", "بله"),                                   # Q4: 100
    ("press", "خیر"),                                   # Q5 returns: 100
    ("type", "۷۰ ۲۰ ۱۰"),                               # E1: 2×10 + 20 = 40
    ("type", "1398"),                                   # E2: 6 years by 1404 → 100
    ("type", "3"),                                      # E3: 70
    ("press", "بله"),                                   # E4: 100
    ("press", "خیر"),                                   # E5: 0
    ("press", "بله"),                                   # I1: 100
    ("press", "بله"),                                   # I2: 100
    ("press", "خیر"),                                   # I3: 0
    ("type", "25"),                                     # I4: 50
    ("press", "خیر"),                                   # I5: 0
    ("tick", ["قطعی برق", "نوسان ارز"]),                 # P1
    ("press", "نوسان ارز"),                              # P2
    ("type", "قطعی برق در تابستان تولید را نصف می‌کند."),  # P3
]
TOTAL_QUESTIONS = len(MANUFACTURER_ANSWERS)


async def give(user: FakeUser, answer: tuple[str, object]) -> None:
    """Gives one answer the way a person would: press, tick then Done, or type."""
    how, what = answer
    if how == "press":
        await user.press(str(what))
    elif how == "tick":
        for label in what:  # type: ignore[union-attr]
            await user.press(label)
            await user.wait_for(lambda e, label=label: e.event == "edit" and any(
                b == f"✅ {label}" for row in e.buttons for b in row))
        await user.press("ثبت انتخاب‌ها ✔️")
    else:
        await user.send(str(what))


async def answer_questions(user: FakeUser, first: int, last: int) -> None:
    """Answers questions ``first``..``last`` (1-based), waiting for each to appear first."""
    for n in range(first, last + 1):
        await user.wait_for(f"سؤال {fa_digits(n)} از {fa_digits(TOTAL_QUESTIONS)}")
        await give(user, MANUFACTURER_ANSWERS[n - 1])


async def publish_round(admin: FakeUser, round_id: int) -> BotEvent:
    """/publish, confirmed with its button; returns the bot's "published" message."""
    await admin.send(f"/publish {round_id}")
    await admin.wait_for("منتشر شود")
    await admin.press("📣 انتشار")
    return await admin.wait_for("منتشر شد")


async def close_round(admin: FakeUser, round_id: int) -> BotEvent:
    """/closeround, confirmed with its button; returns the bot's "closed" message."""
    await admin.send(f"/closeround {round_id}")
    await admin.wait_for("بسته شود")
    await admin.press("🔒 بستن")
    return await admin.wait_for("بسته شد")
