"""A Bot API fault on the button's acknowledgement never costs the press its effect."""

from __future__ import annotations

from bot.emulator import FakeBotApi
from tests.support.khooshe import Khooshe


async def test_a_failed_button_acknowledgement_still_starts_the_registration(
    khooshe: Khooshe, api: FakeBotApi,
) -> None:
    owner = khooshe.user(3701)
    await owner.send("/start")
    await owner.wait_for("بنگاه خود را ثبت کنید")
    api.fail_next("answerCallbackQuery", 502)
    await owner.press("📝 ثبت‌نام بنگاه")
    await owner.wait_for("نام ثبتی")
    assert not [e for e in await owner.settle(0.3) if e.is_message and "متأسفیم" in e.text]
    # The failed acknowledgement leaves one press unanswered on the fake; a phone stops spinning by itself.
    api.callback_queries.clear()
