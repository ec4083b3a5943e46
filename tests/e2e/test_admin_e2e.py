"""Admins and managers over the fake Bot API: invitations (valid, reused, expired, forged,
revoked), CSV import with bad lines, block/unblock, promote/demote, per-role menus, the audit log."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest_asyncio

from bot.domain.platforms import platform_for
from bot.emulator import FakeBotApi
from storage.database import Database
from tests.support.clock import TestClock
from tests.support.factories import add_firm
from tests.support.khooshe import ADMIN_ID, Khooshe, seed, start_khooshe, stop_khooshe

LINK = re.compile(r"https://(?:t\.me|ble\.ir)/khooshe_test_bot\?start=([A-Za-z0-9_-]+)")
OWNER = 6001


@pytest_asyncio.fixture
async def bot(api: FakeBotApi, db_path: Path) -> AsyncIterator[Khooshe]:
    clock = TestClock()
    async with Database(db_path) as db:
        await seed(db, open_round=False)
        await add_firm(db, OWNER, name="Owner Firm", lang="en")
    api.user(OWNER, language_code="en")
    running = await start_khooshe(api, db_path, clock=clock, seeded=True, tick_seconds=3600)
    yield running
    await stop_khooshe(running)


async def audit_rows(khooshe: Khooshe, user_id: int | None = None) -> list[tuple[str, str, str | None]]:
    async with khooshe.db.read() as repo:
        entries = await repo.access.audit_entries(user_id=user_id, limit=1000)
    return [(e.action, e.outcome, e.detail) for e in reversed(entries)]


async def invite(khooshe: Khooshe, estate_id: int) -> tuple[str, int]:
    admin = khooshe.user(ADMIN_ID, "Admin", "en")
    await admin.send(f"/invite {estate_id}")
    reply = await admin.wait_for("?start=")
    match = LINK.search(reply.text)
    assert match, reply.text
    invitation_id = int(re.search(r"Invitation #(\d+)", reply.text).group(1))  # type: ignore[union-attr]
    return match.group(1), invitation_id


def test_invitation_link_follows_the_messenger() -> None:
    assert platform_for("https://api.telegram.org/bot").deep_link("kb", "T0K") == "https://t.me/kb?start=T0K"
    assert platform_for("https://tapi.bale.ai/bot").deep_link("kb", "T0K") == "https://ble.ir/kb?start=T0K"


async def test_invitation_valid_reused_forged_expired_revoked(bot: Khooshe) -> None:
    khooshe, api = bot, bot.api
    clock = khooshe.services.clock
    assert isinstance(clock, TestClock)
    manager = khooshe.user(7001, "Mina", "en")
    other = khooshe.user(7002, "Omid", "en")
    persian = khooshe.user(7003, "Reza", "fa")

    token, invitation_id = await invite(khooshe, 1)
    assert len(token) >= 32  # 24 random bytes, 192 bits
    async with khooshe.db.read() as repo:
        stored = await repo.access.invitation_by_id(invitation_id)
    assert stored is not None and stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in Path(khooshe.db.path).read_bytes().decode("utf-8", "replace")

    # Valid: the estate is shown and the opener confirms with a button.
    await manager.send(f"/start {token}")
    prompt = await manager.wait_for("You are invited to manage")
    assert "شهرک" in prompt.text
    accept_data = prompt.button_data[0][0]
    assert accept_data and token not in accept_data

    # Someone else pressing that button (forged data in their own chat) is refused and audited.
    await other.send("/start")
    await other.wait_for("Hello")
    await other.press_data(accept_data)
    await other.wait_for(lambda e: e.event == "answer" and "no longer active" in e.text)

    await manager.press("✅ Accept")
    await manager.wait_for("You are now a manager")
    async with khooshe.db.read() as repo:
        assert await repo.access.managed_estates(7001) == [1]
    admin = khooshe.user(ADMIN_ID)
    await admin.wait_for("accepted invitation")
    assert_menu_has(api, 7001, "myestates")
    assert_menu_has(api, 7001, "assess")
    assert "invite" not in [c["command"] for c in api.get_commands({"type": "chat", "chat_id": 7001})]

    # Pressing it twice: refused.
    await manager.press_data(accept_data, prompt.message_id)
    await manager.wait_for(lambda e: e.event == "answer" and "no longer active" in e.text)

    # Reused by someone else, and by the same manager.
    await other.send(f"/start {token}")
    await other.wait_for("already been used")
    await manager.send(f"/start {token}")
    await manager.wait_for("already accepted")

    # Forged: a well-formed token nobody issued, in English and in Persian.
    await other.send("/start " + "A" * 32)
    await other.wait_for("not valid")
    await persian.send("/start " + "B" * 32)
    forged_fa = await persian.wait_for("دعوت")
    assert "not valid" not in forged_fa.text

    # Expired: 72 hours by default.
    late_token, _ = await invite(khooshe, 2)
    clock.set(clock.now() + timedelta(hours=73))
    await other.send(f"/start {late_token}")
    await other.wait_for("expired")

    # Revoked.
    revoked_token, revoked_id = await invite(khooshe, 3)
    await admin.send(f"/revoke {revoked_id}")
    await admin.wait_for("is revoked")
    await other.send(f"/start {revoked_token}")
    await other.wait_for("withdrawn")
    async with khooshe.db.read() as repo:
        assert await repo.access.managed_estates(7002) == []

    # Every step is in the audit log.
    rows = await audit_rows(khooshe)
    assert ("invite_accept", "ok", "manager of estate 1") in rows
    refused = [(a, d) for a, o, d in rows if o == "refused"]
    for detail in ("forged", "reused", "expired", "revoked"):
        assert ("invite_open", detail) in refused
    assert ("invite_accept", "stale or forged button") in refused
    assert sum(1 for a, o, _ in rows if a == "invite" and o == "ok") == 3
    assert ("revoke", "ok", None) in rows


CSV_ESTATES = (
    "province,name,kind\n"
    "Tehran,Matrix Test Estate,estate\n"          # line 2: added
    "تهران,شهرک صنعتی عباس‌آباد,estate\n"          # line 3: already there
    "Atlantis,Nowhere Estate,estate\n"            # line 4: unknown province
    "Fars,,estate\n"                              # line 5: empty name
    "Fars,Odd Estate,village\n"                   # line 6: bad kind
)


async def test_csv_import_reports_added_skipped_and_rejected_lines(bot: Khooshe) -> None:
    khooshe = bot
    admin = khooshe.user(ADMIN_ID, "Admin", "en")
    owner = khooshe.user(OWNER, language_code="en")

    await owner.send_document("estates.csv", CSV_ESTATES.encode(), caption="/import estates")
    await owner.wait_for("admins only")

    await admin.send_document("estates.csv", ("\ufeff" + CSV_ESTATES).encode(), caption="/import estates")
    report = await admin.wait_for("Estates import")
    assert "added 1, skipped 1 (already there), rejected 3" in report.text
    assert "line 4: unknown province" in report.text and "Atlantis" in report.text
    assert "line 5: the name is empty" in report.text
    assert "line 6: the kind must be estate, zone or park" in report.text
    async with khooshe.db.read() as repo:
        _, total = await repo.estates.search("Matrix Test Estate")
    assert total == 1

    # Not UTF-8 (Windows-1256 from an old Excel): a clear message, nothing imported.
    await admin.send_document("clusters.csv", "province,name,sector\nتهران,خوشه آزمايشي,C\n".encode("cp1256"),
                              caption="/import clusters")
    await admin.wait_for("not UTF-8")

    # A file without a caption: the admin picks what it is with a button.
    await admin.send_document("c.csv", b"province,name,sector\nBushehr,Test Cluster,C\nBushehr,Bad,ZZ\n")
    await admin.wait_for("What does this file hold?")
    await admin.press("🤝 Clusters")
    report = await admin.wait_for("Clusters import")
    assert "added 1" in report.text and "line 3: unknown ISIC section" in report.text

    # An owner's plain CSV just gets the menu.
    await owner.send_document("x.csv", b"a,b\n")
    await owner.wait_for("Owner Firm")

    rows = await audit_rows(khooshe, ADMIN_ID)
    assert ("import_estates", "ok", "added 1, skipped 1, rejected 3") in rows
    assert ("import_clusters", "ok", "not UTF-8") in rows
    assert [r for r in await audit_rows(khooshe, OWNER) if r[1] == "refused"]


async def test_estates_and_clusters_are_managed_from_the_chat(bot: Khooshe) -> None:
    admin = bot.user(ADMIN_ID, "Admin", "en")
    await admin.send("/addestate Fars | Chat Estate | zone")
    added = await admin.wait_for("Added")
    new_id = int(re.search(r"#(\d+)", added.text).group(1))  # type: ignore[union-attr]
    await admin.send("/addestate Fars | Chat Estate | zone")
    await admin.wait_for("already there")
    await admin.send("/addestate Narnia | X | estate")
    await admin.wait_for("unknown province")
    await admin.send(f"/renameestate {new_id} | Renamed Estate")
    await admin.wait_for("is now called")
    await admin.send(f"/deactivateestate {new_id}")
    await admin.wait_for("deactivated")
    await admin.send("/estates Renamed")
    listing = await admin.wait_for("Renamed Estate")
    assert "(inactive)" in listing.text and "1 of 1" in listing.text
    await admin.send(f"/reactivateestate {new_id}")
    await admin.wait_for("active again")
    await admin.send("/estates")
    listing = await admin.wait_for(" of ")
    assert "30 of" in listing.text
    await admin.send("/addcluster Kerman | Pistachio Cluster | A")
    await admin.wait_for("Added")
    await admin.send("/addcluster Kerman | Bad Cluster | Z")
    await admin.wait_for("unknown ISIC section")
    async with bot.db.read() as repo:
        estate = await repo.estates.get(new_id)
    assert estate is not None and estate.name == "Renamed Estate" and estate.active
    actions = [a for a, o, _ in await audit_rows(bot, ADMIN_ID) if o == "ok"]
    for action in ("add_estate", "rename_estate", "deactivate_estate", "reactivate_estate", "add_cluster"):
        assert action in actions


def assert_menu_has(api: FakeBotApi, user_id: int, command: str) -> None:
    """On Telegram the user's own command menu lists ``command``; Bale has no command menus, and
    the bot must not even ask for one (its /help lists the commands instead)."""
    commands = [c["command"] for c in api.get_commands({"type": "chat", "chat_id": user_id})]
    if api.bale:
        assert commands == [] and api.calls_to("setMyCommands") == []
    else:
        assert command in commands


async def test_block_promote_demote_and_menus(bot: Khooshe) -> None:
    khooshe, api = bot, bot.api
    admin = khooshe.user(ADMIN_ID, "Admin", "en")
    owner = khooshe.user(OWNER, language_code="en")

    # Configured admins have their menu from start-up; owners keep the default one.
    assert_menu_has(api, ADMIN_ID, "audit")
    assert api.get_commands({"type": "chat", "chat_id": OWNER}) == []

    await owner.send("/start")
    await owner.wait_for("Owner Firm")
    await admin.send(f"/block {ADMIN_ID}")
    await admin.wait_for("(id 900001")
    await admin.press("✅ Confirm")
    await admin.wait_for("cannot be blocked")
    await admin.send(f"/block {OWNER}")
    await admin.wait_for("firm «Owner Firm»")
    await admin.press("✅ Confirm")
    await admin.wait_for("is blocked")
    await owner.send("/start")
    await owner.wait_for("suspended")
    await owner.send("/start")
    await owner.send("hello")
    assert [e for e in await owner.settle(0.4) if e.is_message] == []
    await owner.press_data("m:menu")
    events = await owner.settle(0.4)
    assert [e for e in events if e.is_message] == [] and any(e.event == "answer" for e in events)

    # It survives a restart (loaded from the database).
    assert OWNER in khooshe.services.blocked
    await admin.send(f"/unblock {OWNER}")
    await admin.wait_for("is unblocked")
    await owner.send("/start")
    await owner.wait_for("Owner Firm")

    await admin.send(f"/promote {OWNER}")
    await admin.wait_for("an admin?")
    await admin.press("✅ Confirm")
    await admin.wait_for("is now an admin")
    await owner.wait_for("You are now an admin")
    assert_menu_has(api, OWNER, "audit")
    await owner.send("/help")
    help_text = await owner.wait_for("/auditexport")
    assert "/assess" in help_text.text and "/myestates" in help_text.text
    await owner.send(f"/demote {ADMIN_ID}")
    await owner.wait_for("Take admin rights away")
    await owner.press("✅ Confirm")
    await owner.wait_for(lambda e: e.event == "answer" and "cannot be demoted" in e.text)
    await admin.send(f"/demote {OWNER}")
    await admin.wait_for("Take admin rights away")
    await admin.press("✅ Confirm")
    await admin.wait_for("no longer an admin")
    await owner.wait_for("admin rights in Khooshe were withdrawn")
    assert api.get_commands({"type": "chat", "chat_id": OWNER}) == []
    await owner.send("/help")
    help_text = await owner.wait_for("/assess")
    assert "/invite" not in help_text.text

    # The audit log, in the chat and as a CSV with a BOM.
    await admin.send("/audit")
    shown = await admin.wait_for("Audit log")
    assert "block" in shown.text and "refused" in shown.text and "14" in shown.text  # Solar Hijri year
    await admin.send(f"/audit {OWNER}")
    await admin.wait_for("took admin rights away")
    await admin.send("/auditexport")
    document = await admin.wait_for(lambda e: e.kind == "document")
    assert document.data is not None and document.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(document.data.decode("utf-8-sig"))))
    assert rows[0][:5] == ["id", "when_tehran", "when_utc", "user_id", "action"]
    assert {r[4] for r in rows[1:]} >= {"block", "unblock", "promote", "demote"}
    assert ("demote", "refused", "configured admin") in await audit_rows(khooshe, OWNER)


async def test_blocked_users_are_loaded_at_start_up(api: FakeBotApi, db_path: Path) -> None:
    async with Database(db_path) as db:
        await seed(db, open_round=False)
        async with db.transaction() as repo:
            await repo.access.block(user_id=6100, by=ADMIN_ID)
    running = await start_khooshe(api, db_path, seeded=True)
    try:
        blocked = running.user(6100)
        await blocked.send("/start")
        await blocked.wait_for("معلق")  # in the language stored for them
        await blocked.send("/help")
        assert [e for e in await blocked.settle(0.4) if e.is_message] == []
    finally:
        await stop_khooshe(running)
