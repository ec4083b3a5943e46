"""Admins add estates and clusters step by step (province, name, kind or sector, confirmation),
warned of a name spelled like one already in the province; import .xlsx files; pick the estate
of an invitation with buttons; and the person whose role changes is told."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from openpyxl import Workbook

from bot.emulator import FakeBotApi
from bot.emulator.client import FakeUser
from bot.services import offload
from storage.database import Database
from tests.support.clock import TestClock
from tests.support.factories import add_firm
from tests.support.khooshe import ADMIN_ID, Khooshe, seed, start_khooshe, stop_khooshe

TEHRAN = 8
OWNER = 5302
ABBASABAD = "شهرک صنعتی عباس‌آباد"  # in the sample estates


@pytest_asyncio.fixture
async def bot(api: FakeBotApi, db_path: Path) -> AsyncIterator[Khooshe]:
    async with Database(db_path) as db:
        await seed(db, open_round=False)
        await add_firm(db, OWNER, name="Zarrin Kimia")
    running = await start_khooshe(api, db_path, clock=TestClock(), seeded=True, tick_seconds=3600)
    yield running
    await stop_khooshe(running)


async def estates_named(bot: Khooshe, name: str) -> list[int]:
    async with bot.db.read() as repo:
        return [e.id for e in await repo.estates.of_province(TEHRAN) if e.name == name]


async def test_a_guided_estate_that_looks_like_one_already_there_is_added_only_when_confirmed(bot: Khooshe) -> None:
    admin = bot.user(ADMIN_ID, "Admin")
    await admin.send("/addestate")
    await admin.wait_for("در کدام استان است؟")
    await admin.press("تهران")
    await admin.wait_for("نامش چیست؟")
    await admin.send("عباس آباد")
    kinds = await admin.wait_for("چه نوع جایی است؟")
    assert ["شهرک صنعتی"] in kinds.buttons and ["ناحیه صنعتی"] in kinds.buttons
    await admin.send("estate")  # typed where a button is asked
    await admin.wait_for("از دکمه‌های بالا")
    await admin.press("شهرک صنعتی")
    warning = await admin.wait_for("شبیه")
    assert ABBASABAD in warning.text
    assert await estates_named(bot, "عباس آباد") == []
    await admin.press("➕ باز هم بیفزا")
    await admin.wait_for("افزوده شد")
    assert len(await estates_named(bot, "عباس آباد")) == 1


async def test_cancel_in_the_middle_of_a_guided_cluster_adds_nothing(bot: Khooshe) -> None:
    admin = bot.user(ADMIN_ID, "Admin")
    await admin.send("/addcluster")
    await admin.wait_for("در کدام استان است؟")
    await admin.press("تهران")
    await admin.wait_for("نامش چیست؟")
    await admin.send("/cancel")
    await admin.wait_for("چیزی افزوده نشد")
    await admin.send("خوشه تازه")  # no longer read as the name
    await admin.settle()
    async with bot.db.read() as repo:
        assert [c.name for c in await repo.clusters.of_province(TEHRAN) if c.name == "خوشه تازه"] == []


async def test_a_guided_cluster_gets_its_sector_from_a_button(bot: Khooshe) -> None:
    admin = bot.user(ADMIN_ID, "Admin")
    await admin.send("/addcluster")
    await admin.wait_for("در کدام استان است؟")
    await admin.press("تهران")
    await admin.wait_for("نامش چیست؟")
    await admin.send("خوشه مبلمان")
    await admin.wait_for("کدام بخش")
    await admin.press("صنعت و تولید")
    await admin.wait_for("افزوده شود؟")
    await admin.press("✅ افزودن")
    await admin.wait_for("افزوده شد")
    async with bot.db.read() as repo:
        sectors = {c.name: c.sector for c in await repo.clusters.of_province(TEHRAN)}
    assert sectors["خوشه مبلمان"] == "C"


async def test_the_one_line_form_asks_before_adding_a_near_duplicate(bot: Khooshe) -> None:
    admin = bot.user(ADMIN_ID, "Admin")
    await admin.send("/addestate تهران | ناحیه صنعتی عباس‌اباد | zone")
    await admin.wait_for("شبیه")
    await admin.press("✖️ لغو")
    await admin.wait_for("چیزی افزوده نشد")
    assert await estates_named(bot, "ناحیه صنعتی عباس‌اباد") == []


def workbook(*rows: tuple[object, ...]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_an_xlsx_import_adds_its_rows_and_reports_the_near_duplicates(bot: Khooshe) -> None:
    admin = bot.user(ADMIN_ID, "Admin")
    data = workbook(("province", "name", "kind"), ("تهران", "شهرک صنعتی نو", "estate"),
                    ("تهران", "عباسآباد", "estate"), (TEHRAN, "شهرک صنعتی تازه", "zone"))
    await admin.send_document("estates.xlsx", data, caption="/import estates")
    report = await admin.wait_for("ورود شهرک")
    assert "سطر ۳" in report.text and ABBASABAD in report.text
    assert len(await estates_named(bot, "شهرک صنعتی نو")) == 1
    assert len(await estates_named(bot, "شهرک صنعتی تازه")) == 1
    assert await estates_named(bot, "عباسآباد") == []


async def test_an_invitation_is_made_for_an_estate_picked_with_buttons(bot: Khooshe) -> None:
    admin = bot.user(ADMIN_ID, "Admin")
    await admin.send("/invite")
    await admin.wait_for("دعوت‌نامه برای کدام شهرک است؟")
    await admin.send("خوارزمی")
    found = await admin.wait_for("پیدا شد")
    await admin.press("شهرک صنعتی خوارزمی", message=found.message_id)
    ready = await admin.wait_for("start=")
    assert "خوارزمی" in ready.text
    async with bot.db.read() as repo:
        estate_ids = {e.name: e.id for e in await repo.estates.of_province(TEHRAN)}
        invitations = await repo.access.open_invitations(bot.services.clock.now())
    assert [i.estate_id for i in invitations] == [estate_ids["شهرک صنعتی خوارزمی"]]


async def test_an_invitation_estate_is_found_through_its_province(bot: Khooshe) -> None:
    admin = bot.user(ADMIN_ID, "Admin")
    await admin.send("/invite")
    await admin.wait_for("دعوت‌نامه برای کدام شهرک است؟")
    await admin.press("تهران")
    listing = await admin.wait_for("شهرک‌های تهران")
    await admin.press("شهرک صنعتی پرند", message=listing.message_id)
    await admin.wait_for("start=")


async def test_the_person_promoted_by_an_id_with_separators_is_told(bot: Khooshe) -> None:
    admin, owner = bot.user(ADMIN_ID, "Admin"), bot.user(OWNER, "Zari")
    await admin.send("/promote ۵٬۳۰۲")
    prompt = await admin.wait_for("مدیر سامانه شود؟")
    assert "Zarrin Kimia" in prompt.text
    await admin.press("✅ تأیید")
    await owner.wait_for("اکنون شما مدیر سامانه خوشه هستید")
    await admin.send("/demote 5,302")
    await admin.wait_for("گرفته شود؟")
    await admin.press("✅ تأیید")
    await owner.wait_for("دسترسی مدیر سامانه شما در خوشه برداشته شد")


async def test_a_blocked_user_is_not_messaged_but_an_unblocked_one_is_told(bot: Khooshe) -> None:
    admin, owner = bot.user(ADMIN_ID, "Admin"), bot.user(OWNER, "Zari")
    await admin.send(f"/block #{OWNER}")
    await admin.wait_for("Zarrin Kimia")
    await admin.press("✅ تأیید")
    await admin.wait_for("مسدود")
    assert [e for e in await owner.settle(0.3) if e.is_message] == []
    await admin.send(f"/unblock {OWNER}")
    await owner.wait_for("دسترسی شما به خوشه برقرار شد")


async def reach(admin: FakeUser, step: str) -> None:
    """Walks a guided /addestate up to ``step``: province, name, kind or confirm."""
    await admin.send("/addestate")
    await admin.wait_for("در کدام استان است؟")
    if step == "province":
        return
    await admin.press("تهران")
    await admin.wait_for("نامش چیست؟")
    if step == "name":
        return
    await admin.send("شهرک صنعتی لغوشده")
    await admin.wait_for("چه نوع جایی است؟")
    if step == "kind":
        return
    await admin.press("ناحیه صنعتی")
    await admin.wait_for("افزوده شود؟")


@pytest.mark.parametrize("step", ["province", "name", "kind", "confirm"])
async def test_cancel_at_any_step_of_a_guided_estate_adds_nothing(bot: Khooshe, step: str) -> None:
    admin = bot.user(ADMIN_ID, "Admin")
    await reach(admin, step)
    await admin.send("/cancel")
    await admin.wait_for("چیزی افزوده نشد")
    assert await estates_named(bot, "شهرک صنعتی لغوشده") == []


async def test_the_provinces_page_and_a_refused_or_existing_name_is_asked_again(bot: Khooshe) -> None:
    admin = bot.user(ADMIN_ID, "Admin")
    await admin.send("/addestate")
    first = await admin.wait_for("در کدام استان است؟")
    assert not any("کرمان" in label for row in first.buttons for label in row)
    await admin.press("بعدی")
    await admin.wait_for(lambda e: e.event == "edit" and any("کرمان" in b for row in e.buttons for b in row))
    await admin.press("کرمان")
    await admin.wait_for("نامش چیست؟")
    await admin.send("شهرک صنعتی نو")
    await admin.wait_for("چه نوع جایی است؟")
    await admin.press("✖️ لغو")
    await admin.wait_for("چیزی افزوده نشد")
    await admin.send("/addestate")
    await admin.wait_for("در کدام استان است؟")
    await admin.press("تهران")
    await admin.wait_for("نامش چیست؟")
    await admin.send("شهرک صنعتی\nدو خطی")
    await admin.wait_for("در یک خط")
    await admin.send(ABBASABAD)
    await admin.wait_for("از قبل هست")
    await admin.send("شهرک صنعتی نو")
    await admin.wait_for("چه نوع جایی است؟")


async def test_an_xlsx_import_runs_in_the_worker_process(api: FakeBotApi, db_path: Path) -> None:
    """``KHOOSHE_OFFLOAD=process``, the production setting: the workbook is opened there."""
    async with Database(db_path) as db:
        await seed(db, open_round=False)
    khooshe = await start_khooshe(api, db_path, clock=TestClock(), seeded=True, tick_seconds=3600, offload="process")
    try:
        admin = khooshe.user(ADMIN_ID, "Admin")
        await admin.send_document("clusters.xlsx", workbook(("province", "name", "sector"), ("تهران", "خوشه چرم", "C")))
        await admin.wait_for("این فایل شامل چیست؟")
        await admin.press("🤝 خوشه‌ها")
        report = await admin.wait_for("ورود خوشه‌ها:", timeout=30)
        assert "۱ افزوده شد" in report.text
        assert offload.mode() == "process" and offload._offload.pool is not None
    finally:
        await stop_khooshe(khooshe)


async def estate_name(bot: Khooshe, estate_id: int) -> str:
    async with bot.db.read() as repo:
        estate = await repo.estates.get(estate_id)
    assert estate is not None
    return estate.name


async def test_a_rename_to_a_name_spelled_like_another_estate_waits_for_confirmation(bot: Khooshe) -> None:
    [other] = await estates_named(bot, ABBASABAD)
    admin = bot.user(ADMIN_ID, "Admin")
    await admin.send("/addestate تهران | شهرک نمونه | estate")
    await admin.wait_for("افزوده شد")
    [renamed] = await estates_named(bot, "شهرک نمونه")
    await admin.send(f"/renameestate {renamed} | عباس آباد")
    warning = await admin.wait_for("باز هم نام")
    assert ABBASABAD in warning.text
    assert await estate_name(bot, renamed) == "شهرک نمونه"
    await admin.press("✏️ باز هم نام عوض شود")
    await admin.wait_for("اکنون «عباس آباد» است")
    assert await estate_name(bot, renamed) == "عباس آباد"
    assert await estate_name(bot, other) == ABBASABAD


async def test_a_held_back_rename_cancelled_keeps_the_name(bot: Khooshe) -> None:
    admin = bot.user(ADMIN_ID, "Admin")
    await admin.send("/addestate تهران | شهرک نمونه | estate")
    await admin.wait_for("افزوده شد")
    [renamed] = await estates_named(bot, "شهرک نمونه")
    await admin.send(f"/renameestate {renamed} | عباس‌آباد صنعتی")
    await admin.wait_for("باز هم نام")
    await admin.press("✖️ لغو")
    await admin.wait_for("نام همان که بود می‌ماند")
    assert await estate_name(bot, renamed) == "شهرک نمونه"
