"""Registration without dead ends, through the real bot: an estate that is not listed (and a
province with none) is named by the owner and waits for an admin, who adds it or merges it into
a listed one; a sole proprietorship registers with the owner's national code and its licence
number, and a licence number another account registered is refused."""

from __future__ import annotations

import json
from pathlib import Path

from bot.emulator import FakeBotApi, FakeUser
from storage.database import Database
from tests.support.bot_process import BotProcess
from tests.support.journeys import OTHER_VALID_NATIONAL_IDS, fa_digits
from tests.support.khooshe import ADMIN_ID, Khooshe, stop_khooshe

UNLISTED = "🏷 شهرک من در فهرست نیست"
SOLE = "شخص حقیقی هستم (شناسه ملی ندارم)"
CONFIRM_NAMED = "✅ تأیید، نام ما نمایش داده شود"
CONFIRM_ANONYMOUS = "✅ تأیید، بی‌نام بماند"
#: Valid personal national codes (check digit right) and one with its last digit wrong.
CODE, OTHER_CODE, BAD_CODE = "0499370899", "0084575948", "0499370898"
LICENCE = "12345/678"


async def until_estate(owner: FakeUser, province: str, national_id: str) -> None:
    await owner.send("/register")
    await owner.wait_for("نام ثبتی")
    await owner.send("کارگاه نمونه " + str(owner.id))
    await owner.wait_for("شناسه ملی")
    await owner.send(national_id)
    await owner.wait_for("کدام استان")
    await owner.press(province)


async def after_estate(owner: FakeUser, confirm: str = CONFIRM_NAMED) -> str:
    """From the cluster question to the end; returns the review's text."""
    await owner.wait_for("خوشه کسب‌وکار")
    await owner.press("عضو خوشه نیستیم")
    await owner.wait_for("کدام بخش")
    await owner.press("صنعت و تولید")
    await owner.wait_for("چند نفر")
    await owner.send("12")
    await owner.wait_for("سال شمسی")
    await owner.send("1395")
    await owner.wait_for("شماره همراه")
    await owner.share_contact()
    review = await owner.wait_for("بررسی کنید")
    await owner.press(confirm)
    return review.text


async def name_unlisted_estate(owner: FakeUser, name: str) -> None:
    await owner.press(UNLISTED)
    await owner.wait_for("نام شهرک یا ناحیه صنعتی خود را بنویسید")
    await owner.send(name)
    await owner.wait_for("در انتظار تأیید")


async def test_a_province_with_no_estate_registers_an_estate_the_admin_then_adds(khooshe: Khooshe) -> None:
    khooshe.user(ADMIN_ID)
    owner = khooshe.user(8001)
    await until_estate(owner, "ایلام", OTHER_VALID_NATIONAL_IDS[0])
    await owner.wait_for("هنوز شهرکی از استان ایلام در فهرست خوشه نیست")
    await name_unlisted_estate(owner, "شهرک صنعتی ایوان")
    review = await after_estate(owner)
    assert "شهرک صنعتی ایوان (در انتظار تأیید مدیران خوشه)" in review
    done = await owner.wait_for("بنگاه شما ثبت شد")
    assert "«شهرک صنعتی ایوان»، هنوز در فهرست خوشه نیست" in done.text
    # The rest works meanwhile: the assessment opens.
    await owner.press("📋 شروع خودارزیابی")
    await owner.wait_for(f"سؤال {fa_digits(1)} از")

    async with khooshe.db.read() as repo:
        firm = await repo.firms.by_owner(8001)
        assert firm is not None
        named = await repo.estate_requests.named(firm.estate_id)
    assert named is not None and named.estate.name == "شهرک صنعتی ایوان" and not named.verified

    await khooshe.drain()
    assert any("شهرک صنعتی ایوان" in m.text and "/estaterequests" in m.text for m in khooshe.api.messages(ADMIN_ID))
    admin = khooshe.user(ADMIN_ID)
    await admin.send("/estaterequests")
    request = await admin.wait_for("«شهرک صنعتی ایوان» · ایلام")
    assert request.buttons == [["✅ افزودن", "🔗 ادغام با …"]]
    await admin.press("✅ افزودن", message=request.message_id)
    await admin.wait_for("اکنون در فهرست است")
    async with khooshe.db.read() as repo:
        named = await repo.estate_requests.named(firm.estate_id)
        listed = await repo.estate_requests.listed_in_province(firm.province_id)
    assert named is not None and named.verified
    assert [e.name for e in listed] == ["شهرک صنعتی ایوان"]
    await khooshe.drain()
    await owner.wait_for("اکنون در فهرست خوشه است")
    await admin.send("/estaterequests")
    await admin.wait_for("هیچ شهرکی در انتظار تأیید نیست")


async def test_an_unlisted_estate_merged_by_the_admin_moves_the_firm(khooshe: Khooshe) -> None:
    owner = khooshe.user(8002)
    await until_estate(owner, "بوشهر", OTHER_VALID_NATIONAL_IDS[1])
    await owner.wait_for("کدام شهرک")
    await name_unlisted_estate(owner, "ناحیه دالکی جنوبی")
    await after_estate(owner, CONFIRM_ANONYMOUS)
    await owner.wait_for("بنگاه شما ثبت شد")

    admin = khooshe.user(ADMIN_ID)
    await admin.send("/estaterequests")
    request = await admin.wait_for("«ناحیه دالکی جنوبی» · بوشهر")
    await admin.press("🔗 ادغام با …", message=request.message_id)
    targets = await admin.wait_for("کدام شهرک فهرست است")
    # The listed estate whose name shares most with the one typed comes first.
    assert targets.buttons[0] == ["ناحیه صنعتی دالکی"]
    assert {b for row in targets.buttons for b in row} == {
        "ناحیه صنعتی دالکی", "شهرک صنعتی برازجان", "شهرک صنعتی بوشهر", "↩️ بازگشت"}
    await admin.press("ناحیه صنعتی دالکی", message=targets.message_id)
    await admin.wait_for("با «ناحیه صنعتی دالکی» ادغام شد")
    async with khooshe.db.read() as repo:
        firm = await repo.firms.by_owner(8002)
        assert firm is not None
        estate = await repo.estates.get(firm.estate_id)
        pending = await repo.estate_requests.pending()
    assert estate is not None and estate.name == "ناحیه صنعتی دالکی"
    assert pending == []
    await khooshe.drain()
    await owner.wait_for("با نام «ناحیه صنعتی دالکی» آمده است")


async def test_the_same_unlisted_name_typed_later_goes_to_the_estate_it_was_merged_into(khooshe: Khooshe) -> None:
    first, later = khooshe.user(8003), khooshe.user(8004)
    await until_estate(first, "بوشهر", OTHER_VALID_NATIONAL_IDS[2])
    await first.wait_for("کدام شهرک")
    await name_unlisted_estate(first, "ناحیه دالکی جنوبی")
    await after_estate(first)
    await first.wait_for("بنگاه شما ثبت شد")
    admin = khooshe.user(ADMIN_ID)
    await admin.send("/estaterequests")
    request = await admin.wait_for("«ناحیه دالکی جنوبی» · بوشهر")
    await admin.press("🔗 ادغام با …", message=request.message_id)
    targets = await admin.wait_for("کدام شهرک فهرست است")
    await admin.press("ناحیه صنعتی دالکی", message=targets.message_id)
    await admin.wait_for("ادغام شد")

    await until_estate(later, "بوشهر", OTHER_VALID_NATIONAL_IDS[3])
    await later.wait_for("کدام شهرک")
    await name_unlisted_estate(later, "ناحیه  دالكي جنوبي")  # spelled with Arabic letters
    await after_estate(later)
    await later.wait_for("بنگاه شما ثبت شد")
    async with khooshe.db.read() as repo:
        firm = await repo.firms.by_owner(8004)
        assert firm is not None
        estate = await repo.estates.get(firm.estate_id)
        pending = await repo.estate_requests.pending()
    assert estate is not None and estate.name == "ناحیه صنعتی دالکی"
    assert pending == []


async def sole_until_province(owner: FakeUser, code: str, licence: str) -> None:
    await owner.send("/register")
    await owner.wait_for("نام ثبتی")
    await owner.send("کارگاه خیاطی " + str(owner.id))
    question = await owner.wait_for("شناسه ملی بنگاه چیست")
    assert question.buttons == [[SOLE]]
    await owner.press(SOLE)
    await owner.wait_for("کد ملی خودتان")
    await owner.send(code)
    await owner.wait_for("شماره پروانه بهره‌برداری یا جواز کسب")
    await owner.send(licence)


async def test_a_sole_proprietor_registers_with_the_national_code_and_licence(khooshe: Khooshe) -> None:
    owner = khooshe.user(8011)
    await owner.send("/register")
    await owner.wait_for("نام ثبتی")
    await owner.send("کارگاه خیاطی مهر")
    await owner.wait_for("شناسه ملی بنگاه چیست")
    await owner.press(SOLE)
    await owner.wait_for("کد ملی خودتان")
    await owner.send(BAD_CODE)
    await owner.wait_for("این کد ملی معتبر نیست")
    await owner.send("04993708")
    await owner.wait_for("کد ملی ۱۰ رقم دارد؛ شما ۸ رقم نوشتید")
    await owner.send(CODE.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")))
    await owner.wait_for("شماره پروانه")
    await owner.send("؟؟")
    await owner.wait_for("همان‌طور که روی پروانه آمده")
    await owner.send("۱۲۳۴۵/۶۷۸")
    await owner.wait_for("کدام استان")
    await owner.press("بوشهر")
    await owner.wait_for("کدام شهرک")
    await owner.press("شهرک صنعتی برازجان")
    review = await after_estate(owner)
    assert "کد ملی مالک (شخص حقیقی): ۰۴۹۹۳۷۰۸۹۹" in review
    assert "شماره پروانه بهره‌برداری / جواز کسب: ۱۲۳۴۵/۶۷۸" in review
    await owner.wait_for("بنگاه شما ثبت شد")
    async with khooshe.db.read() as repo:
        firm = await repo.firms.by_owner(8011)
    assert firm is not None
    assert (firm.national_id, firm.licence_no, firm.consent_public) == (CODE, LICENCE, True)
    await owner.send("/profile")
    profile = await owner.wait_for("مشخصات بنگاه شما")
    assert "شماره پروانه بهره‌برداری / جواز کسب: ۱۲۳۴۵/۶۷۸" in profile.text


async def test_a_licence_number_registered_by_another_account_is_refused(khooshe: Khooshe) -> None:
    first, second = khooshe.user(8012), khooshe.user(8013)
    await sole_until_province(first, CODE, LICENCE)
    await first.wait_for("کدام استان")
    await first.press("بوشهر")
    await first.wait_for("کدام شهرک")
    await first.press("شهرک صنعتی برازجان")
    await after_estate(first)
    await first.wait_for("بنگاه شما ثبت شد")

    khooshe.user(ADMIN_ID)  # the admin has a chat with the bot
    await sole_until_province(second, OTHER_CODE, " 12345 / 678 ")
    refused = await second.wait_for("بنگاهی با این شماره پروانه قبلاً با حساب دیگری ثبت شده است")
    assert refused.buttons == [["📨 درخواست بررسی از مدیران سامانه"]]
    await second.press("📨 درخواست بررسی از مدیران سامانه")
    await second.wait_for("درخواست شما به مدیران سامانه رسید")
    await khooshe.drain()
    assert any("شماره پروانه ۱۲۳۴۵/۶۷۸" in m.text for m in khooshe.api.messages(ADMIN_ID))
    # The owner stays on the licence step: /register asks it again.
    await second.send("/register")
    await second.wait_for("شماره پروانه")
    async with khooshe.db.read() as repo:
        assert await repo.firms.by_owner(8013) is None


async def test_a_national_code_registered_by_another_account_is_refused(khooshe: Khooshe) -> None:
    first, second = khooshe.user(8014), khooshe.user(8015)
    await sole_until_province(first, CODE, LICENCE)
    await first.wait_for("کدام استان")
    await first.press("بوشهر")
    await first.wait_for("کدام شهرک")
    await first.press("شهرک صنعتی برازجان")
    await after_estate(first)
    await first.wait_for("بنگاه شما ثبت شد")
    await second.send("/register")
    await second.wait_for("نام ثبتی")
    await second.send("کارگاه دیگر")
    await second.wait_for("شناسه ملی بنگاه چیست")
    await second.press(SOLE)
    await second.wait_for("کد ملی خودتان")
    await second.send(CODE)
    refused = await second.wait_for("بنگاهی با این کد ملی قبلاً با حساب دیگری ثبت شده است")
    assert refused.buttons == [["📨 درخواست بررسی از مدیران سامانه"]]


async def test_deleting_a_sole_proprietors_data_leaves_no_byte_of_the_code_or_licence(
    khooshe: Khooshe, db_path: Path,
) -> None:
    owner = khooshe.user(8016)
    await sole_until_province(owner, CODE, LICENCE)
    await owner.wait_for("کدام استان")
    await owner.press("ایلام")
    await owner.wait_for("هنوز شهرکی از استان ایلام")
    await name_unlisted_estate(owner, "شهرک صنعتی ایوان")
    await after_estate(owner)
    await owner.wait_for("بنگاه شما ثبت شد")
    async with khooshe.db.read() as repo:
        firm = await repo.firms.by_owner(8016)
    assert firm is not None and (firm.national_id, firm.licence_no) == (CODE, LICENCE)
    await owner.send("/settings")
    await owner.wait_for("یادآوری")
    await owner.press("🗑 حذف داده‌های من")
    await owner.wait_for("برگشت‌پذیر نیست")
    await owner.press("🗑 بله، حذف شود")
    await owner.wait_for("پاک شد")
    await owner.settle()
    async with khooshe.db.read() as repo:
        tombstones = [r[0] for r in await repo.conn.execute_fetchall(
            "SELECT COUNT(*) FROM firms WHERE licence_no IS NOT NULL OR national_id = ?", (CODE,))]
        requesters = [r[0] for r in await repo.conn.execute_fetchall(
            "SELECT COUNT(*) FROM estates WHERE requested_by = 8016")]
    assert tombstones == [0] and requesters == [0]
    await stop_khooshe(khooshe)
    needles = {v.encode() for v in (CODE, LICENCE, CODE.lstrip("0"), json.dumps(LICENCE)[1:-1])}
    for suffix in ("", "-wal", "-shm"):
        path = Path(f"{db_path}{suffix}")
        if path.exists():
            data = path.read_bytes()
            assert [n for n in needles if n in data] == [], path.name
    async with Database(db_path) as db, db.read() as repo:
        firms = await repo.conn.execute_fetchall("SELECT COUNT(*) FROM firms WHERE deleted_at IS NOT NULL")
    assert [r[0] for r in firms] == [1]


async def test_an_estate_typed_at_the_province_question_chooses_province_and_estate(khooshe: Khooshe) -> None:
    owner = khooshe.user(8021)
    await owner.send("/register")
    await owner.wait_for("نام ثبتی")
    await owner.send("کارخانه خرمای جنوب")
    await owner.wait_for("شناسه ملی")
    await owner.send(OTHER_VALID_NATIONAL_IDS[0])
    await owner.wait_for("یا نام شهرک خود را بنویسید")
    await owner.send("برازجان")
    chosen = await owner.wait_for("✅ شهرک: شهرک صنعتی برازجان (بوشهر)")
    assert chosen.buttons == [["✏️ تغییر شهرک"]]
    await owner.wait_for("خوشه کسب‌وکار")
    async with khooshe.db.read() as repo:
        draft = await repo.drafts.get(8021)
        assert draft is not None
        estate = await repo.estates.get(draft.data["estate_id"])
        province = await repo.provinces.get(draft.data["province_id"])
    assert estate is not None and province is not None
    assert (estate.name, province.name_fa) == ("شهرک صنعتی برازجان", "بوشهر")


async def test_the_founding_year_can_follow_the_number_of_employees(khooshe: Khooshe) -> None:
    owner = khooshe.user(8022)
    await until_estate(owner, "بوشهر", OTHER_VALID_NATIONAL_IDS[1])
    await owner.wait_for("کدام شهرک")
    await owner.press("شهرک صنعتی برازجان")
    await owner.wait_for("خوشه کسب‌وکار")
    await owner.press("عضو خوشه نیستیم")
    await owner.wait_for("کدام بخش")
    await owner.press("صنعت و تولید")
    await owner.wait_for("چند نفر")
    await owner.send("۴۵ نفر، سال ۱۳۸۸")
    await owner.wait_for("✔️ تعداد کارکنان: ۴۵ · سال تأسیس: ۱۳۸۸")
    await owner.wait_for("شماره همراه")
    async with khooshe.db.read() as repo:
        draft = await repo.drafts.get(8022)
    assert draft is not None and (draft.data["employees"], draft.data["founded_year"]) == (45, 1388)


async def test_a_national_code_typed_for_the_national_id_offers_the_sole_proprietor_path(khooshe: Khooshe) -> None:
    owner = khooshe.user(8023)
    await owner.send("/register")
    await owner.wait_for("نام ثبتی")
    await owner.send("کارگاه نجاری")
    await owner.wait_for("شناسه ملی بنگاه چیست")
    await owner.send(CODE)
    hint = await owner.wait_for("این کد ملی ۱۰ رقمی یک شخص است")
    assert hint.buttons == [[SOLE]]
    await owner.press(SOLE, message=hint.message_id)
    await owner.wait_for("کد ملی خودتان")


async def test_sigkill_at_the_new_steps_resumes_them(api: FakeBotApi, bot_process: BotProcess) -> None:
    """Killed while the licence number, then the unlisted estate's name, is asked: after each
    restart the typed answer goes to that step."""
    owner = api.user(8031)
    await owner.send("/register")
    await owner.wait_for("نام ثبتی")
    await owner.send("کارگاه نمونه")
    await owner.wait_for("شناسه ملی بنگاه چیست")
    await owner.press(SOLE)
    await owner.wait_for("کد ملی خودتان")
    await owner.send(CODE)
    await owner.wait_for("شماره پروانه")
    bot_process.kill()
    bot_process.start()
    await owner.send(LICENCE)
    await owner.wait_for("کدام استان", timeout=20)
    await owner.press("ایلام")
    await owner.wait_for("هنوز شهرکی از استان ایلام")
    await owner.press(UNLISTED)
    await owner.wait_for("نام شهرک یا ناحیه صنعتی خود را بنویسید")
    bot_process.kill()
    bot_process.start()
    await owner.send("شهرک صنعتی ایوان")
    await owner.wait_for("در انتظار تأیید", timeout=20)
    await owner.wait_for("خوشه کسب‌وکار")
    async with Database(Path(bot_process.env["KHOOSHE_DB"])) as db, db.read() as repo:
        draft = await repo.drafts.get(8031)
    assert draft is not None and draft.step == "CLUSTER"
    assert (draft.data["national_id"], draft.data["licence_no"], draft.data["estate_name"]) == (
        CODE, LICENCE, "شهرک صنعتی ایوان")
