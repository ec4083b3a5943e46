"""The round service's refusals as an admin reads them."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from bot.services.rounds import RoundRefused, check_year
from tests.support.clock import tehran

TEHRAN = ZoneInfo("Asia/Tehran")


def test_a_gregorian_date_is_refused_with_its_solar_hijri_date_in_persian_digits() -> None:
    with pytest.raises(RoundRefused) as refused:
        check_year(tehran("2026/12/10 08:00"), TEHRAN)
    assert "۱۴۰۵/۰۹/۱۹" in refused.value.render("fa", TEHRAN)


def test_a_title_keeps_the_digits_the_admin_typed() -> None:
    overlap = RoundRefused("It would overlap round #{id} «{title}» ({opens} to {closes}); rounds may not overlap.",
                           id=3, title="Autumn 1405", opens=tehran("1405/10/01 08:00"), closes=tehran("1405/10/20 23:59"))
    text = overlap.render("fa", TEHRAN)
    assert "«Autumn 1405»" in text and "#۳" in text and "۱۴۰۵/۱۰/۰۱" in text


def test_a_year_inside_the_range_passes() -> None:
    check_year(tehran("1405/10/01 08:00"), TEHRAN)
