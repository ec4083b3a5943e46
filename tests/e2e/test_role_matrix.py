"""The role matrix: every privileged command and button, tried by a firm owner, a manager of
another estate, a manager and an admin. Only the allowed ones succeed; forged and replayed buttons
are refused; every refusal is in the audit log with outcome 'refused'."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from bot.emulator import BotEvent, FakeBotApi, FakeUser
from storage.database import Database
from tests.support.clock import TestClock
from tests.support.factories import add_firm
from tests.support.khooshe import ADMIN_ID, Khooshe, seed, start_khooshe, stop_khooshe

OWNER, MANAGER, OTHER = 8001, 8002, 8003
ROLES = {"owner": OWNER, "other": OTHER, "manager": MANAGER, "admin": ADMIN_ID}
ADMINS_ONLY = "This is for admins only."
NOT_ALLOWED = "You are not allowed to do this."
NO_LONGER_ACTIVE = "This button is no longer active."
REFUSALS = (ADMINS_ONLY, NOT_ALLOWED)

ADMIN = {"admin"}
MANAGERS = {"manager", "other", "admin"}

# Every privileged command, with arguments that do no harm when it is allowed.
COMMANDS: list[tuple[str, set[str]]] = [
    # handlers/admin_rounds.py
    ("/rounds", ADMIN),
    ("/newround", ADMIN),
    ("/editround 999 title X", ADMIN),
    ("/openround 999", ADMIN),
    ("/closeround 999", ADMIN),
    ("/extend 999 1405/11/10", ADMIN),
    ("/reopenround 999 1405/11/10", ADMIN),
    ("/find Zarrin", ADMIN),
    ("/moveestate 1 2", ADMIN),
    ("/publish 999", ADMIN),
    ("/sensitivity 999 1,1,1,1", ADMIN),
    # handlers/invitations.py
    ("/invite 1", ADMIN),
    ("/revoke 999", ADMIN),
    ("/invitations", ADMIN),
    # handlers/admin_access.py
    ("/managers", MANAGERS),
    ("/managers 1", {"manager", "admin"}),  # the other estate's manager may not look at estate 1
    ("/myestates", MANAGERS),
    ("/removemanager 777001", ADMIN),
    ("/promote 777002", ADMIN),
    ("/demote 777002", ADMIN),
    ("/block 777003", ADMIN),
    ("/unblock 777003", ADMIN),
    ("/audit", ADMIN),
    ("/auditexport", ADMIN),
    # handlers/admin_places.py
    ("/estates", ADMIN),
    ("/clusters", ADMIN),
    ("/addestate Fars | Matrix Estate | estate", ADMIN),
    ("/renameestate 99999 | X", ADMIN),
    ("/deactivateestate 99999", ADMIN),
    ("/reactivateestate 99999", ADMIN),
    ("/addcluster Fars | Matrix Cluster | C", ADMIN),
    ("/renamecluster 99999 | X", ADMIN),
    ("/deactivatecluster 99999", ADMIN),
    ("/reactivatecluster 99999", ADMIN),
    ("/import", ADMIN),
    # handlers/manager_dashboard.py and handlers/national.py
    ("/dashboard 1", {"manager", "admin"}),
    ("/export 1", {"manager", "admin"}),
    ("/nudge 1", {"manager", "admin"}),
    ("/funnel", MANAGERS),
    ("/funnel 1", {"manager", "admin"}),
    ("/broadcasts", MANAGERS),
    ("/stats", ADMIN),
    ("/top", ADMIN),
    ("/exportall", ADMIN),
    ("/exportanswers", ADMIN),
]


def refusal_for(allowed: set[str]) -> str:
    """The one refusal a role gets: admin-only commands say so; manager commands (and a manager
    outside their estates) say «not allowed»."""
    return ADMINS_ONLY if allowed == ADMIN else NOT_ALLOWED


# Forged button data: role-guarded buttons refuse everyone but admins as admin-only (audited);
# an admin's stale nonce then finds nothing («no longer active», not audited).  The invitation
# button is for whoever holds the pending invitation: without one it is «no longer active» for
# everyone, and audited as a refusal.
CALLBACKS: list[tuple[str, dict[str, tuple[str, int]]]] = [
    *((data, {"owner": (ADMINS_ONLY, 1), "other": (ADMINS_ONLY, 1), "manager": (ADMINS_ONLY, 1),
              "admin": (NO_LONGER_ACTIVE, 0)})
      for data in ("adm:rc:forgedtoken", "adm:rx:forgedtoken", "imp:e:forgedtoken", "imp:c:forgedtoken")),
    *((data, {role: (NO_LONGER_ACTIVE, 1) for role in ROLES})
      for data in ("inv:ok:forgedtoken", "inv:no:forgedtoken")),
]


@pytest_asyncio.fixture
async def roles(api: FakeBotApi, db_path: Path) -> AsyncIterator[Khooshe]:
    clock = TestClock()
    async with Database(db_path) as db:
        await seed(db, open_round=False)
        await add_firm(db, OWNER, name="Matrix Owner Firm", lang="en", estate_id=1)
        async with db.transaction() as repo:
            for uid in (MANAGER, OTHER, ADMIN_ID):
                await repo.users.ensure(user_id=uid, language="en", first_name=f"U{uid}")
            await repo.access.add_manager(user_id=MANAGER, estate_id=1, by=ADMIN_ID)
            await repo.access.add_manager(user_id=OTHER, estate_id=2, by=ADMIN_ID)
    for uid in ROLES.values():
        api.user(uid, language_code="en")
    running = await start_khooshe(api, db_path, clock=clock, seeded=True, tick_seconds=3600)
    yield running
    await stop_khooshe(running)


async def refused_count(khooshe: Khooshe, user_id: int) -> int:
    async with khooshe.db.read() as repo:
        entries = await repo.access.audit_entries(user_id=user_id, limit=100000)
    return sum(e.outcome == "refused" for e in entries)


def refusals(events: list[BotEvent]) -> list[str]:
    """The refusal messages among ``events``."""
    return [r for e in events if e.is_message for r in REFUSALS if r in e.text]


async def answers_to(user: FakeUser) -> list[BotEvent]:
    """Every role gets an answer (a refusal or the command's reply): its first message is
    awaited, so a slow machine cannot make a reply look missing, then the rest."""
    first = await user.wait_for(lambda e: e.is_message, timeout=10)
    return [first, *await user.settle(0.25)]


async def test_every_privileged_command_by_every_role(roles: Khooshe) -> None:
    khooshe = roles
    users = {role: khooshe.user(uid, language_code="en") for role, uid in ROLES.items()}
    wrong: list[str] = []
    for command, allowed in COMMANDS:
        before = {role: await refused_count(khooshe, uid) for role, uid in ROLES.items()}
        await asyncio.gather(*(u.send(command) for u in users.values()))
        # The four roles are watched side by side: each waits for its own quiet spell.
        seen = await asyncio.gather(*(answers_to(user) for user in users.values()))
        for (role, _user), events in zip(users.items(), seen, strict=True):
            refused = refusals(events)
            audited = await refused_count(khooshe, ROLES[role]) - before[role]
            expected_refused = role not in allowed
            expected = [refusal_for(allowed)] if expected_refused else []
            if refused != expected or audited != int(expected_refused):
                wrong.append(f"{command} by {role}: refusals={refused} (want {expected}), audited={audited}, "
                             f"events={[str(e) for e in events]}")
            if not expected_refused and not [e for e in events if e.is_message]:
                wrong.append(f"{command} by {role}: allowed but no answer")
    assert wrong == []


async def test_forged_buttons_are_refused_and_audited(roles: Khooshe) -> None:
    khooshe = roles
    users = {role: khooshe.user(uid, language_code="en") for role, uid in ROLES.items()}
    for user in users.values():
        await user.send("/start")
        await user.wait_for("Hello")
    wrong: list[str] = []

    async def press(role: str, user: FakeUser, data: str, answer: str, audits: int) -> None:
        before = await refused_count(khooshe, ROLES[role])
        start = len(user.events)
        await user.press_data(data)
        # Every press is answered; on a loaded machine that can take longer than a quiet spell.
        await user.wait_for(lambda e: e.event == "answer", timeout=15)
        await user.settle(0.25)
        events = user.events[start:]
        answers = [e.text for e in events if e.event == "answer"]
        messages = [e.text for e in events if e.is_message]
        audited = await refused_count(khooshe, ROLES[role]) - before
        if answers != [answer] or messages != [] or audited != audits:
            wrong.append(f"{data} by {role}: answers={answers} (want {[answer]}), messages={messages}, "
                         f"audited={audited} (want {audits})")

    for data, expected in CALLBACKS:
        # The roles press side by side; each one's answers and audit rows are its own.
        await asyncio.gather(*(press(role, user, data, *expected[role]) for role, user in users.items()))
    assert wrong == []


async def test_replayed_round_confirm_and_invitation_buttons(roles: Khooshe) -> None:
    khooshe = roles
    admin = khooshe.user(ADMIN_ID, language_code="en")
    manager = khooshe.user(MANAGER, language_code="en")
    other = khooshe.user(OTHER, language_code="en")

    # The admin's round-confirm button, pressed by a manager: refused as admin-only.
    await admin.send("/newround Matrix | 1410/01/10 08:00 | 1410/02/10 20:00")
    echo = await admin.wait_for("Please confirm")
    confirm_data = echo.button_data[0][0] or ""
    await manager.send("/start")
    await manager.wait_for("Hello")
    before = await refused_count(khooshe, MANAGER)
    await manager.press_data(confirm_data)
    await manager.wait_for(lambda e: e.event == "answer" and "admins only" in e.text)
    assert await refused_count(khooshe, MANAGER) == before + 1
    await admin.press_data(confirm_data, echo.message_id)
    await admin.wait_for("created")
    await admin.press_data(confirm_data, echo.message_id)  # replayed by the admin: nothing happens
    await admin.wait_for(lambda e: e.event == "answer" and "no longer active" in e.text)
    async with khooshe.db.read() as repo:
        assert len(await repo.rounds.all()) == 1

    # An invitation accepted once; the same button pressed again, and by someone else.
    await admin.send("/invite 2")
    invitation = await admin.wait_for("?start=")
    token = invitation.text.split("start=")[1].split()[0]
    await manager.send(f"/start {token}")
    prompt = await manager.wait_for("You are invited")
    accept = prompt.button_data[0][0] or ""
    await other.send("/start")
    await other.wait_for("Hello")
    before_other = await refused_count(khooshe, OTHER)
    await other.press_data(accept)
    await other.wait_for(lambda e: e.event == "answer" and "no longer active" in e.text)
    assert await refused_count(khooshe, OTHER) == before_other + 1
    await manager.press_data(accept, prompt.message_id)
    await manager.wait_for("You are now a manager")
    before = await refused_count(khooshe, MANAGER)
    await manager.press_data(accept, prompt.message_id)
    await manager.wait_for(lambda e: e.event == "answer" and "no longer active" in e.text)
    assert await refused_count(khooshe, MANAGER) == before + 1
    async with khooshe.db.read() as repo:
        assert await repo.access.managed_estates(MANAGER) == [1, 2]
        assert await repo.access.managed_estates(OTHER) == [2]


async def test_an_export_button_for_an_estate_that_does_not_exist_says_so(roles: Khooshe) -> None:
    admin = roles.user(ROLES["admin"], language_code="en")
    await admin.send("/start")
    await admin.wait_for("Hello")
    await admin.press_data("exp:999999")
    reply = await admin.wait_for("There is no estate")
    assert "999" in reply.text
    assert not [e for e in await admin.settle(0.3) if e.is_message and "Sorry" in e.text]
