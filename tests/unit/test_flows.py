"""Snapshots of guided flows: what is written, when, and what comes back."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.context import UserData
from bot.flows import FlowSnapshots
from storage.models import Round

ADMIN = 900001
KEY = (ADMIN, ADMIN)
OPENS = datetime(2026, 12, 5, 4, 30, tzinfo=UTC)


def current_round() -> Round:
    return Round(id=3, title="R&D <Winter>", questionnaire_version=2, opens_at=OPENS,
                 closes_at=datetime(2026, 12, 20, 20, 29, tzinfo=UTC), state="open", weights=None,
                 created_at=datetime(2026, 12, 1, tzinfo=UTC))


def snapshots(data: UserData | None = None, state: object = None) -> tuple[FlowSnapshots, dict[int, UserData],
                                                                          dict[str, dict[tuple[int, int], object]]]:
    users = {ADMIN: data} if data is not None else {}
    conversations: dict[str, dict[tuple[int, int], object]] = {"round_wizard": {}, "broadcast": {}}
    if state is not None:
        conversations["round_wizard"][KEY] = state
    return FlowSnapshots(users, conversations), users, conversations


def test_an_edited_round_and_its_step_come_back_as_they_were() -> None:
    data = UserData(round_wizard={"mode": "edit", "current": current_round(), "opens": OPENS, "field": "closes"})
    flows, _, _ = snapshots(data, state=6)
    changed, text = flows.take(ADMIN)
    assert changed and text is not None

    fresh, users, conversations = snapshots(UserData())
    fresh.restore(ADMIN, text, users[ADMIN])
    assert users[ADMIN].round_wizard == data.round_wizard
    assert conversations["round_wizard"][KEY] == 6


def test_nothing_is_written_again_while_the_flow_has_not_moved() -> None:
    data = UserData(broadcast={"audience": {"estates": [1, 2]}, "content": None})
    flows, _, _ = snapshots(data)
    assert flows.take(ADMIN)[0] is True
    assert flows.take(ADMIN)[0] is False
    data.broadcast = {"audience": {"estates": [1, 2]}, "content": {"kind": "text", "text": "hi"}}
    assert flows.take(ADMIN)[0] is True


def test_a_flow_that_ends_drops_its_snapshot_once() -> None:
    data = UserData(place_draft={"what": "estate"})
    flows, _, _ = snapshots(data)
    flows.take(ADMIN)
    data.place_draft = None
    assert flows.take(ADMIN) == (True, None)
    assert flows.take(ADMIN) == (False, None)


def test_a_user_without_a_flow_has_nothing_written() -> None:
    flows, _, _ = snapshots(UserData(screen=41, delete_token="secret"))
    assert flows.take(ADMIN) == (False, None)


def test_what_memory_holds_is_newer_than_the_stored_snapshot() -> None:
    old, _, _ = snapshots(UserData(round_wizard={"mode": "new", "title": "old"}), state=1)
    _, text = old.take(ADMIN)
    assert text is not None
    fresh, users, conversations = snapshots(UserData(round_wizard={"mode": "new", "title": "new"}), state=2)
    fresh.restore(ADMIN, text, users[ADMIN])
    assert users[ADMIN].round_wizard == {"mode": "new", "title": "new"}
    assert conversations["round_wizard"][KEY] == 2


def test_a_value_no_snapshot_can_hold_leaves_the_flow_in_memory() -> None:
    data = UserData(round_action={"token": "t", "when": object()})
    flows, _, _ = snapshots(data)
    assert flows.take(ADMIN) == (False, None)
    assert data.round_action is not None


def test_a_damaged_snapshot_is_dropped() -> None:
    fresh, users, conversations = snapshots(UserData())
    fresh.restore(ADMIN, '{"states": {"round_wizard": 3}, "fields": {"round_wizard": {"$model": "Nope", "value": 1}}}',
                  users[ADMIN])
    assert users[ADMIN].round_wizard is None
    assert conversations["round_wizard"] == {}
