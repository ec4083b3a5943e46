"""Fixtures shared by end-to-end modules: the fake Bot API under each platform profile, a world
whose round is closed, scored and published; exports held half-built.

Every end-to-end test runs twice, against the fake's Telegram profile and its Bale profile,
unless it is marked ``@pytest.mark.platforms("telegram")`` with the reason in its docstring.
After each test the fake must have seen no markup shown literally, no line of a Persian message
that a client would lay out left to right, and no button left spinning.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.emulator import FakeBotApi
from bot.emulator.server import PROFILES
from storage.database import Database
from tests.support.bot_process import BotProcess, wait_until_polling
from tests.support.clock import TestClock
from tests.support.hold import HeldBuild
from tests.support.journeys import publish_round
from tests.support.khooshe import ADMIN_ID, Khooshe, seed, start_khooshe, stop_khooshe
from tests.support.scenarios import OWNERS, SILENT, prepare_published_world


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "profile" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("platforms")
        profiles = marker.args if marker else PROFILES
        metafunc.parametrize("profile", profiles)


@pytest_asyncio.fixture
async def api(profile: str) -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(profile=profile) as server:
        yield server
        assert server.leaks == [], f"texts shown with their markup: {server.leaks[:3]}"
        assert server.bidi_leaks == [], f"Persian messages with lines laid out left to right: {server.bidi_leaks[:3]}"
        unanswered = server.unanswered_callbacks()
        assert unanswered == [], f"buttons left spinning (no answerCallbackQuery): {unanswered[:3]}"


@pytest_asyncio.fixture
async def published(api: FakeBotApi, db_path: Path) -> AsyncIterator[tuple[Khooshe, int]]:
    clock = TestClock()
    async with Database(db_path) as db:
        round_id = await prepare_published_world(db)
    for uid in (*OWNERS, SILENT, 5200):
        api.user(uid)
    running = await start_khooshe(api, db_path, clock=clock, seeded=True, tick_seconds=3600)
    await running.tick()  # closes and scores the round
    admin = running.user(ADMIN_ID)
    await publish_round(admin, round_id)
    await running.drain()
    await admin.settle()
    yield running, round_id
    await stop_khooshe(running)


@pytest_asyncio.fixture
async def bot_process(api: FakeBotApi, tmp_path: Path) -> AsyncIterator[BotProcess]:
    """``python -m bot`` as a child process on a seeded database, already polling."""
    db_path = tmp_path / "khooshe.db"
    async with Database(db_path) as db:
        await seed(db)
    process = BotProcess(api, db_path, tmp_path / "bot.log")
    process.start()
    await wait_until_polling(api)
    yield process
    process.stop()


@pytest.fixture
def held_export(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldBuild]:
    """Every export built while the test runs stops at its first sheet until released."""
    from bot.services import exports

    held = HeldBuild()
    monkeypatch.setattr(exports, "on_build_step", held)
    yield held
    held.release()
