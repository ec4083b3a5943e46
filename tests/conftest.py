"""Fixtures: the fake Bot API server, a seeded SQLite file, and Khooshe running against both."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.emulator import FakeBotApi
from tests.support.khooshe import Khooshe, start_khooshe, stop_khooshe


@pytest_asyncio.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "khooshe.db"


@pytest_asyncio.fixture
async def khooshe(api: FakeBotApi, db_path: Path) -> AsyncIterator[Khooshe]:
    running = await start_khooshe(api, db_path)
    yield running
    await stop_khooshe(running)


@pytest_asyncio.fixture
async def khooshe_no_round(api: FakeBotApi, db_path: Path) -> AsyncIterator[Khooshe]:
    running = await start_khooshe(api, db_path, open_round=False)
    yield running
    await stop_khooshe(running)
