"""The test clock: every moment a test uses comes from here, never from the wall clock.

The bot's ``Clock`` is real time plus an offset; a test pins it to a chosen Tehran moment, so
the suite behaves the same on any day the machine's clock says it is."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.domain.calendar import parse_jalali_datetime

TEHRAN = ZoneInfo("Asia/Tehran")


def tehran(text: str) -> datetime:
    """A Tehran moment written as a Solar Hijri date and time: tehran("1405/09/09 09:00")."""
    return parse_jalali_datetime(text, TEHRAN, default=time(0, 0))


# A Tuesday morning in Tehran: a working day, outside quiet hours.
TEST_NOW = tehran("1405/09/10 10:00")


class TestClock(Clock):
    """The application's clock, pinned to a chosen moment and moved by the test."""

    __test__ = False  # not a test class, whatever pytest's name rule says

    def __init__(self, when: datetime = TEST_NOW) -> None:
        super().__init__(offset=timedelta(0))
        self.set(when)

    def set(self, when: datetime) -> None:
        self.offset = when - datetime.now(UTC)

    def advance(self, by: timedelta) -> None:
        self.offset += by


def offset_env(when: datetime = TEST_NOW) -> dict[str, str]:
    """KHOOSHE_CLOCK_OFFSET for a child ``python -m bot`` that should believe it is ``when``."""
    return {"KHOOSHE_CLOCK_OFFSET": str((when - datetime.now(UTC)).total_seconds())}

