"""When bulk messages may go out: not at night, not on the weekly day off (Friday in Iran)."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_span(text: str) -> tuple[time, time]:
    """Parses "21:00-08:00" into (start, end); the span may wrap past midnight."""
    match = _SPAN.match(text)
    if not match:
        raise ValueError("must look like 21:00-08:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if not (h1 < 24 and h2 < 24 and m1 < 60 and m2 < 60):
        raise ValueError("hours must be 0–23 and minutes 0–59")
    return time(h1, m1), time(h2, m2)


class QuietHours:
    """Answers "may a bulk message go out at this moment, and if not, when next?"."""

    def __init__(self, span: str, days: tuple[int, ...], zone: ZoneInfo) -> None:
        self.start, self.end = parse_span(span)
        self.days = frozenset(days)
        self.zone = zone

    def _quiet_clock(self, t: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def allowed(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        return local.weekday() not in self.days and not self._quiet_clock(local.time())

    def next_allowed(self, moment: datetime) -> datetime:
        """``moment`` itself when allowed, otherwise the first allowed minute after it."""
        if self.allowed(moment):
            return moment
        local = moment.astimezone(self.zone).replace(second=0, microsecond=0)
        # Quiet stretches are at most a day or two long; step to the next candidate edge.
        for _ in range(24 * 8):
            if local.weekday() in self.days:
                local = (local + timedelta(days=1)).replace(hour=0, minute=0)
            elif self._quiet_clock(local.time()):
                end = local.replace(hour=self.end.hour, minute=self.end.minute)
                local = end if end > local else end + timedelta(days=1)
            if self.allowed(local):
                return local
        raise RuntimeError("quiet hours leave no time to send")
