"""What only Bale does differently: no language_code, no command menus, Markdown for every text.
The rest of the end-to-end suite runs under the Bale profile too."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.emulator import FakeBotApi
from bot.emulator.strict import utf16_len
from bot.services.rounds import SYSTEM
from tests.support.factories import add_firm
from tests.support.khooshe import ADMIN_ID, Khooshe

pytestmark = pytest.mark.platforms("bale")


async def test_a_bale_user_reads_persian_and_can_choose_english(khooshe: Khooshe) -> None:
    owner = khooshe.user(3201)  # Bale sends no language_code
    await owner.send("/start")
    await owner.wait_for("بنگاه خود را ثبت کنید")
    await owner.press("🌐 English")
    await owner.wait_for("register your firm")


async def test_bale_is_never_asked_for_command_menus(khooshe: Khooshe, api: FakeBotApi) -> None:
    assert [m for m, _, _ in api.calls if m.lower() in ("setmycommands", "deletemycommands")] == []


async def test_an_admins_help_lists_the_admin_commands(khooshe: Khooshe) -> None:
    admin = khooshe.user(ADMIN_ID, "Admin", "en")
    await admin.send("/help")
    help_text = await admin.wait_for("/closeround")
    assert "/publish" in help_text.text and "/broadcast" in help_text.text


async def test_an_announcement_titled_with_markup_reaches_every_firm_as_typed(
    khooshe_no_round: Khooshe, api: FakeBotApi,
) -> None:
    khooshe = khooshe_no_round
    owners = [3211, 3212]
    for uid in owners:
        await add_firm(khooshe.db, uid)
        api.user(uid)
    now = khooshe.services.clock.now()
    await khooshe.services.rounds.create(
        SYSTEM, title="R&D <Winter> *Q1* _draft_", opens=now, closes=now + timedelta(days=20), version=1,
        start_now=True,
    )
    await khooshe.drain()
    # Bale would read *Q1* as bold and _draft_ as italic: the pairs are shown with look-alikes.
    shown = "R&D <Winter> ∗Q1∗ ˍdraftˍ"
    for uid in owners:
        announcement = await api.users[uid].wait_for(shown)
        start = utf16_len(announcement.text[:announcement.text.index(shown)])
        assert [e for e in announcement.entities
                if e["offset"] < start + utf16_len(shown) and e["offset"] + e["length"] > start] == []
