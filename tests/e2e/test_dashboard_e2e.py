"""Estate managers' dashboard, export and nudge; admins' national stats, top 100 and full
export — over the fake Bot API server, with roles and scope checked on the server; firms are
answered while an export is being built."""

from __future__ import annotations

import io
import re

from openpyxl import load_workbook

from bot.emulator import BotEvent
from tests.support.factories import add_firm, full_answers, submit
from tests.support.hold import HeldBuild
from tests.support.journeys import fa_digits
from tests.support.khooshe import ADMIN_ID, Khooshe
from tests.support.scenarios import MANAGER, NOTE, OTHER_MANAGER, OWNERS

SOLAR_DATE = re.compile(r"^[۰-۹]{4}/[۰-۹]{2}/[۰-۹]{2}$")


async def refusals(khooshe: Khooshe, user_id: int) -> list[str]:
    async with khooshe.db.read() as repo:
        entries = await repo.access.audit_entries(user_id=user_id)
    return [f"{e.action} {e.target}" for e in entries if e.outcome == "refused"]


async def test_manager_dashboard_numbers_and_scope(published: tuple[Khooshe, int]) -> None:
    khooshe, _ = published
    manager = khooshe.user(MANAGER)
    await manager.send("/dashboard")
    await manager.wait_for("کدام شهرک")
    await manager.press("شهرک صنعتی عباس‌آباد")
    first = await manager.wait_for("داشبورد")
    events = [first, *await manager.settle()]
    text = "\n".join(e.text for e in events if e.is_message)
    assert all(len(e.text) < 4096 for e in events)
    assert f"بنگاه‌های ثبت‌شده: {fa_digits(7)}" in text
    assert f"ارسال‌شده: {fa_digits(6)}" in text
    assert f"شروع‌نکرده: {fa_digits(1)}" in text
    assert "میانگین کشور" in text and "امتیاز کل" in text
    # full_answers levels 0,1,2,0,1,2: four firms report power cuts, two working capital.
    assert f"قطعی برق: {fa_digits(4)} ({fa_digits(67)}٪)" in text
    assert f"سرمایه در گردش: {fa_digits(2)}" in text
    assert NOTE in text
    note_line = next(line for line in text.split("\n") if NOTE in line)
    assert "بنگاه" not in note_line
    assert f"هنوز پاسخ نداده‌اند ({fa_digits(1)})" in text and "بنگاه ساکت" in text
    assert "بنگاه شهرک دیگر" not in text

    # Estate 2 has one scored firm: no averages, and it says why.
    await manager.send("/dashboard 2")
    reply = await manager.wait_for("داشبورد")
    assert "دست‌کم ۵" in reply.text and "میانگین کشور" not in reply.text

    # Another estate's manager: refused by command and by a forged button, both audited.
    other = khooshe.user(OTHER_MANAGER)
    await other.send("/dashboard 1")
    await other.wait_for("اجازه")
    await other.send("/dashboard")
    await other.wait_for("داشبورد")  # their only estate, directly
    await other.settle()
    # A refused button is answered with an alert on the button, not a chat message.
    await other.press_data("dash:1")
    await other.wait_for(lambda e: e.event == "answer" and "اجازه" in e.text)
    await other.press_data("nudge:1")
    await other.wait_for(lambda e: e.event == "answer" and "اجازه" in e.text)
    await other.settle()
    assert (await refusals(khooshe, OTHER_MANAGER)).count("dash estate:1") == 2
    assert "nudge estate:1" in await refusals(khooshe, OTHER_MANAGER)

    # A firm owner is not a manager at all.
    owner = khooshe.user(OWNERS[0])
    await owner.send("/dashboard 1")
    await owner.wait_for("اجازه")
    await owner.settle()
    assert await refusals(khooshe, OWNERS[0])


async def test_export_is_rtl_persian_and_has_scores(published: tuple[Khooshe, int]) -> None:
    khooshe, _ = published
    manager = khooshe.user(MANAGER)
    await manager.send("/export 1")
    doc = await manager.wait_for(lambda e: e.is_message and e.kind == "document")
    assert doc.file_name is not None and doc.file_name.endswith(".xlsx") and doc.data
    wb = load_workbook(io.BytesIO(doc.data))
    firms, problems = wb.worksheets[0], wb.worksheets[1]
    assert firms.title == "بنگاه‌ها" and problems.title == "نقاط فشار"
    assert all(ws.sheet_view.rightToLeft for ws in wb.worksheets)
    rows = list(firms.values)
    header = list(rows[0])
    for column in ("بنگاه", "وضعیت پاسخ", "تاریخ ثبت‌نام", "امتیاز کل", "رتبه در شهرک", "رتبه کشوری"):
        assert column in header
    by_name = {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    assert set(by_name) == {f"بنگاه شماره {o}" for o in OWNERS} | {"بنگاه ساکت"}
    scored = by_name[f"بنگاه شماره {OWNERS[2]}"]
    assert scored["وضعیت پاسخ"] == "ارسال‌شده"
    assert SOLAR_DATE.match(scored["تاریخ ثبت‌نام"]) and SOLAR_DATE.match(scored["تاریخ ارسال"])
    assert isinstance(scored["امتیاز کل"], (int, float)) and 0 < scored["امتیاز کل"] <= 100
    assert scored["رتبه در شهرک"] == 1  # level 2, the strongest
    silent = by_name["بنگاه ساکت"]
    assert silent["وضعیت پاسخ"] == "شروع‌نشده" and silent["امتیاز کل"] is None
    header, *rows = problems.values
    tally = {r[0]: r for r in rows}
    assert header[0] == "مشکل"
    assert tally["قطعی برق"][1:] == (4, 66.7, 4, "Autumn 1405")  # the last column names the round
    notes = [r[0] for r in list(wb.worksheets[2].values)[1:]]
    assert notes == [NOTE]
    async with khooshe.db.read() as repo:
        entries = await repo.access.audit_entries(user_id=MANAGER)
    assert any(e.action == "export" and e.outcome == "ok" for e in entries)


async def test_nudge_once_per_estate_per_day(khooshe: Khooshe) -> None:
    async with khooshe.db.read() as repo:
        current = await repo.rounds.open_round()
    assert current is not None
    done = await add_firm(khooshe.db, 8001, name="پاسخ‌داده")
    await submit(khooshe.db, current.id, done, full_answers(1))
    await add_firm(khooshe.db, 8002, name="پاسخ‌نداده")
    await add_firm(khooshe.db, 8003, name="نیمه‌کاره")
    await submit(khooshe.db, current.id, await_id := (await _firm(khooshe, 8003)), {"T1": "yes"}, status="draft")
    assert await_id
    await add_firm(khooshe.db, 8004, name="شهرک دیگر", estate_id=2)
    async with khooshe.db.transaction() as repo:
        await repo.access.add_manager(user_id=MANAGER, estate_id=1, by=ADMIN_ID)
    manager = khooshe.user(MANAGER)
    await manager.send("/nudge")
    reply = await manager.wait_for("در راه است")
    assert fa_digits(2) in reply.text
    async with khooshe.db.read() as repo:
        nudges = [r for r in await repo.outbox.all() if r.kind == "nudge"]
    assert sorted(r.chat_id for r in nudges) == [8002, 8003]
    assert all(r.dedupe_key.startswith("nudge:estate:1:") for r in nudges)
    await manager.send("/nudge 1")
    await manager.wait_for("امروز")
    async with khooshe.db.read() as repo:
        assert len([r for r in await repo.outbox.all() if r.kind == "nudge"]) == 2
    await manager.send("/nudge 2")
    await manager.wait_for("اجازه")


async def _firm(khooshe: Khooshe, owner: int) -> int:
    async with khooshe.db.read() as repo:
        firm = await repo.firms.by_owner(owner)
    assert firm is not None
    return firm.id


async def test_national_stats_top_and_export_all(published: tuple[Khooshe, int]) -> None:
    khooshe, round_id = published
    manager = khooshe.user(MANAGER)
    await manager.send("/stats")
    await manager.wait_for("فقط برای مدیران")
    admin = khooshe.user(ADMIN_ID)
    await admin.send("/stats")
    stats = await admin.wait_for("آمار کشوری")
    more = "\n".join(e.text for e in [stats, *await admin.settle()] if e.is_message)
    assert f"بنگاه‌های ثبت‌شده: {fa_digits(8)}" in more
    assert f"تهران: {fa_digits(8)}" in more  # estates 1 and 2 are both in Tehran
    assert f"ارسال‌شده: {fa_digits(7)}" in more
    assert "میانگین‌های کشوری" in more

    await admin.send("/top")
    top = await admin.wait_for("۱۰۰ بنگاه برتر")
    text = "\n".join(e.text for e in [top, *await admin.settle()] if e.is_message)
    for owner in OWNERS[1:]:
        assert f"بنگاه شماره {owner}" in text
    assert f"بنگاه شماره {OWNERS[0]}" not in text
    assert "بنگاهی در شهرک صنعتی عباس‌آباد" in text
    async with khooshe.db.read() as repo:
        entries, extended = await repo.scores.top(round_id)
    assert len(entries) == 7 and not extended

    await admin.send("/exportall")
    doc = await admin.wait_for(lambda e: e.is_message and e.kind == "document")
    assert doc.data is not None
    wb = load_workbook(io.BytesIO(doc.data))
    assert [ws.title for ws in wb.worksheets] == ["بنگاه‌ها", "پاسخ‌ها", "امتیازها"]
    assert all(ws.sheet_view.rightToLeft for ws in wb.worksheets)
    firms = list(wb.worksheets[0].values)
    assert "شناسه ملی" in firms[0] and len(firms) == 1 + 8
    scores = list(wb.worksheets[2].values)
    assert "امتیاز کل" in scores[0] and len(scores) == 1 + 7
    submissions = list(wb.worksheets[1].values)
    status = submissions[0].index("وضعیت پاسخ")
    assert {r[status] for r in submissions[1:]} == {"ارسال‌شده"}


def _is_document(event: BotEvent) -> bool:
    return event.is_message and event.kind == "document"


async def test_owner_is_answered_while_the_national_export_is_built(
    published: tuple[Khooshe, int], held_export: HeldBuild,
) -> None:
    khooshe, _ = published
    admin = khooshe.user(ADMIN_ID)
    await admin.send("/exportall")
    await held_export.wait_reached()
    # The owner's first message since the bot started: answering it also writes (their user row).
    owner = khooshe.user(OWNERS[0])
    await owner.send("/start")
    await owner.wait_for(lambda e: e.is_message)
    assert not any(_is_document(e) for e in admin.events)
    held_export.release()
    await admin.wait_for(_is_document)


async def test_owner_is_answered_while_the_estate_export_is_built(
    published: tuple[Khooshe, int], held_export: HeldBuild,
) -> None:
    khooshe, _ = published
    manager = khooshe.user(MANAGER)
    await manager.send("/export 1")
    await held_export.wait_reached()
    owner = khooshe.user(OWNERS[1])
    await owner.send("/start")
    await owner.wait_for(lambda e: e.is_message)
    held_export.release()
    await manager.wait_for(_is_document)


async def test_national_export_shows_the_moment_it_started(
    published: tuple[Khooshe, int], held_export: HeldBuild,
) -> None:
    khooshe, round_id = published
    admin = khooshe.user(ADMIN_ID)
    await admin.send("/exportall")
    await held_export.wait_reached()
    late = await add_firm(khooshe.db, 5400, name="بنگاه دیرآمده")
    await submit(khooshe.db, round_id, late, full_answers(1))
    held_export.release()
    doc = await admin.wait_for(_is_document)
    assert doc.data is not None
    wb = load_workbook(io.BytesIO(doc.data))
    names = {cell for ws in wb.worksheets for row in ws.values for cell in row}
    assert "بنگاه دیرآمده" not in names
    assert len(list(wb.worksheets[1].values)) == 1 + 7  # the submissions of the moment it started
