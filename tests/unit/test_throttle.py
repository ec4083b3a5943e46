"""One user's pace: a burst, then a steady rate; told once per flood."""

from __future__ import annotations

from bot.domain.throttle import UserThrottle


def test_a_burst_passes_then_the_rate_holds() -> None:
    throttle = UserThrottle(rate=5, burst=10)
    assert [throttle.allow(1, 0.0) for _ in range(12)] == [True] * 10 + [False] * 2
    assert throttle.allow(1, 0.2)  # one token back after 1/5 s
    assert not throttle.allow(1, 0.2)


def test_users_have_their_own_buckets() -> None:
    throttle = UserThrottle(rate=1, burst=1)
    assert throttle.allow(1, 0.0) and not throttle.allow(1, 0.0)
    assert throttle.allow(2, 0.0)


def test_told_once_per_flood() -> None:
    throttle = UserThrottle(rate=1, burst=4)
    for _ in range(5):
        throttle.allow(1, 0.0)
    assert throttle.first_refusal(1) and not throttle.first_refusal(1)
    assert throttle.allow(1, 10.0)  # calm again (the bucket refilled)
    for _ in range(5):
        throttle.allow(1, 10.0)
    assert throttle.first_refusal(1)


def test_quiet_users_are_forgotten() -> None:
    throttle = UserThrottle(rate=1, burst=1, idle_seconds=60)
    for user in range(100):
        throttle.allow(user, 0.0)
    throttle.allow(1000, 120.0)
    assert list(throttle._buckets) == [1000]


def test_no_more_users_are_held_than_the_limit() -> None:
    throttle = UserThrottle(rate=1, burst=1, max_users=3)
    for user in range(10):
        throttle.allow(user, 0.0)
    assert list(throttle._buckets) == [7, 8, 9]


def test_the_flooding_user_keeps_their_bucket_while_others_come_and_go() -> None:
    throttle = UserThrottle(rate=1, burst=2, max_users=2)
    assert throttle.allow(1, 0.0) and throttle.allow(1, 0.0)
    for user in range(100, 110):
        throttle.allow(user, 0.0)
        assert not throttle.allow(1, 0.0)  # still empty: the bucket was not forgotten
