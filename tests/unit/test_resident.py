"""The resident users: the most recent few held in memory, the rest forgotten (and told)."""

from __future__ import annotations

from bot.resident import ResidentUsers


def test_the_least_recently_seen_user_is_forgotten_past_the_limit() -> None:
    forgotten: list[int] = []
    resident = ResidentUsers(2)
    resident.on_forget.append(forgotten.append)
    for user_id in (1, 2, 1, 3):
        resident.touch(user_id)
    assert forgotten == [2]
    assert 1 in resident and 3 in resident


def test_a_user_coming_back_after_being_forgotten_is_new_again() -> None:
    resident = ResidentUsers(1)
    assert resident.touch(1) is False
    assert resident.touch(1) is True
    resident.touch(2)
    assert resident.touch(1) is False


def test_a_user_with_an_update_in_flight_is_never_forgotten() -> None:
    forgotten: list[int] = []
    resident = ResidentUsers(1, busy=lambda user_id: user_id == 1)
    resident.on_forget.append(forgotten.append)
    for user_id in (1, 2, 3):
        resident.touch(user_id)
    assert forgotten == [2]
    assert 1 in resident and 3 in resident


def test_the_freed_memory_is_released_after_every_so_many_users_forgotten() -> None:
    released: list[int] = []
    resident = ResidentUsers(1, trim_every=3, release=lambda: released.append(len(resident)))
    for user_id in range(1, 8):  # users 1..6 are forgotten, one by one
        resident.touch(user_id)
    assert len(released) == 2


def test_a_failing_release_does_not_stop_forgetting() -> None:
    def fail() -> None:
        raise OSError("no malloc_trim here")

    forgotten: list[int] = []
    resident = ResidentUsers(1, trim_every=1, release=fail)
    resident.on_forget.append(forgotten.append)
    for user_id in (1, 2, 3):
        resident.touch(user_id)
    assert forgotten == [1, 2]


def test_freed_memory_is_released_on_the_periodic_call_only_after_activity() -> None:
    released: list[int] = []
    resident = ResidentUsers(100, release=lambda: released.append(1))
    assert resident.release_if_active() is False  # nobody wrote yet
    resident.touch(1)
    resident.touch(2)
    assert resident.release_if_active() is True
    assert resident.release_if_active() is False  # nothing since
    assert released == [1]
