"""Where "now" comes from, so tests can move time without sleeping."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta


class Clock:
    """Real time, shifted by KHOOSHE_CLOCK_OFFSET seconds when tests set it."""

    def __init__(self, offset: timedelta | None = None) -> None:
        if offset is None:
            offset = timedelta(seconds=float(os.environ.get("KHOOSHE_CLOCK_OFFSET", "0")))
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset
