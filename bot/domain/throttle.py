"""How fast one user may send: a token bucket per user. A person tapping quickly stays far below
it; a script sending thousands of messages is slowed to it, so it cannot slow everyone else."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class _Bucket:
    tokens: float
    at: float
    told: bool = False


@dataclass
class UserThrottle:
    """``burst`` updates at once, then ``rate`` per second."""

    rate: float
    burst: int
    # Users who went quiet are forgotten; the table never outgrows the active users.
    idle_seconds: float = 600.0
    # Nor this many of them (KHOOSHE_RESIDENT_USERS): past it the least recent is forgotten.
    # A flooding user is always among the most recent, so forgetting costs them nothing.
    max_users: int = 2_000
    # Least recently seen first.
    _buckets: dict[int, _Bucket] = field(default_factory=dict)
    _swept: float = 0.0

    def allow(self, user_id: int, now: float) -> bool:
        bucket = self._buckets.pop(user_id, None)
        if bucket is None:
            bucket = _Bucket(tokens=float(self.burst), at=now)
            if len(self._buckets) >= self.max_users:
                del self._buckets[next(iter(self._buckets))]
        self._buckets[user_id] = bucket
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        self._sweep(now)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            if bucket.tokens >= self.burst / 2:
                bucket.told = False  # calm again: a later flood is told again
            return True
        return False

    def first_refusal(self, user_id: int) -> bool:
        """True once per flood: the user is told to slow down once, not on every update."""
        bucket = self._buckets.get(user_id)
        if bucket is None or bucket.told:
            return False
        bucket.told = True
        return True

    def _sweep(self, now: float) -> None:
        if now - self._swept < self.idle_seconds:
            return
        self._swept = now
        for user_id in [u for u, b in self._buckets.items() if now - b.at > self.idle_seconds]:
            del self._buckets[user_id]
