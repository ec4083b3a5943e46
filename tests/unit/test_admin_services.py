"""The admin's and manager's services on a real SQLite file: roles, invitations, places,
broadcast composing, and the users the bot has met."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio

from bot.delivery.keys import broadcast_key, broadcast_prefix
from bot.domain.quiet_hours import QuietHours
from bot.services.access import Access
from bot.services.broadcasts import BadMoment, BroadcastService, Created, NoRecipients, OutOfScope, Tally, TooLong
from bot.services.invitations import Accepted, InvitationService, Opened, Unusable
from bot.services.places import PlacesService
from bot.services.roles import RolesService
from bot.services.users import UsersService
from storage.database import Database
from storage.repositories import base
from storage.repositories.base import use_clock
from tests.support.clock import TEHRAN, TestClock, tehran
from tests.support.factories import add_firm
from tests.support.khooshe import seed

ADMIN, MANAGER, OWNER, STRANGER = 1, 7001, 7002, 7003
ADMINS = frozenset({ADMIN})


@pytest_asyncio.fixture
async def clock() -> AsyncIterator[TestClock]:
    clock = TestClock()
    before = base._clock
    use_clock(clock.now)
    yield clock
    use_clock(before)


@pytest_asyncio.fixture
async def db(tmp_path: Path, clock: TestClock) -> AsyncIterator[Database]:
    async with Database(tmp_path / "khooshe.db") as database:
        await seed(database, open_round=False)
        async with database.transaction() as repo:
            for user_id in (ADMIN, MANAGER, OWNER, STRANGER):
                await repo.users.ensure(user_id=user_id, language="fa", first_name="User")
        yield database


async def audit_actions(db: Database, user_id: int) -> list[tuple[str, str]]:
    async with db.read() as repo:
        return [(e.action, e.outcome) for e in await repo.access.audit_entries(user_id=user_id)]


def roles(db: Database, blocked: set[int] | None = None) -> RolesService:
    return RolesService(db, ADMINS, blocked if blocked is not None else set(), set())


# --- roles ------------------------------------------------------------------------------------------


async def test_an_admin_cannot_be_blocked(db: Database) -> None:
    assert await roles(db).block(ADMIN, ADMIN) == "admin"


async def test_a_blocked_user_is_kept_in_memory_and_audited(db: Database) -> None:
    blocked: set[int] = set()
    assert await roles(db, blocked).block(ADMIN, STRANGER) == "blocked"
    assert blocked == {STRANGER}
    assert await audit_actions(db, ADMIN) == [("block", "ok")]


async def test_a_blocked_user_cannot_be_promoted(db: Database) -> None:
    service = roles(db, {STRANGER})
    assert await service.promote(ADMIN, STRANGER) == "blocked"


async def test_a_configured_admin_cannot_be_demoted(db: Database) -> None:
    assert await roles(db).demote(ADMIN, ADMIN) == "configured"


async def test_a_promoted_admin_can_be_demoted_once(db: Database) -> None:
    service = roles(db)
    assert await service.promote(ADMIN, STRANGER) == "promoted"
    assert await service.demote(ADMIN, STRANGER) == "demoted"
    assert await service.demote(ADMIN, STRANGER) == "not_admin"


# --- invitations ------------------------------------------------------------------------------------


async def test_an_invitation_is_accepted_by_one_of_two_people_at_once(db: Database, clock: TestClock) -> None:
    service = InvitationService(db, clock, hours=72)
    created = await service.create(ADMIN, 1)
    assert created is not None
    opened = [await service.open(u, created.token) for u in (MANAGER, STRANGER)]
    assert all(isinstance(o, Opened) for o in opened)
    outcomes = await asyncio.gather(service.accept(MANAGER, created.invitation_id),
                                    service.accept(STRANGER, created.invitation_id))
    assert sum(isinstance(o, Accepted) for o in outcomes) == 1
    async with db.read() as repo:
        assert len(await repo.access.managers(1)) == 1


async def test_a_used_invitation_reopened_by_its_user_says_so(db: Database, clock: TestClock) -> None:
    service = InvitationService(db, clock, hours=72)
    created = await service.create(ADMIN, 1)
    assert created is not None
    await service.accept(MANAGER, created.invitation_id)
    again = await service.open(MANAGER, created.token)
    assert isinstance(again, Unusable) and (again.problem, again.mine) == ("reused", True)


async def test_an_expired_invitation_cannot_be_accepted(db: Database, clock: TestClock) -> None:
    service = InvitationService(db, clock, hours=72)
    created = await service.create(ADMIN, 1)
    assert created is not None
    clock.advance(timedelta(hours=73))
    opened = await service.open(MANAGER, created.token)
    assert isinstance(opened, Unusable) and opened.problem == "expired"
    assert await service.accept(MANAGER, created.invitation_id) is None


async def test_an_unknown_token_is_forged(db: Database, clock: TestClock) -> None:
    opened = await InvitationService(db, clock, hours=72).open(MANAGER, "x" * 32)
    assert isinstance(opened, Unusable) and opened.problem == "forged"


async def test_a_used_invitation_cannot_be_revoked(db: Database, clock: TestClock) -> None:
    service = InvitationService(db, clock, hours=72)
    created = await service.create(ADMIN, 1)
    assert created is not None
    await service.accept(MANAGER, created.invitation_id)
    assert await service.revoke(ADMIN, created.invitation_id) == "used"


# --- places -----------------------------------------------------------------------------------------


async def test_adding_an_estate_twice_skips_the_second(db: Database) -> None:
    service = PlacesService(db)
    first = await service.add(ADMIN, "estates", "بوشهر", "شهرک آزمایشی", "estate")
    second = await service.add(ADMIN, "estates", "بوشهر", "شهرک آزمایشی", "estate")
    assert first.new_id is not None and second.skipped


async def test_an_estate_in_an_unknown_province_is_rejected(db: Database) -> None:
    added = await PlacesService(db).add(ADMIN, "estates", "آتلانتیس", "شهرک آزمایشی", "estate")
    assert added.rejected == "unknown province 'آتلانتیس'"


async def test_renaming_to_a_name_taken_in_the_province_is_refused(db: Database) -> None:
    service = PlacesService(db)
    first = await service.add(ADMIN, "estates", "بوشهر", "شهرک یک", "estate")
    await service.add(ADMIN, "estates", "بوشهر", "شهرک دو", "estate")
    assert first.new_id is not None
    assert (await service.rename(ADMIN, "estates", first.new_id, "شهرک دو")).outcome == "taken"


async def test_renaming_to_a_name_spelled_like_another_is_held_back_unless_confirmed(db: Database) -> None:
    service = PlacesService(db)
    first = await service.add(ADMIN, "estates", "بوشهر", "شهرک یک", "estate")
    second = await service.add(ADMIN, "estates", "بوشهر", "شهرک صنعتی کاوه", "estate")
    assert first.new_id is not None and second.new_id is not None
    held = await service.rename(ADMIN, "estates", first.new_id, "کاوه")
    assert (held.outcome, held.similar) == ("similar", ((second.new_id, "شهرک صنعتی کاوه"),))
    assert (await service.rename(ADMIN, "estates", first.new_id, "کاوه", anyway=True)).outcome == "renamed"


async def test_a_file_that_is_not_utf8_is_refused_and_audited(db: Database) -> None:
    assert await PlacesService(db).import_file(ADMIN, "estates", "province,name".encode("utf-16")) is None
    assert await audit_actions(db, ADMIN) == [("import_estates", "ok")]


# --- broadcasts -------------------------------------------------------------------------------------


def broadcasting(db: Database, clock: TestClock) -> BroadcastService:
    return BroadcastService(db, clock, QuietHours("21:00-08:00", (4,), TEHRAN), TEHRAN)


MANAGER_ACCESS = Access(user_id=MANAGER, configured_admin=False, promoted_admin=False, estates=(1,))
ADMIN_ACCESS = Access(user_id=ADMIN, configured_admin=True, promoted_admin=False, estates=())


async def test_a_manager_cannot_reach_another_estate(db: Database, clock: TestClock) -> None:
    service = broadcasting(db, clock)
    with pytest.raises(OutOfScope):
        await service.estates(MANAGER_ACCESS, {"round_id": None}, "2")


async def test_a_manager_cannot_filter_by_size(db: Database, clock: TestClock) -> None:
    with pytest.raises(OutOfScope):
        broadcasting(db, clock).set_filter(MANAGER_ACCESS, {"estates": [1]}, "size", "1-9")


async def test_a_manager_with_one_estate_starts_with_it_chosen(db: Database, clock: TestClock) -> None:
    begun = await broadcasting(db, clock).begin(MANAGER_ACCESS)
    assert begun.ready and begun.audience["estates"] == [1]


async def test_the_count_follows_the_filters(db: Database, clock: TestClock) -> None:
    await add_firm(db, OWNER, estate_id=1, sector="C")
    await add_firm(db, STRANGER, estate_id=1, sector="A")
    service = broadcasting(db, clock)
    audience = {"estates": [1], "round_id": None}
    assert await service.count(MANAGER_ACCESS, audience) == 2
    assert await service.count(MANAGER_ACCESS, service.set_filter(MANAGER_ACCESS, audience, "sec", "A")) == 1


def test_a_caption_over_the_limit_is_too_long() -> None:
    assert BroadcastService.notice("photo", "x" * 1025, "x" * 1025, "file") == TooLong(1024)


async def test_a_schedule_in_the_past_is_refused(db: Database, clock: TestClock) -> None:
    outcome = await broadcasting(db, clock).schedule(
        ADMIN_ACCESS, {"estates": None}, {"kind": "text", "text": "hi"}, "1405/09/01 10:00", chat_id=ADMIN)
    assert outcome == BadMoment("past")


async def test_a_schedule_for_no_firm_is_refused(db: Database, clock: TestClock) -> None:
    outcome = await broadcasting(db, clock).schedule(
        ADMIN_ACCESS, {"estates": None}, {"kind": "text", "text": "hi"}, "1405/09/11 10:00", chat_id=ADMIN)
    assert outcome == NoRecipients()


async def test_a_schedule_in_quiet_hours_says_when_it_goes_out(db: Database, clock: TestClock) -> None:
    await add_firm(db, OWNER, estate_id=1)  # a broadcast needs a recipient
    outcome = await broadcasting(db, clock).schedule(
        ADMIN_ACCESS, {"estates": None}, {"kind": "text", "text": "hi"}, "1405/09/11 22:00", chat_id=ADMIN)
    assert isinstance(outcome, Created) and outcome.quiet_until == tehran("1405/09/12 08:00")
    assert await audit_actions(db, ADMIN) == [("broadcast_create", "ok")]


async def test_only_its_sender_or_an_admin_cancels_a_broadcast(db: Database, clock: TestClock) -> None:
    await add_firm(db, OWNER, estate_id=1)  # a broadcast needs a recipient
    service = broadcasting(db, clock)
    created = await service.schedule(ADMIN_ACCESS, {"estates": None}, {"kind": "text", "text": "hi"},
                                     "1405/09/11 10:00", chat_id=ADMIN)
    assert isinstance(created, Created)
    with pytest.raises(OutOfScope):
        await service.cancel(MANAGER_ACCESS, created.broadcast_id)


async def test_a_broadcast_s_delivery_is_counted_by_its_keys(db: Database, clock: TestClock) -> None:
    await add_firm(db, OWNER, estate_id=1)  # a broadcast needs a recipient
    service = broadcasting(db, clock)
    created = await service.schedule(ADMIN_ACCESS, {"estates": None}, {"kind": "text", "text": "hi"},
                                     "1405/09/11 10:00", chat_id=ADMIN)
    assert isinstance(created, Created)
    async with db.transaction() as repo:
        await repo.outbox.add_many(kind="broadcast", not_before=clock.now(), rows=[
            (broadcast_key(created.broadcast_id, OWNER), OWNER, {"type": "broadcast"})])
        counts = await repo.broadcasts.delivery_counts(broadcast_prefix(created.broadcast_id))
    assert Tally.of(counts) == Tally(remaining=1)


# --- users ------------------------------------------------------------------------------------------


async def test_a_user_who_writes_again_is_reachable_again(db: Database) -> None:
    async with db.transaction() as repo:
        await repo.users.set_unreachable(user_id=OWNER, at=tehran("1405/09/09 10:00"))
    unreachable = {OWNER}
    await UsersService(db, {}, unreachable).seen(OWNER, language_code="fa", first_name="Ali")
    async with db.read() as repo:
        assert OWNER not in await repo.users.unreachable_ids()
    assert unreachable == set()


async def test_a_new_user_gets_the_language_of_their_client(db: Database) -> None:
    languages: dict[int, str] = {}
    assert await UsersService(db, languages, set()).seen(8001, language_code="en-GB", first_name="Sam") == "en"
    assert languages == {8001: "en"}
