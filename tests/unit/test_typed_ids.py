"""Ids typed with thousands separators: a separator stands before a group of three digits, so a
slip never names another record."""

from __future__ import annotations

import pytest

from bot.domain.text import parse_id


@pytest.mark.parametrize(("typed", "expected"), [
    ("1.023", 1023), ("۱٫۰۲۳", 1023), ("1,234,567", 1234567), ("#۱٬۰۲۳", 1023),
])
def test_a_separator_before_three_digits_is_dropped(typed: str, expected: int) -> None:
    assert parse_id(typed) == expected


@pytest.mark.parametrize("typed", ["12,5", "1,0234", "۱۲٫۵", "1.5"])
def test_a_separator_before_another_number_of_digits_is_no_id(typed: str) -> None:
    assert parse_id(typed) is None
