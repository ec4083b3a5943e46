"""Memory holds the state of the users seen lately only (KHOOSHE_RESIDENT_USERS); a user forgotten
there while others wrote carries on where they left off, since everything they gave is in SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from bot.emulator import FakeBotApi, FakeUser
from tests.support.journeys import (
    TOTAL_QUESTIONS,
    VALID_NATIONAL_ID,
    answer_questions,
    fa_digits,
    register,
)
from tests.support.khooshe import Khooshe, start_khooshe, stop_khooshe

RESIDENT = 2
MENU = "بنگاه خود را ثبت کنید"


@pytest_asyncio.fixture
async def tiny(api: FakeBotApi, db_path: Path) -> AsyncIterator[Khooshe]:
    running = await start_khooshe(api, db_path, resident_users=RESIDENT)
    yield running
    await stop_khooshe(running)


async def others_write(khooshe: Khooshe, first_id: int, count: int = RESIDENT + 1) -> None:
    """``count`` other users open the menu, each waiting for it, so the earlier users are the
    least recently seen."""
    for user_id in range(first_id, first_id + count):
        other = khooshe.user(user_id)
        await other.send("/start")
        await other.wait_for(MENU)


async def begin_registration(owner: FakeUser) -> None:
    await owner.send("/register")
    await owner.wait_for("نام ثبتی")
    await owner.send("کارخانه نمونه")
    await owner.wait_for("شناسه ملی")


async def test_memory_holds_the_conversations_of_the_resident_users_only(tiny: Khooshe) -> None:
    for user_id in range(3801, 3806):
        await begin_registration(tiny.user(user_id))
    app = tiny.app
    held = [key for states in app._conversation_handler_conversations.values() for key in states]
    assert len(held) == RESIDENT
    assert len(tiny.services.languages) == RESIDENT


async def test_a_forgotten_owner_continues_the_registration_where_they_left_off(tiny: Khooshe) -> None:
    owner = tiny.user(3701)
    await begin_registration(owner)
    await others_write(tiny, 3711)
    assert tiny.services.resident is not None and 3701 not in tiny.services.resident

    # Typed text reaches the registration only if the bot knows the owner is at the ID step.
    await owner.send(VALID_NATIONAL_ID)
    await owner.wait_for("کدام استان")
    await owner.press("فارس")
    await owner.wait_for("کدام شهرک")


async def test_a_forgotten_owner_continues_the_assessment_at_the_same_question(tiny: Khooshe) -> None:
    owner = tiny.user(3702)
    await register(owner)
    await owner.press("📋 شروع خودارزیابی")
    await answer_questions(owner, 1, 7)
    await owner.wait_for(f"سؤال ۸ از {fa_digits(TOTAL_QUESTIONS)}")
    await others_write(tiny, 3721)
    assert tiny.services.resident is not None and 3702 not in tiny.services.resident

    await owner.send("۳۰")  # question 8 takes a typed number
    await owner.wait_for(f"سؤال ۹ از {fa_digits(TOTAL_QUESTIONS)}")


async def test_a_forgotten_owner_still_reads_the_language_they_chose(tiny: Khooshe) -> None:
    owner = tiny.user(3703)
    await owner.send("/start")
    await owner.wait_for(MENU)
    await owner.press("🌐 English")
    await owner.wait_for("register your firm")
    await others_write(tiny, 3731)
    assert tiny.services.resident is not None and 3703 not in tiny.services.resident

    await owner.send("/start")
    await owner.wait_for("register your firm")
