"""Solar Hijri dates: parsing, formatting, the year a day falls in, and the end of a day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from persiantools.jdatetime import JalaliDate

from bot.domain.calendar import (
    BadDate,
    end_of_day,
    format_date,
    format_long_date,
    parse_jalali_date,
    solar_year,
)

TEHRAN = ZoneInfo("Asia/Tehran")


@pytest.mark.parametrize(
    "text",
    ["۱۴۰۵/۰۹/۰۴", "1405/09/04", "1405/9/4", "1405-09-04", "1405.09.04", "١٤٠٥/٠٩/٠٤",
     "  ۱۴۰۵/۰۹/۰۴  ", "\u200f1405/09/04"],
)
def test_parse_known_day(text: str) -> None:
    assert parse_jalali_date(text) == date(2026, 11, 25)


def test_parse_nowruz() -> None:
    assert parse_jalali_date("1405/01/01") == date(2026, 3, 21)


def test_leap_years_agree_with_persiantools() -> None:
    # The assertions below rest on these facts of the calendar.
    assert JalaliDate.is_leap(1403)
    assert not JalaliDate.is_leap(1404)


def test_last_day_of_a_leap_year_is_valid() -> None:
    assert parse_jalali_date("1403/12/30") == date(2025, 3, 20)
    assert parse_jalali_date("1403/12/30") == JalaliDate(1403, 12, 30).to_gregorian()


def test_esfand_30_of_a_common_year_is_invalid() -> None:
    with pytest.raises(BadDate):
        parse_jalali_date("1404/12/30")


@pytest.mark.parametrize(
    "text",
    ["", "tomorrow", "1405/13/01", "1405/00/10", "1405/01/00", "1405/07/31", "1405/01/32",
     "14050904", "05/09/04", "1405/09", "1405/09/04/01", "1405/09/04x", "1405 09 04", "0000/01/01"],
)
def test_malformed_or_impossible_dates_raise_bad_date(text: str) -> None:
    with pytest.raises(BadDate):
        parse_jalali_date(text)


def test_bad_date_is_a_value_error() -> None:
    assert issubclass(BadDate, ValueError)


def test_first_half_months_have_31_days() -> None:
    assert parse_jalali_date("1405/06/31") == JalaliDate(1405, 6, 31).to_gregorian()


def test_format_date() -> None:
    day = date(2026, 11, 25)
    assert format_date(day, "fa") == "۱۴۰۵/۰۹/۰۴"
    assert format_date(day, "en") == "1405/09/04"


def test_format_date_round_trips_through_parse() -> None:
    day = date(2027, 2, 3)
    assert parse_jalali_date(format_date(day, "fa")) == day
    assert parse_jalali_date(format_date(day, "en")) == day


def test_format_date_uses_the_zone_for_datetimes() -> None:
    # 21:00 UTC on 20 March 2026 is 00:30 on 21 March in Tehran: Nowruz 1405.
    moment = datetime(2026, 3, 20, 21, 0, tzinfo=UTC)
    assert format_date(moment, "en", TEHRAN) == "1405/01/01"
    assert format_date(moment, "en", ZoneInfo("UTC")) == "1404/12/29"


def test_format_long_date() -> None:
    day = date(2026, 11, 25)
    assert format_long_date(day, "fa") == "۴ آذر ۱۴۰۵"
    assert format_long_date(day, "en") == "4 Azar 1405"


def test_format_long_date_uses_the_zone() -> None:
    moment = datetime(2026, 3, 20, 21, 0, tzinfo=UTC)
    assert format_long_date(moment, "en", TEHRAN) == "1 Farvardin 1405"


def test_solar_year_turns_at_nowruz() -> None:
    assert solar_year(date(2026, 3, 20)) == 1404
    assert solar_year(date(2026, 3, 21)) == 1405
    assert solar_year(datetime(2026, 3, 21, 0, 30, tzinfo=TEHRAN)) == 1405


def test_end_of_day_is_the_last_second_of_the_local_day() -> None:
    day = date(2026, 11, 25)
    end = end_of_day(day, TEHRAN)
    assert end.tzinfo is TEHRAN
    assert end.date() == day
    assert end.time() == time(23, 59, 59)
    # Tehran is UTC+03:30 (no daylight saving since 2022).
    assert end.astimezone(UTC) == datetime(2026, 11, 25, 20, 29, 59, tzinfo=UTC)
    assert (end + timedelta(seconds=1)).date() == day + timedelta(days=1)
