"""The firm owner's use cases outside the assessment: my data, delete my data, reminders on or
off, the language, /myrank and the menu's state, on a real SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest_asyncio

from bot.services.menu import MenuService
from bot.services.owner_settings import OwnerSettingsService
from bot.services.privacy import PrivacyService
from bot.services.publishing import ResultsService
from bot.services.ranking import score_round
from bot.services.rounds import RoundPolicy, RoundService
from bot.settings import OperatorSettings
from storage.database import Database
from storage.repositories import base
from storage.repositories.base import use_clock
from tests.support.clock import TEST_NOW, TestClock
from tests.support.factories import add_firm
from tests.support.scenarios import prepare_closed_round

OWNERS = [5001, 5002, 5003, 5004, 5005, 5006]


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
        yield database


async def published_round(db: Database) -> int:
    round_id = await prepare_closed_round(db, OWNERS)
    async with db.transaction() as repo:
        await repo.rounds.set_state(round_id, "closed")
    await score_round(db, round_id)
    async with db.transaction() as repo:
        await repo.rounds.mark_published(round_id, TEST_NOW)
    return round_id


async def test_my_data_holds_the_firm_and_is_written_to_the_audit_log(db: Database, clock: TestClock) -> None:
    await published_round(db)
    data = await PrivacyService(db, clock).export(OWNERS[0])
    assert abs(datetime.fromisoformat(data["exported_at"]) - TEST_NOW) < timedelta(minutes=1)
    assert data["firm"]["name"] == f"بنگاه شماره {OWNERS[0]}"
    assert len(data["scores"]) == 1
    async with db.read() as repo:
        again = await repo.privacy.everything_about(OWNERS[0])
    assert [(a["action"], a["target"]) for a in again["audit_log"]] == [("my_data", f"user:{OWNERS[0]}")]


async def test_deleting_my_data_keeps_published_aggregates_without_the_firm_s_name(
    db: Database, clock: TestClock,
) -> None:
    round_id = await published_round(db)
    async with db.read() as repo:
        firm = await repo.firms.by_owner(OWNERS[0])
        assert firm is not None
        score_before = await repo.scores.for_firm(round_id, firm.id)
        peers_before = await repo.scores.peers_for(round_id, "estate", firm.estate_id)
    firm_id = await PrivacyService(db, clock).forget(OWNERS[0])
    assert firm_id == firm.id
    async with db.read() as repo:
        assert await repo.firms.by_owner(OWNERS[0]) is None
        tombstone = await repo.firms.by_id(firm.id)
        assert tombstone is not None and tombstone.name == "" and tombstone.owner_id != OWNERS[0]
        assert await repo.scores.for_firm(round_id, firm.id) == score_before
        assert await repo.scores.peers_for(round_id, "estate", firm.estate_id) == peers_before
        data = await repo.privacy.everything_about(OWNERS[0])
    assert data["firm"] is None
    # The entry says that the user deleted a firm's data, not which firm.
    assert ("delete_my_data", "firm:erased") in [(a["action"], a["target"]) for a in data["audit_log"]]


async def test_deleting_without_a_firm_is_audited_against_the_user(db: Database, clock: TestClock) -> None:
    async with db.transaction() as repo:
        await repo.users.ensure(user_id=42, language="fa", first_name="U")
    assert await PrivacyService(db, clock).forget(42) is None
    async with db.read() as repo:
        data = await repo.privacy.everything_about(42)
    assert [(a["action"], a["target"]) for a in data["audit_log"]] == [("delete_my_data", "user:42")]


async def test_muting_stops_reminders_but_not_for_other_owners(db: Database, clock: TestClock) -> None:
    from tests.support.khooshe import seed

    await seed(db, open_round=True, now=TEST_NOW - timedelta(days=29, hours=12))  # closes in half a day
    for owner in (6001, 6002):
        await add_firm(db, owner)
    settings = OwnerSettingsService(db, {})
    await settings.set_muted(6001, True)
    assert await settings.muted(6001) is True and await settings.muted(6002) is False
    rounds = RoundService(db, clock, RoundPolicy.from_settings(OperatorSettings(_env_file=None)))  # type: ignore[call-arg]
    await rounds.tick(clock.now())
    async with db.read() as repo:
        rows = await repo.conn.execute_fetchall("SELECT chat_id FROM outbox WHERE kind = 'reminder'")
    assert [r[0] for r in rows] == [6002]
    await settings.set_muted(6001, False)
    assert await settings.muted(6001) is False


async def test_a_language_is_stored_and_cached_and_an_unknown_one_refused(db: Database) -> None:
    async with db.transaction() as repo:
        await repo.users.ensure(user_id=42, language="fa", first_name="U")
    cache: dict[int, str] = {42: "fa"}
    settings = OwnerSettingsService(db, cache)
    assert await settings.set_language(42, "en") is True
    assert await settings.set_language(42, "de") is False
    async with db.read() as repo:
        user = await repo.users.get(42)
    assert user is not None and user.language == "en" and cache[42] == "en"


async def test_my_rank_says_unregistered_unpublished_or_gives_the_summary(db: Database, clock: TestClock) -> None:
    results = ResultsService(db)
    assert not (await results.latest_for_owner(999)).registered
    round_id = await prepare_closed_round(db, OWNERS)
    unpublished = await results.latest_for_owner(OWNERS[0])
    assert unpublished.registered and not unpublished.published
    async with db.transaction() as repo:
        await repo.rounds.set_state(round_id, "closed")
    await score_round(db, round_id)
    async with db.transaction() as repo:
        await repo.rounds.mark_published(round_id, TEST_NOW)
    latest = await results.latest_for_owner(OWNERS[0])
    assert latest.published and latest.result is not None and f"بنگاه شماره {OWNERS[0]}" in latest.result.text


async def test_the_menu_knows_a_registration_in_progress_and_the_open_round(db: Database, clock: TestClock) -> None:
    from tests.support.khooshe import seed

    await seed(db)
    menu = MenuService(db, clock, frozenset({1}))
    async with db.transaction() as repo:
        await repo.users.ensure(user_id=77, language="fa", first_name="U")
        await repo.drafts.start(user_id=77, step="name", data={}, editing=False)
    state = await menu.state(77)
    assert state.firm is None and state.registering and state.status.round is not None
    await add_firm(db, 78)
    state = await menu.state(78)
    assert state.firm is not None and not state.registering and state.status.answered == 0
    assert (await menu.access(1)).is_admin and not (await menu.access(78)).is_admin
