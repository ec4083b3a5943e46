"""Failures reach the operators' chat (KHOOSHE_ALERT_CHAT, else the admins): once per kind in a
while, naming the update and the code, never what the user typed; the apology fits the user."""

from __future__ import annotations

from bot.emulator import FakeBotApi, FakeUser
from tests.support.khooshe import ADMIN_ID, Khooshe

OWNER_APOLOGY = "پاسخ‌های قبلی شما محفوظ است"
APOLOGY = "مشکلی از طرف ما پیش آمد"
ALERT = "پردازش یک به‌روزرسانی شکست خورد"


async def fail_the_reply_to(user: FakeUser, api: FakeBotApi, text: str) -> None:
    """``user`` sends ``text`` and the bot's first reply is refused with a 400, so the handler fails."""
    api.fail_next("sendMessage", 400, "Bad Request: message text is empty")
    await user.send(text)
    await user.wait_for(APOLOGY)


async def test_a_failed_update_alerts_the_admins_without_personal_data(khooshe: Khooshe, api: FakeBotApi) -> None:
    admin = khooshe.user(ADMIN_ID, "Admin")
    owner = khooshe.user(4801, "Zarrin 09121112233")
    await admin.send("/help")
    await admin.wait_for("/stats")
    await fail_the_reply_to(owner, api, "/start")
    alert = await admin.wait_for(ALERT)
    assert "BadRequest" in alert.text
    assert "handlers/" in alert.text
    assert "Zarrin" not in alert.text and "0912" not in alert.text and "۰۹۱۲" not in alert.text


async def test_the_same_failure_again_soon_sends_no_second_alert(khooshe: Khooshe, api: FakeBotApi) -> None:
    admin = khooshe.user(ADMIN_ID, "Admin")
    await admin.send("/help")
    await admin.wait_for("/stats")
    for owner_id in (4802, 4803):
        await fail_the_reply_to(khooshe.user(owner_id), api, "/start")
    await admin.wait_for(ALERT)
    later = await admin.settle(0.5)
    assert not [e for e in later if e.is_message and ALERT in e.text]


async def test_an_admins_apology_does_not_speak_of_answers(khooshe: Khooshe, api: FakeBotApi) -> None:
    admin = khooshe.user(ADMIN_ID, "Admin")
    await fail_the_reply_to(admin, api, "/rounds")
    apologies = [e.text for e in admin.messages() if APOLOGY in e.text]
    assert len(apologies) == 1
    assert OWNER_APOLOGY not in apologies[0]


async def test_an_owners_apology_says_the_answers_are_safe(khooshe: Khooshe, api: FakeBotApi) -> None:
    owner = khooshe.user(4804)
    await fail_the_reply_to(owner, api, "/start")
    apologies = [e.text for e in owner.messages() if APOLOGY in e.text]
    assert OWNER_APOLOGY in apologies[0]
