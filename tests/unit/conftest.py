"""Fixtures shared by the unit tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from storage.database import Database
from storage.repositories import base
from storage.repositories.base import use_clock
from tests.support.clock import TestClock
from tests.support.khooshe import seed


@pytest_asyncio.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty database in a real file (a module with its own ``db`` overrides it)."""
    async with Database(tmp_path / "khooshe.db") as database:
        yield database


@pytest_asyncio.fixture
async def seeded_db(tmp_path: Path) -> AsyncIterator[Database]:
    """The sample estates and clusters and an open round, with rows stamped by the test clock."""
    before = base._clock
    use_clock(TestClock().now)
    async with Database(tmp_path / "khooshe.db") as database:
        await seed(database)
        yield database
    use_clock(before)
