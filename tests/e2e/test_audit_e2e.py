"""/audit speaks Persian: action names instead of codes, filters by person, action and Solar Hijri
day, pages turned with buttons that edit the message in place, views left out unless asked for."""

from __future__ import annotations

from bot.emulator import BotEvent
from tests.support.clock import TEST_NOW, tehran
from tests.support.journeys import fa_digits
from tests.support.khooshe import ADMIN_ID, Khooshe

MANAGER = 7602
BLOCKED = "کاربری را مسدود کرد"
PROMOTED = "کاربری را مدیر سامانه کرد"
VIEWED_DASHBOARD = "داشبوردی را دید"
OPENED_DASHBOARD = "داشبوردی را باز کرد"
OLDER, NEWER = "قدیمی‌تر", "تازه‌تر"


async def prepare(khooshe: Khooshe) -> None:
    """1405/09/01: three blocks by the admin; 1405/09/05: twenty promotions, the manager's five
    dashboard views and one refused dashboard of another estate."""
    clock = khooshe.services.clock
    clock.set(tehran("1405/09/01 10:00"))
    async with khooshe.db.transaction() as repo:
        for n in range(3):
            await repo.access.audit(user_id=ADMIN_ID, action="block", target=f"user {7700 + n}", outcome="ok")
    clock.set(tehran("1405/09/05 10:00"))
    async with khooshe.db.transaction() as repo:
        for n in range(20):
            await repo.access.audit(user_id=ADMIN_ID, action="promote", target=f"user {7800 + n}", outcome="ok")
        for _ in range(5):
            await repo.access.audit(user_id=MANAGER, action="dashboard", target="estate:1", outcome="ok")
        await repo.access.audit(user_id=MANAGER, action="dash", target="estate:2", outcome="refused",
                                detail="not a manager of this estate")
    clock.set(TEST_NOW)


async def audit(khooshe: Khooshe, command: str) -> BotEvent:
    admin = khooshe.user(ADMIN_ID)
    await admin.settle()
    await admin.send(command)
    return await admin.wait_for(lambda e: e.is_message)


def count(text: str, name: str) -> int:
    return sum(1 for line in text.split("\n") if name in line)


async def test_audit_names_actions_in_persian(khooshe: Khooshe) -> None:
    await prepare(khooshe)
    shown = await audit(khooshe, "/audit")
    assert PROMOTED in shown.text
    assert "promote" not in shown.text
    assert f"کاربر {fa_digits(ADMIN_ID)}" in shown.text


async def test_audit_filters_by_person_and_keeps_refusals_but_not_views(khooshe: Khooshe) -> None:
    await prepare(khooshe)
    shown = await audit(khooshe, f"/audit {fa_digits(MANAGER)}")
    assert count(shown.text, OPENED_DASHBOARD) == 1 and "رد شد" in shown.text
    assert VIEWED_DASHBOARD not in shown.text
    assert PROMOTED not in shown.text


async def test_audit_shows_views_when_asked_by_button(khooshe: Khooshe) -> None:
    await prepare(khooshe)
    shown = await audit(khooshe, f"/audit {MANAGER}")
    admin = khooshe.user(ADMIN_ID)
    await admin.press("بازدیدها را هم نشان بده", shown.message_id)
    edited = await admin.wait_for(lambda e: e.event == "edit" and e.message_id == shown.message_id)
    assert count(edited.text, VIEWED_DASHBOARD) == 5


async def test_audit_shows_views_when_asked_by_word(khooshe: Khooshe) -> None:
    await prepare(khooshe)
    shown = await audit(khooshe, f"/audit {MANAGER} همه")
    assert count(shown.text, VIEWED_DASHBOARD) == 5


async def test_audit_filters_by_action(khooshe: Khooshe) -> None:
    await prepare(khooshe)
    shown = await audit(khooshe, "/audit block")
    assert count(shown.text, BLOCKED) == 3
    assert PROMOTED not in shown.text


async def test_audit_filters_by_solar_hijri_day(khooshe: Khooshe) -> None:
    await prepare(khooshe)
    since = await audit(khooshe, "/audit از ۱۴۰۵/۰۹/۰۳")
    assert BLOCKED not in since.text and PROMOTED in since.text
    until = await audit(khooshe, "/audit تا ۱۴۰۵/۰۹/۰۱")
    assert count(until.text, BLOCKED) == 3 and PROMOTED not in until.text


async def test_audit_pages_edit_the_message_in_place(khooshe: Khooshe) -> None:
    await prepare(khooshe)
    first = await audit(khooshe, "/audit promote")
    assert count(first.text, PROMOTED) == 15
    assert "user ۷۸۱۹" in first.text  # newest first
    admin = khooshe.user(ADMIN_ID)
    await admin.press(OLDER, first.message_id)
    second = await admin.wait_for(lambda e: e.event == "edit" and e.message_id == first.message_id)
    assert f"صفحه‌ی {fa_digits(2)}" in second.text and count(second.text, PROMOTED) == 5
    assert "user ۷۸۰۰" in second.text
    assert not any(OLDER in b for row in second.buttons for b in row)
    await admin.press(NEWER, first.message_id)
    back = await admin.wait_for(lambda e: e.event == "edit" and e.message_id == first.message_id)
    assert f"صفحه‌ی {fa_digits(1)}" in back.text and count(back.text, PROMOTED) == 15


async def test_audit_explains_a_filter_it_cannot_read(khooshe: Khooshe) -> None:
    shown = await audit(khooshe, "/audit @someone")
    assert "شناسه‌ی عددی" in shown.text


async def test_help_shows_the_audit_filters(khooshe: Khooshe) -> None:
    admin = khooshe.user(ADMIN_ID)
    await admin.send("/help")
    shown = await admin.wait_for("/audit ")
    assert "/audit [شناسه‌کاربر] [کار] [از تاریخ] [تا تاریخ] [همه]" in shown.text


async def test_audit_actions_lists_codes_with_their_names(khooshe: Khooshe) -> None:
    shown = await audit(khooshe, "/audit کارها")
    assert "round_open – دوره‌ای را باز کرد" in shown.text


async def test_a_forged_audit_page_button_is_refused_to_a_manager(khooshe: Khooshe) -> None:
    await prepare(khooshe)
    async with khooshe.db.transaction() as repo:
        await repo.access.add_manager(user_id=MANAGER, estate_id=1, by=ADMIN_ID)
    manager = khooshe.user(MANAGER)
    await manager.send("/start")
    await manager.wait_for(lambda e: e.is_message)
    await manager.settle()
    await manager.press_data("aud:0:::::1")
    answer = await manager.wait_for(lambda e: e.event == "answer")
    assert "فقط برای مدیران سامانه" in answer.text
    async with khooshe.db.read() as repo:
        entries = await repo.access.audit_entries(user_id=MANAGER, limit=1)
    assert [(e.action, e.outcome, e.target) for e in entries] == [("audit_page", "refused", "aud:0:::::1")]
