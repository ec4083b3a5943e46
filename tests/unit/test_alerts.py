"""The operators' alerts: one per kind per window, the held-back count told with the next one."""

from __future__ import annotations

from bot.delivery.alerts import WINDOW, OperatorAlerts, where


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def alerts(clock: Clock) -> OperatorAlerts:
    return OperatorAlerts(bot=None, chats=(1,), languages={}, clock=clock)  # type: ignore[arg-type]


def test_the_first_failure_of_a_kind_is_due() -> None:
    assert alerts(Clock()).due("BadRequest here") == 0


def test_the_same_kind_inside_the_window_is_held_back() -> None:
    clock = Clock()
    a = alerts(clock)
    a.due("BadRequest here")
    clock.now += WINDOW / 2
    assert a.due("BadRequest here") is None


def test_after_the_window_the_alert_tells_how_many_were_held_back() -> None:
    clock = Clock()
    a = alerts(clock)
    a.due("BadRequest here")
    a.due("BadRequest here")
    a.due("BadRequest here")
    clock.now += WINDOW + 1
    assert a.due("BadRequest here") == 2


def test_another_kind_is_due_at_once() -> None:
    a = alerts(Clock())
    a.due("BadRequest here")
    assert a.due("KeyError there") == 0


def test_where_names_the_failing_function_and_never_the_message() -> None:
    def inner() -> None:
        raise ValueError("0912 must never be shown")

    try:
        inner()
    except ValueError as exc:
        place = where(exc)
    assert place.startswith("tests/unit/test_alerts.py:")
    assert place.split(" ← ")[0].endswith("(inner)")
    assert "0912" not in place
