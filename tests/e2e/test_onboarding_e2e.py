"""Estate managers onboard their firms (issue 10): a manager sends the estate's firm list and gets
a personal invitation per firm (a ZIP of printable sheets and QR codes, invitations.csv, the SMS
texts); a firm opens its link, confirms the pre-filled details and answers only what is missing;
/onboarding counts invited → opened → registered → submitted; a wrong file is answered line by
line; a used or withdrawn link is refused politely."""

from __future__ import annotations

import csv
import io
import zipfile

import segno
from PIL import Image

from bot.emulator import BotEvent, FakeUser
from bot.services.onboarding_sheets import PAGE, QR_BORDER, QR_SCALE
from tests.support.factories import full_answers, submit
from tests.support.journeys import OTHER_VALID_NATIONAL_IDS, VALID_NATIONAL_ID, fa_digits
from tests.support.khooshe import ADMIN_ID, Khooshe

PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
MANAGER = 7601
OWNER, INTRUDER, LATE = 7701, 7702, 7703
FIRMS = [
    ("صنایع غذایی دشت", VALID_NATIONAL_ID, "09121234567"),
    ("کارگاه پوشاک نیلی", OTHER_VALID_NATIONAL_IDS[0], "۰۹۳۵ ۱۱۱ ۲۲۳۳"),
    ("قطعه‌سازی البرز", OTHER_VALID_NATIONAL_IDS[1], ""),
]


def firm_list(rows: list[tuple[str, str, str]], header: str = "name,national_id,mobile") -> bytes:
    return (header + "\n" + "".join(f"{name},{nid},{mobile}\n" for name, nid, mobile in rows)).encode()


async def add_manager(khooshe: Khooshe) -> None:
    async with khooshe.db.transaction() as repo:
        await repo.access.add_manager(user_id=MANAGER, estate_id=1, by=ADMIN_ID)


async def send_list(manager: FakeUser, data: bytes, name: str = "firms.csv") -> BotEvent:
    await manager.send("/onboard")
    await manager.wait_for("name,national_id,mobile")
    await manager.send_document(name, data)
    return await manager.wait_for("دعوت‌نامه‌های", timeout=30)


async def invitations(manager: FakeUser) -> list[dict[str, str]]:
    """The pack's invitations.csv, checked for one sheet and one QR code per firm."""
    pack = await manager.wait_for(lambda e: e.is_message and e.kind == "document", timeout=30)
    assert pack.data is not None
    with zipfile.ZipFile(io.BytesIO(pack.data)) as archive:
        table = archive.read("invitations.csv").decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(table)))[1:]
        found = [{"n": r[0], "name": r[1], "national_id": r[2], "mobile": r[3], "link": r[4], "sms": r[5]} for r in rows]
        for row in found:
            row["sheet"] = archive.read(f"sheets/{row['n']}.png").hex()
            row["qr"] = archive.read(f"qr/{row['n']}.png").hex()
    return found


def qr_modules(png: bytes, size: int) -> list[list[int]]:
    """The dark (1) and light (0) modules read back from the QR-only PNG, at each module's centre."""
    image = Image.open(io.BytesIO(png)).convert("L")
    centre = QR_SCALE // 2
    return [[int(image.getpixel(((x + QR_BORDER) * QR_SCALE + centre, (y + QR_BORDER) * QR_SCALE + centre)) < 128)
             for x in range(size)] for y in range(size)]


async def register_rest(owner: FakeUser) -> None:
    """The steps the pre-filled registration still asks."""
    await owner.wait_for("خوشه کسب‌وکار")
    await owner.press("عضو خوشه نیستیم")
    await owner.wait_for("کدام بخش")
    await owner.press("صنعت و تولید")
    await owner.wait_for("چند نفر")
    await owner.send("25")
    await owner.wait_for("سال شمسی")
    await owner.send("1390")
    await owner.wait_for("شماره همراه")
    await owner.share_contact("+989121234567")
    await owner.wait_for("بررسی کنید")
    await owner.press("✅ تأیید، نام ما نمایش داده شود")  # the consent is the review's last question
    await owner.wait_for("بنگاه شما ثبت شد")


async def test_a_manager_invites_three_firms_and_one_registers_from_its_link(khooshe: Khooshe) -> None:
    await add_manager(khooshe)
    manager = khooshe.user(MANAGER)
    report = await send_list(manager, firm_list(FIRMS))
    assert f"{fa_digits(3)} بنگاه دعوت شد" in report.text
    invited = await invitations(manager)
    host = "https://ble.ir/" if khooshe.api.profile == "bale" else "https://t.me/"
    assert [(r["name"], r["national_id"]) for r in invited] == [(name, nid) for name, nid, _ in FIRMS]
    assert [r["mobile"] for r in invited] == ["09121234567", "09351112233", ""]
    assert all(r["link"].startswith(host) and "?start=f_" in r["link"] for r in invited)
    assert len({r["link"] for r in invited}) == 3
    # The QR code decodes to the firm's link: its modules are segno's for that link.
    for row in invited:
        expected = segno.make_qr(row["link"], error="m", boost_error=False)
        matrix = [[int(bool(v)) for v in line] for line in expected.matrix]
        assert qr_modules(bytes.fromhex(row["qr"]), len(matrix)) == matrix
        assert Image.open(io.BytesIO(bytes.fromhex(row["sheet"]))).size == PAGE
    sms = [e.text for e in await manager.settle() if e.is_message]
    assert [text for text in sms if invited[0]["link"] in text] != []
    assert all(any(r["link"] in text for text in sms) for r in invited)

    owner = khooshe.user(OWNER)
    payload = invited[0]["link"].split("?start=")[1]
    await owner.send(f"/start {payload}")
    card = await owner.wait_for("آیا این بنگاه شماست")
    assert FIRMS[0][0] in card.text
    assert VALID_NATIONAL_ID.translate(PERSIAN_DIGITS) in card.text
    assert "شهرک صنعتی عباس‌آباد" in card.text
    await owner.press("✅ بله، بنگاه ماست")
    await register_rest(owner)
    async with khooshe.db.read() as repo:
        firm = await repo.firms.by_owner(OWNER)
        current = await repo.rounds.open_round()
    assert firm is not None and current is not None
    assert (firm.name, firm.national_id, firm.estate_id) == (FIRMS[0][0], VALID_NATIONAL_ID, 1)

    await submit(khooshe.db, current.id, firm.id, full_answers(1))
    await manager.send("/onboarding")
    funnel = await manager.wait_for("دعوت از بنگاه‌های")
    assert f"دعوت‌شده: {fa_digits(3)}" in funnel.text
    assert f"پیوند را باز کرده‌اند: {fa_digits(1)}" in funnel.text
    assert f"ثبت‌نام کرده‌اند: {fa_digits(1)}" in funnel.text
    assert f"ارسال‌کرده در «Autumn 1405»: {fa_digits(1)}" in funnel.text


async def test_a_wrong_file_is_answered_line_by_line(khooshe: Khooshe) -> None:
    await add_manager(khooshe)
    manager = khooshe.user(MANAGER)
    rows = [
        FIRMS[0],                                   # line 2: taken
        ("کارگاه بی‌شناسه", "10380284791", ""),     # line 3: bad check digit
        ("تکرار دشت", VALID_NATIONAL_ID, ""),       # line 4: the national ID of line 2
        ("کارگاه تلفن", OTHER_VALID_NATIONAL_IDS[1], "12345"),  # line 5: not a mobile
        ("1234", OTHER_VALID_NATIONAL_IDS[2], ""),  # line 6: a number as the name
    ]
    report = await send_list(manager, firm_list(rows) + b"a,b,c,d\n")  # line 7: a field too many
    assert f"{fa_digits(1)} بنگاه دعوت شد" in report.text
    assert f"{fa_digits(5)} سطر پذیرفته نشد" in report.text
    lines = report.text.split("\n")
    assert any(line.startswith(f"سطر {fa_digits(3)}:") and "رقم کنترل" in line for line in lines)
    assert any(line.startswith(f"سطر {fa_digits(4)}:") and f"سطر {fa_digits(2)}" in line for line in lines)
    assert any(line.startswith(f"سطر {fa_digits(5)}:") and "همراه" in line for line in lines)
    assert any(line.startswith(f"سطر {fa_digits(6)}:") and "نام بنگاه" in line for line in lines)
    assert any(line.startswith(f"سطر {fa_digits(7)}:") and "خانه دارد" in line for line in lines)
    await manager.settle()

    refusal = await send_list_with_header(manager, b"province,name,kind\n\xd8\xaa\xd9\x87\xd8\xb1\xd8\xa7\xd9\x86,x,estate\n")
    assert "name,national_id,mobile" in refusal.text
    async with khooshe.db.read() as repo:
        count = await repo.conn.execute_fetchall("SELECT COUNT(*) FROM firm_invitations")
    assert next(iter(count))[0] == 1


async def send_list_with_header(manager: FakeUser, data: bytes) -> BotEvent:
    await manager.send("/onboard")
    await manager.wait_for("name,national_id,mobile")
    await manager.send_document("estates.csv", data)
    return await manager.wait_for("سطر اول باید", timeout=30)


async def test_a_used_or_withdrawn_link_is_refused_politely(khooshe: Khooshe) -> None:
    await add_manager(khooshe)
    manager = khooshe.user(MANAGER)
    await send_list(manager, firm_list(FIRMS[:2]))
    invited = await invitations(manager)
    await manager.settle()
    first, second = (r["link"].split("?start=")[1] for r in invited)

    owner = khooshe.user(OWNER)
    await owner.send(f"/start {first}")
    await owner.wait_for("آیا این بنگاه شماست")
    await owner.press("✅ بله، بنگاه ماست")
    await owner.wait_for("خوشه کسب‌وکار")

    intruder = khooshe.user(INTRUDER)
    await intruder.send(f"/start {first}")
    used = await intruder.wait_for("پیوند")
    assert "حساب دیگری پیش‌تر به کار برده" in used.text
    async with khooshe.db.read() as repo:
        assert await repo.drafts.get(INTRUDER) is None

    async with khooshe.db.read() as repo:
        rows = await repo.conn.execute_fetchall("SELECT id FROM firm_invitations WHERE national_id = ?", (FIRMS[1][1],))
    second_id = next(iter(rows))[0]
    await manager.send(f"/revokefirm {second_id}")
    await manager.wait_for("پس گرفته شد")
    late = khooshe.user(LATE)
    await late.send(f"/start {second}")
    withdrawn = await late.wait_for("پیوند")
    assert "دفتر شهرک این پیوند دعوت را پس گرفته است" in withdrawn.text
    await owner.settle()


def workbook(rows: list[list[object]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_a_manager_of_two_estates_sends_an_excel_list_from_the_menu(khooshe: Khooshe) -> None:
    async with khooshe.db.transaction() as repo:
        await repo.access.add_manager(user_id=MANAGER, estate_id=1, by=ADMIN_ID)
        await repo.access.add_manager(user_id=MANAGER, estate_id=2, by=ADMIN_ID)
        second = await repo.estates.get(2)
    assert second is not None
    manager = khooshe.user(MANAGER)
    await manager.send("/menu")
    await manager.wait_for(lambda e: e.is_message and any("📇 دعوت از بنگاه‌ها" in b for row in e.buttons for b in row))
    await manager.press("📇 دعوت از بنگاه‌ها")
    await manager.wait_for("برای کدام شهرک")
    await manager.press(second.name)
    await manager.wait_for("name,national_id,mobile")
    await manager.send_document("firms.xlsx", workbook([
        ["name", "national_id", "mobile"], [FIRMS[0][0], int(VALID_NATIONAL_ID), 9121234567], [None, None, None],
        [FIRMS[1][0], int(OTHER_VALID_NATIONAL_IDS[0]), None]]))
    report = await manager.wait_for("دعوت‌نامه‌های", timeout=30)
    assert f"«{second.name}»" in report.text
    assert f"{fa_digits(2)} بنگاه دعوت شد" in report.text
    assert [r["mobile"] for r in await invitations(manager)] == ["09121234567", ""]
    await manager.settle()
    async with khooshe.db.read() as repo:
        rows = await repo.conn.execute_fetchall("SELECT DISTINCT estate_id FROM firm_invitations")
    assert [r[0] for r in rows] == [2]


async def test_an_owner_part_way_through_registering_takes_the_invitation_s_details(khooshe: Khooshe) -> None:
    await add_manager(khooshe)
    manager = khooshe.user(MANAGER)
    await send_list(manager, firm_list(FIRMS[:1]))
    (row,) = await invitations(manager)
    await manager.settle()
    owner = khooshe.user(OWNER)
    await owner.send("/register")
    await owner.wait_for("نام ثبتی")
    await owner.send("نام دیگری")
    await owner.wait_for("شناسه ملی")
    await owner.send(f"/start {row['link'].split('?start=')[1]}")
    await owner.wait_for("آیا این بنگاه شماست")
    await owner.press("✅ بله، بنگاه ماست")
    await register_rest(owner)
    async with khooshe.db.read() as repo:
        firm = await repo.firms.by_owner(OWNER)
    assert firm is not None
    assert (firm.name, firm.national_id) == (FIRMS[0][0], VALID_NATIONAL_ID)


async def test_another_estates_manager_sees_no_funnel_and_withdraws_no_link(khooshe: Khooshe) -> None:
    await add_manager(khooshe)
    async with khooshe.db.transaction() as repo:
        await repo.access.add_manager(user_id=INTRUDER, estate_id=2, by=ADMIN_ID)
    manager = khooshe.user(MANAGER)
    await send_list(manager, firm_list(FIRMS[:1]))
    await invitations(manager)
    await manager.settle()
    other = khooshe.user(INTRUDER)
    await other.send("/onboarding 1")
    await other.wait_for("اجازه")
    async with khooshe.db.read() as repo:
        rows = await repo.conn.execute_fetchall("SELECT id FROM firm_invitations")
    invitation_id = next(iter(rows))[0]
    await other.send(f"/revokefirm {invitation_id}")
    refusal = await other.wait_for("دعوت‌نامهٔ")
    assert "وجود ندارد" in refusal.text
    async with khooshe.db.read() as repo:
        rows = await repo.conn.execute_fetchall("SELECT revoked_at FROM firm_invitations")
    assert [r[0] for r in rows] == [None]


async def test_a_file_that_is_no_list_is_explained_and_the_corrected_one_may_follow(khooshe: Khooshe) -> None:
    await add_manager(khooshe)
    manager = khooshe.user(MANAGER)
    await manager.send("/onboard")
    await manager.wait_for("name,national_id,mobile")
    await manager.send_document("firms.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64)  # the old Excel format
    assert "CSV UTF-۸" in (await manager.wait_for("UTF-۸")).text
    await manager.send_document("firms.xlsx", b"PK\x03\x04 a broken workbook")
    assert "xlsx" in (await manager.wait_for("اکسل")).text
    await manager.send_document("firms.csv", firm_list(FIRMS[:1]))
    report = await manager.wait_for("دعوت‌نامه‌های", timeout=30)
    assert f"{fa_digits(1)} بنگاه دعوت شد" in report.text
    await invitations(manager)
    await manager.settle()


async def test_an_owner_who_came_by_invitation_exports_it_and_deleting_their_data_removes_it(khooshe: Khooshe) -> None:
    await add_manager(khooshe)
    manager = khooshe.user(MANAGER)
    await send_list(manager, firm_list(FIRMS[:2]))
    (mine, other) = await invitations(manager)
    await manager.settle()
    owner = khooshe.user(OWNER)
    await owner.send(f"/start {mine['link'].split('?start=')[1]}")
    await owner.wait_for("آیا این بنگاه شماست")
    await owner.press("✅ بله، بنگاه ماست")
    await register_rest(owner)
    exported = await khooshe.services.privacy.export(OWNER)
    assert [(i["name"], i["national_id"]) for i in exported["firm_invitations"]] == [(FIRMS[0][0], VALID_NATIONAL_ID)]

    await khooshe.services.privacy.forget(OWNER)
    async with khooshe.db.read() as repo:
        rows = await repo.conn.execute_fetchall("SELECT name, national_id, mobile FROM firm_invitations")
    assert [tuple(r) for r in rows] == [(other["name"], other["national_id"], "+989351112233")]


async def test_cancel_leaves_no_file_expected(khooshe: Khooshe) -> None:
    await add_manager(khooshe)
    manager = khooshe.user(MANAGER)
    await manager.send("/onboard")
    await manager.wait_for("name,national_id,mobile")
    await manager.send("/cancel")
    await manager.wait_for("دعوت‌نامه‌ای ساخته نشد")
    await manager.send_document("firms.csv", firm_list(FIRMS[:1]))
    await manager.settle()
    async with khooshe.db.read() as repo:
        rows = await repo.conn.execute_fetchall("SELECT COUNT(*) FROM firm_invitations")
    assert next(iter(rows))[0] == 0


async def test_a_sole_proprietorship_on_the_list_registers_with_its_national_code_and_licence(khooshe: Khooshe) -> None:
    code, licence = "0499370899", "12345/678"
    await add_manager(khooshe)
    manager = khooshe.user(MANAGER)
    data = ("name,national_id,mobile,licence_no\n"
            f"{FIRMS[0][0]},{FIRMS[0][1]},,\n"
            f"کارگاه خیاطی مهر,{code},09121234567,{licence}\n").encode()
    report = await send_list(manager, data)
    assert f"{fa_digits(2)} بنگاه دعوت شد" in report.text
    invited = await invitations(manager)
    assert [r["national_id"] for r in invited] == [FIRMS[0][1], code]

    owner = khooshe.user(OWNER)
    await owner.send(f"/start {invited[1]['link'].split('?start=')[1]}")
    card = await owner.wait_for("آیا این بنگاه شماست")
    assert f"کد ملی مالک (شخص حقیقی): {code.translate(PERSIAN_DIGITS)}" in card.text
    assert f"شماره پروانه بهره‌برداری / جواز کسب: {licence.translate(PERSIAN_DIGITS)}" in card.text
    await owner.press("✅ بله، بنگاه ماست")
    await register_rest(owner)
    async with khooshe.db.read() as repo:
        firm = await repo.firms.by_owner(OWNER)
    assert firm is not None
    assert (firm.name, firm.national_id, firm.licence_no) == ("کارگاه خیاطی مهر", code, licence)


async def test_a_national_code_listed_without_its_licence_is_explained_on_its_line(khooshe: Khooshe) -> None:
    await add_manager(khooshe)
    manager = khooshe.user(MANAGER)
    report = await send_list(manager, firm_list([("کارگاه خیاطی مهر", "0499370899", "")]))
    assert "licence_no" in report.text and "شماره پروانه" in report.text
