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


async def test_an_admin_corrects_the_estate_a_firm_registered_in(firms: Khooshe) -> None:
    admin = firms.user(ADMIN_ID)
    async with firms.db.read() as repo:
        firm = await repo.firms.by_owner(ZARRIN)
        target = await repo.estates.get(2)
    assert firm is not None and target is not None and firm.estate_id == 1
    await admin.send(f"/moveestate {fa(str(firm.id))} 2")
    done = await admin.wait_for("اکنون در")
    assert f"«{target.name}»" in done.text
    async with firms.db.read() as repo:
        moved = await repo.firms.by_owner(ZARRIN)
        audited = [e for e in await repo.access.all_audit_entries() if e.action == "move_firm"]
    assert moved is not None and (moved.estate_id, moved.province_id) == (2, target.province_id)
    assert [(e.user_id, e.target) for e in audited] == [(ADMIN_ID, f"firm {firm.id}")]


async def test_moving_a_firm_to_an_estate_that_does_not_exist_changes_nothing(firms: Khooshe) -> None:
    admin = firms.user(ADMIN_ID)
    await admin.send("/moveestate 1 99999")
    await admin.wait_for("شهرک #۹۹۹۹۹ وجود ندارد")
    async with firms.db.read() as repo:
        firm = await repo.firms.by_id(1)
    assert firm is not None and firm.estate_id == 1
