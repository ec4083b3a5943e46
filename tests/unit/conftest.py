"""Fixtures shared by the unit tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from storage.database import Database


@pytest_asyncio.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty database in a real file (a module with its own ``db`` overrides it)."""
    async with Database(tmp_path / "khooshe.db") as database:
        yield database
