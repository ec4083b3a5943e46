"""/estates and /clusters find places by province as well as by name; a firm owner finds their
estate at registration by what they type, in lists sorted in Persian order that page in place."""

from __future__ import annotations

import csv
from pathlib import Path

from bot.emulator import BotEvent, FakeUser
from tests.support.journeys import VALID_NATIONAL_ID
from tests.support.khooshe import ADMIN_ID, Khooshe

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


def sample_estates_in(province: str) -> list[str]:
    with (SAMPLE / "estates.csv").open(encoding="utf-8") as f:
        return [row[1] for row in csv.reader(f) if row and row[0] == province]


async def test_estates_of_a_province_are_found_by_its_persian_name(khooshe: Khooshe) -> None:
    admin = khooshe.user(ADMIN_ID, "Admin")
    await admin.send("/estates تهران")
    listing = await admin.wait_for("#")
    names = sample_estates_in("تهران")
    assert names
    assert all(name in listing.text for name in names)


async def test_estates_of_a_province_are_found_by_its_english_name(khooshe: Khooshe) -> None:
    admin = khooshe.user(ADMIN_ID, "Admin")
    await admin.send("/estates tehran")
    listing = await admin.wait_for("#")
    assert all(name in listing.text for name in sample_estates_in("تهران"))



async def test_an_admin_finds_an_estate_typed_with_arabic_letters_and_a_space(khooshe: Khooshe) -> None:
    admin = khooshe.user(ADMIN_ID, "Admin")
    await admin.send("/estates شهرك صنعتي عباس آباد")
    listing = await admin.wait_for("#")
    assert "شهرک صنعتی عباس\u200cآباد" in listing.text


async def test_an_admin_sees_a_province_s_estates_in_persian_order(khooshe: Khooshe) -> None:
    admin = khooshe.user(ADMIN_ID, "Admin")
    await admin.send("/estates تهران")
    listing = await admin.wait_for("#")
    assert listing.text.index("شهرک صنعتی پرند") < listing.text.index("شهرک صنعتی خوارزمی")

async def test_a_long_estate_list_pages_in_place(khooshe: Khooshe) -> None:
    admin = khooshe.user(ADMIN_ID, "Admin")
    await admin.send("/estates")
    first = await admin.wait_for("صفحه ۱ از")
    assert first.text.startswith("۱–۳۰ از")
    await admin.press("بعدی ⬅️")
    second = await admin.wait_for(lambda e: e.event == "edit" and "صفحه ۲ از" in e.text)
    assert second.message_id == first.message_id
    assert second.text.startswith("۳۱–")
    assert not set(line for line in first.text.splitlines() if line.startswith("#")) & set(
        line for line in second.text.splitlines() if line.startswith("#"))


# --- a firm owner finds their estate at registration -----------------------------------------

ZWNJ = "\u200c"
TEHRAN_IN_PERSIAN_ORDER = [
    f"شهرک صنعتی ابن{ZWNJ}سینا", "شهرک صنعتی پرند", "شهرک صنعتی چرمشهر", "شهرک صنعتی خوارزمی",
    "شهرک صنعتی زاویه", f"شهرک صنعتی شمس{ZWNJ}آباد", "شهرک صنعتی صفادشت", f"شهرک صنعتی عباس{ZWNJ}آباد",
    f"شهرک صنعتی قلعه{ZWNJ}میر", "شهرک صنعتی نصیرآباد",
]
ABBAS_ABAD = f"شهرک صنعتی عباس{ZWNJ}آباد"
CLUSTER_QUESTION = "آیا بنگاه عضو یک خوشه کسب‌وکار است؟"


async def reach_estates(owner: FakeUser, national_id: str = VALID_NATIONAL_ID, province: str = "تهران") -> BotEvent:
    """Registers up to the estate question of ``province``; returns the estate list."""
    await owner.send("/register")
    await owner.wait_for("نام ثبتی")
    await owner.send("کارخانه نمونه")
    await owner.wait_for("شناسه ملی")
    await owner.send(national_id)
    await owner.wait_for("کدام استان")
    await owner.press(province)
    listing = await owner.wait_for("کدام شهرک")
    await owner.settle()
    return listing


def estate_buttons(event: BotEvent) -> list[str]:
    return [row[0] for row in event.buttons if row[0].startswith(("شهرک", "ناحیه"))]


async def chosen_estate(khooshe: Khooshe, owner: FakeUser) -> str | None:
    async with khooshe.db.read() as repo:
        draft = await repo.drafts.get(owner.id)
        estate_id = draft.data.get("estate_id") if draft else None
        estate = await repo.estates.get(estate_id) if estate_id else None
    return estate.name if estate else None


async def test_a_name_typed_with_arabic_letters_and_the_generic_words_finds_the_estate(khooshe: Khooshe) -> None:
    owner = khooshe.user(4101)
    await reach_estates(owner)
    await owner.send("شهرك صنعتي عباس آباد")
    await owner.wait_for(CLUSTER_QUESTION)
    assert await chosen_estate(khooshe, owner) == ABBAS_ABAD


async def test_a_name_typed_without_zwnj_finds_the_estate(khooshe: Khooshe) -> None:
    owner = khooshe.user(4102)
    await reach_estates(owner)
    await owner.send("عباسآباد")
    await owner.wait_for(CLUSTER_QUESTION)
    assert await chosen_estate(khooshe, owner) == ABBAS_ABAD


async def test_a_unique_match_is_chosen_without_a_tap_and_said_so(khooshe: Khooshe) -> None:
    owner = khooshe.user(4103)
    await reach_estates(owner)
    await owner.send("عباس آباد")
    picked = await owner.wait_for("✅ شهرک")
    assert picked.text.startswith(f"✅ شهرک: {ABBAS_ABAD}")
    assert picked.buttons == [["✏️ تغییر شهرک"]]
    await owner.wait_for(CLUSTER_QUESTION)


async def test_the_chosen_estate_is_changed_with_one_button(khooshe: Khooshe) -> None:
    owner = khooshe.user(4104)
    await reach_estates(owner)
    await owner.send("عباس آباد")
    picked = await owner.wait_for("✅ شهرک")
    await owner.wait_for(CLUSTER_QUESTION)
    await owner.press("✏️ تغییر شهرک", message=picked)
    listing = await owner.wait_for("کدام شهرک")
    assert listing.message_id == picked.message_id
    await owner.press("شهرک صنعتی پرند", message=listing)
    await owner.wait_for(CLUSTER_QUESTION)
    assert await chosen_estate(khooshe, owner) == "شهرک صنعتی پرند"


async def test_several_matches_are_listed_in_persian_order(khooshe: Khooshe) -> None:
    owner = khooshe.user(4105)
    await reach_estates(owner)
    await owner.send("آباد")
    found = await owner.wait_for("منطبق با «آباد»")
    assert estate_buttons(found) == [f"شهرک صنعتی شمس{ZWNJ}آباد", ABBAS_ABAD, "شهرک صنعتی نصیرآباد"]


async def test_no_match_says_so_in_one_message_with_a_way_on(khooshe: Khooshe) -> None:
    owner = khooshe.user(4106)
    await reach_estates(owner)
    await owner.send("فولاد مبارکه")
    sent = [e for e in await owner.settle() if e.event == "send"]
    assert [e.text for e in sent] == ["هیچ شهرکی در استان تهران با «فولاد مبارکه» پیدا نشد."]
    assert sent[0].buttons == [["🔎 جست‌وجوی دوباره"], ["📋 همه شهرک‌های تهران"], ["🏷 شهرک من در فهرست نیست"],
                               ["↩️ تغییر استان"]]


async def test_no_match_offers_the_whole_list_in_place(khooshe: Khooshe) -> None:
    owner = khooshe.user(4107)
    await reach_estates(owner)
    await owner.send("فولاد مبارکه")
    none = await owner.wait_for("پیدا نشد")
    await owner.press("📋 همه شهرک‌های تهران", message=none)
    listing = await owner.wait_for("کدام شهرک")
    assert listing.event == "edit" and listing.message_id == none.message_id
    assert estate_buttons(listing) == TEHRAN_IN_PERSIAN_ORDER[:8]


async def test_search_again_asks_for_another_part_of_the_name(khooshe: Khooshe) -> None:
    owner = khooshe.user(4108)
    await reach_estates(owner)
    await owner.send("فولاد مبارکه")
    none = await owner.wait_for("پیدا نشد")
    await owner.press("🔎 جست‌وجوی دوباره", message=none)
    prompt = await owner.wait_for("بخش دیگری از نام شهرک")
    assert prompt.message_id == none.message_id
    await owner.send("پرند")
    await owner.wait_for(CLUSTER_QUESTION)
    assert await chosen_estate(khooshe, owner) == "شهرک صنعتی پرند"


async def test_the_first_page_lists_estates_in_persian_order(khooshe: Khooshe) -> None:
    owner = khooshe.user(4109)
    listing = await reach_estates(owner)
    assert estate_buttons(listing) == TEHRAN_IN_PERSIAN_ORDER[:8]


async def test_the_next_page_edits_the_list_in_place(khooshe: Khooshe) -> None:
    owner = khooshe.user(4110)
    listing = await reach_estates(owner)
    await owner.press("بعدی", message=listing)
    events = await owner.settle()
    assert [e.event for e in events if e.event in ("send", "edit")] == ["edit"]
    page2 = next(e for e in events if e.event == "edit")
    assert page2.message_id == listing.message_id
    assert "صفحه ۲ از ۲" in page2.text


async def test_the_second_page_holds_the_rest_in_persian_order(khooshe: Khooshe) -> None:
    owner = khooshe.user(4111)
    listing = await reach_estates(owner)
    await owner.press("بعدی", message=listing)
    page2 = await owner.wait_for("صفحه ۲ از ۲")
    assert estate_buttons(page2) == TEHRAN_IN_PERSIAN_ORDER[8:]


async def test_the_previous_page_edits_the_list_back_in_place(khooshe: Khooshe) -> None:
    owner = khooshe.user(4112)
    listing = await reach_estates(owner)
    await owner.press("بعدی", message=listing)
    await owner.wait_for("صفحه ۲ از ۲")
    await owner.press("قبلی", message=listing)
    events = await owner.settle()
    assert [e.event for e in events if e.event in ("send", "edit")] == ["edit"]
    page1 = next(e for e in events if e.event == "edit")
    assert page1.message_id == listing.message_id and "صفحه ۱ از ۲" in page1.text


async def test_the_zone_is_found_by_its_name_alone(khooshe: Khooshe) -> None:
    owner = khooshe.user(4113)
    await reach_estates(owner, province="بوشهر")
    await owner.send("دالكي")
    await owner.wait_for(CLUSTER_QUESTION)
    assert await chosen_estate(khooshe, owner) == "ناحیه صنعتی دالکی"


async def test_a_number_in_arabic_digits_tells_two_estates_apart(khooshe: Khooshe) -> None:
    owner = khooshe.user(4114)
    await reach_estates(owner, province="خوزستان")
    await owner.send("اهواز ٢")  # Arabic-Indic two; the import stored the name with a Latin 2
    await owner.wait_for(CLUSTER_QUESTION)
    assert await chosen_estate(khooshe, owner) == "شهرک صنعتی شماره 2 اهواز"


async def test_a_search_finding_more_than_the_list_holds_says_how_many(khooshe: Khooshe) -> None:
    async with khooshe.db.transaction() as repo:
        ilam = next(p for p in await repo.provinces.all() if p.name_fa == "ایلام")
        await repo.estates.add_many([(ilam.id, f"شهرک صنعتی مهران {n}", "estate") for n in range(1, 26)])
    owner = khooshe.user(4115)
    await reach_estates(owner, province="ایلام")
    await owner.send("مهران")
    found = await owner.wait_for("منطبق با «مهران»")
    assert "۲۰ مورد اول از ۲۵" in found.text
    assert len(estate_buttons(found)) == 20
