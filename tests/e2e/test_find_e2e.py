"""An admin finds a firm and its owner from what they know: words of the name, the national ID,
the phone number, the user id."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from bot.emulator import FakeBotApi
from storage.database import Database
from tests.support.factories import add_firm, national_id
from tests.support.khooshe import ADMIN_ID, Khooshe, seed, start_khooshe, stop_khooshe

ZARRIN, SEPAHAN = 6201, 6202


@pytest_asyncio.fixture
async def firms(api: FakeBotApi, db_path: Path) -> AsyncIterator[Khooshe]:
    async with Database(db_path) as db:
        await seed(db)
        await add_firm(db, ZARRIN, name="زرین کیمیا")
        await add_firm(db, SEPAHAN, name="خرمای سپاهان")
        async with db.transaction() as repo:
            await repo.users.ensure(user_id=ADMIN_ID, language="fa", first_name="Admin")
    running = await start_khooshe(api, db_path, seeded=True)
    yield running
    await stop_khooshe(running)


def fa(digits: str) -> str:
    return digits.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))


async def test_words_of_the_name_find_the_firm_however_they_are_spelled(firms: Khooshe) -> None:
    admin = firms.user(ADMIN_ID)
    await admin.send("/find زرين")  # Arabic yeh
    found = await admin.wait_for("پیدا شد")
    assert "«زرین کیمیا»" in found.text and "سپاهان" not in found.text
    assert f"شناسه ملی {fa(national_id(ZARRIN))}" in found.text


async def test_the_national_id_typed_in_persian_digits_finds_the_firm(firms: Khooshe) -> None:
    admin = firms.user(ADMIN_ID)
    await admin.send(f"/find {fa(national_id(SEPAHAN))}")
    found = await admin.wait_for("پیدا شد")
    assert "«خرمای سپاهان»" in found.text and "زرین" not in found.text


async def test_a_phone_number_written_at_home_finds_its_firms(firms: Khooshe) -> None:
    admin = firms.user(ADMIN_ID)
    await admin.send("/find 0912 000 0000")  # both firms were registered with +989120000000
    found = await admin.wait_for("پیدا شد")
    assert "«زرین کیمیا»" in found.text and "«خرمای سپاهان»" in found.text
    assert "تلفن ۰۹۱۲۰۰۰۰۰۰۰" in found.text


async def test_nothing_found_says_so(firms: Khooshe) -> None:
    admin = firms.user(ADMIN_ID)
    await admin.send("/find فولاد")
    await admin.wait_for("هیچ بنگاهی با «فولاد» پیدا نشد")


async def test_each_firm_found_shows_its_owner_and_roles(firms: Khooshe) -> None:
    admin = firms.user(ADMIN_ID)
    await admin.send("/find سپاهان")
    found = await admin.wait_for("پیدا شد")
    assert f"مالک: Owner {SEPAHAN} (شناسه {fa(str(SEPAHAN))}، بنگاه «خرمای سپاهان»)" in found.text
    assert "نقش‌های کنونی: فقط صاحب بنگاه" in found.text
