"""Whole journeys a firm owner takes, shared by the end-to-end tests."""

from __future__ import annotations

from tests.fakebot import BotEvent, FakeUser

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
    await user.share_contact("+98 912 123 4567")
    await user.wait_for("آیا اجازه")
    await user.press("بله، نام ما نمایش داده شود")
    await user.wait_for("بررسی کنید")
    await user.press("✅ تأیید")
    await user.wait_for("ثبت شد")
    await user.settle()


def has_button(event: BotEvent, text: str) -> bool:
    """Whether a message event carries an inline button with exactly this text."""
    return event.is_message and any(b == text for row in event.buttons for b in row)
