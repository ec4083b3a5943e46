"""The callback-data grammar: what a button carries is what its handler matches and reads."""

from __future__ import annotations

import re

import pytest

from bot.domain import callbacks as cb


def test_built_data_matches_the_handler_pattern_and_parses_back() -> None:
    data = cb.BC_FILTER_VALUE.build("sec", "C")
    assert data == "bc:f:sec:C"
    assert re.match(cb.BC_FILTER_VALUE.pattern, data)
    assert cb.BC_FILTER_VALUE.parse(data) == ("sec", "C")


def test_a_value_outside_its_field_is_refused_when_building() -> None:
    with pytest.raises(ValueError):
        cb.BC_FILTER.build("everything")


def test_data_over_64_bytes_is_refused_when_building() -> None:
    wide = cb.Callback("x", r".{1,80}")
    with pytest.raises(ValueError, match="64 bytes"):
        wide.build("ب" * 40)


def test_forged_data_does_not_parse() -> None:
    with pytest.raises(ValueError):
        cb.BC_CANCEL_BROADCAST.parse_int("bcx:1;DROP")


def test_every_button_kind_has_a_distinct_pattern() -> None:
    kinds = [v for v in vars(cb).values() if isinstance(v, cb.Callback)]
    patterns = [k.pattern for k in kinds]
    assert len(patterns) == len(set(patterns))
