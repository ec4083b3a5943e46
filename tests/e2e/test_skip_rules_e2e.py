"""Questionnaire version 2 through the real bot: questions an earlier answer skips are not asked."""

from __future__ import annotations

from datetime import timedelta

from bot.emulator import FakeUser
from tests.support.clock import TestClock
from tests.support.factories import submit
from tests.support.journeys import MANUFACTURER_ANSWERS, TOTAL_QUESTIONS, fa_digits, give, register
from tests.support.khooshe import Khooshe

# Up to E1: the manufacturer's answers, but with a certificate (so Q2 is asked in version 2).
BEFORE_E1 = [*MANUFACTURER_ANSWERS[:10], ("press", "بله"), *MANUFACTURER_ANSWERS[11:15]]


async def use_version(khooshe: Khooshe, version: int) -> None:
    async with khooshe.db.transaction() as repo:
        await repo.conn.execute("UPDATE rounds SET questionnaire_version = ?", (version,))


async def owner_who_answered_e1(khooshe: Khooshe, owner_id: int, e1: str, *, version: int = 2) -> FakeUser:
    """A new owner who registered, answered up to E1 in a round of ``version`` and typed ``e1``
    (indirect, direct, domestic shares)."""
    await use_version(khooshe, version)
    owner = khooshe.user(owner_id)
    await register(owner)
    await owner.press("📋 شروع خودارزیابی")
    for n, answer in enumerate(BEFORE_E1, start=1):
        await owner.wait_for(f"سؤال {fa_digits(n)} از")
        await give(owner, answer)
    await owner.wait_for("سؤال ۱۶ از")
    await owner.send(e1)
    return owner


async def test_no_exports_skips_e2_and_e3_and_shortens_the_count(khooshe: Khooshe) -> None:
    owner = await owner_who_answered_e1(khooshe, 3001, "۱۰۰ ۰ ۰")
    e4 = await owner.wait_for("سؤال ۱۷ از")
    assert "برنامه صادراتی" in e4.text
    assert f"سؤال ۱۷ از {fa_digits(TOTAL_QUESTIONS - 2)}" in e4.text


async def test_no_exports_leaves_e2_out_of_the_review(khooshe: Khooshe) -> None:
    owner = await owner_who_answered_e1(khooshe, 3002, "۱۰۰ ۰ ۰")
    rest = [*MANUFACTURER_ANSWERS[18:]]
    for n, answer in enumerate(rest, start=17):
        await owner.wait_for(f"سؤال {fa_digits(n)} از")
        await give(owner, answer)
    review = await owner.wait_for("پاسخ‌هایتان را مرور کنید")
    assert "از چه سالی صادرات" not in review.text and "به چند کشور" not in review.text


async def test_back_from_e4_skips_over_e2_and_e3(khooshe: Khooshe) -> None:
    owner = await owner_who_answered_e1(khooshe, 3003, "۱۰۰ ۰ ۰")
    await owner.wait_for("سؤال ۱۷ از")
    await owner.press("➡️ قبلی")
    back = await owner.wait_for("سؤال ۱۶ از")
    assert "فروش سال مالی گذشته" in back.text


async def test_reporting_exports_after_all_asks_e2(khooshe: Khooshe) -> None:
    owner = await owner_who_answered_e1(khooshe, 3004, "۱۰۰ ۰ ۰")
    await owner.wait_for("سؤال ۱۷ از")
    await owner.press("➡️ قبلی")
    await owner.wait_for("سؤال ۱۶ از")
    await owner.send("۷۰ ۲۰ ۱۰")
    e2 = await owner.wait_for("سؤال ۱۷ از")
    assert "از چه سالی صادرات" in e2.text
    assert f"از {fa_digits(TOTAL_QUESTIONS)}" in e2.text


async def test_we_do_not_export_is_refused_after_exports_and_the_assessment_goes_on(khooshe: Khooshe) -> None:
    owner = await owner_who_answered_e1(khooshe, 3005, "۷۰ ۲۰ ۱۰")
    await owner.wait_for("سؤال ۱۷ از")
    await owner.press("ندارم")
    alert = await owner.wait_for(lambda e: e.event == "answer" and "صادرات گزارش کرده‌اید" in e.text)
    assert alert.show_alert
    await owner.send("1398")
    e3 = await owner.wait_for("سؤال ۱۸ از")
    assert "به چند کشور" in e3.text


async def test_typing_we_do_not_export_after_exports_is_refused(khooshe: Khooshe) -> None:
    owner = await owner_who_answered_e1(khooshe, 3006, "۷۰ ۲۰ ۱۰")
    await owner.wait_for("سؤال ۱۷ از")
    await owner.send("ندارم")
    refusal = await owner.wait_for("صادرات گزارش کرده‌اید")
    # The question is not sent again: it stays on screen above the refusal.
    assert [e for e in await owner.settle() if e.is_message] == []
    assert sum("سؤال ۱۷ از" in m.text for m in owner.messages()) == 1
    assert refusal.buttons == []


async def test_a_version_1_round_still_asks_e2_after_no_exports(khooshe: Khooshe) -> None:
    owner = await owner_who_answered_e1(khooshe, 3007, "۱۰۰ ۰ ۰", version=1)
    e2 = await owner.wait_for("سؤال ۱۷ از")
    assert f"سؤال ۱۷ از {fa_digits(TOTAL_QUESTIONS)}" in e2.text and "از چه سالی صادرات" in e2.text
    await owner.press("ندارم")
    await owner.wait_for("سؤال ۱۸ از")


async def test_reporting_exports_from_the_review_asks_e2_and_e3_before_returning(khooshe: Khooshe) -> None:
    owner = await owner_who_answered_e1(khooshe, 3008, "۱۰۰ ۰ ۰")
    for n, answer in enumerate(MANUFACTURER_ANSWERS[18:], start=17):
        await owner.wait_for(f"سؤال {fa_digits(n)} از")
        await give(owner, answer)
    await owner.wait_for("پاسخ‌هایتان را مرور کنید")
    await owner.press("✏️ ۱۶")
    await owner.wait_for("سؤال ۱۶ از")
    await owner.send("۷۰ ۲۰ ۱۰")
    e2 = await owner.wait_for("سؤال ۱۷ از")
    assert "از چه سالی صادرات" in e2.text
    await owner.send("1398")
    e3 = await owner.wait_for("سؤال ۱۸ از")
    assert "به چند کشور" in e3.text


async def test_the_stale_draft_reminder_counts_only_the_questions_this_firm_will_see(khooshe: Khooshe) -> None:
    """15 answers with no certificate and no exports: Q2, E2 and E3 drop out, so 15 of 25 (60%),
    not 15 of 28."""
    await use_version(khooshe, 2)
    owner = khooshe.user(3101)
    await register(owner)
    draft = {**{f"T{n}": value for n, value in enumerate(
        ["no", "yes", ["social"], "paper", "manual", "visual", "cash_cheque", 0, "no", 0], start=1)},
        "Q1": "no", "Q3": "no", "Q4": "no", "Q5": "no", "E1": [100, 0, 0]}
    async with khooshe.db.read() as repo:
        current = await repo.rounds.open_round()
        firm = await repo.firms.by_owner(3101)
    assert current is not None and firm is not None
    await submit(khooshe.db, current.id, firm.id, draft, status="draft")
    clock = khooshe.services.clock
    assert isinstance(clock, TestClock)
    clock.advance(timedelta(hours=49))
    await khooshe.tick()
    nudge = await owner.wait_for("📝")
    assert "۶۰٪" in nudge.text
