"""The dates of the guided steps: typed Solar Hijri in any digits, echoed with the weekday, and
the date keyboard's days."""

from __future__ import annotations

from datetime import time

import pytest

from bot.domain.calendar import BadDate
from bot.i18n import translator
from handlers.common.dates import CLOSING_DAYS, day_after, day_buttons, read_moment, short_day, weekday_date, weekday_moment
from tests.support.clock import TEHRAN, TEST_NOW, tehran

FA, EN = translator("fa"), translator("en")


@pytest.mark.parametrize("typed", ["1405/09/15", "۱۴۰۵/۰۹/۱۵", "١٤٠٥/٠٩/١٥", "1405-9-15", " ۱۴۰۵.۹.۱۵ "])
def test_a_typed_day_in_any_digits_takes_the_default_time(typed: str) -> None:
    assert read_moment(typed, TEHRAN, default=time(8, 0)) == tehran("1405/09/15 08:00")


def test_a_typed_time_is_kept() -> None:
    assert read_moment("۱۴۰۵/۰۹/۱۵ ۱۰:۳۰", TEHRAN, default=time(8, 0)) == tehran("1405/09/15 10:30")


@pytest.mark.parametrize("typed", ["1405/13/01", "1405/09/15 25:00", "tomorrow", ""])
def test_what_is_not_a_solar_hijri_date_is_refused(typed: str) -> None:
    with pytest.raises(BadDate):
        read_moment(typed, TEHRAN, default=time(8, 0))


def test_the_echo_names_the_weekday_in_persian() -> None:
    assert weekday_date(tehran("1405/09/15 08:00"), FA, TEHRAN) == "یکشنبه ۱۵ آذر ۱۴۰۵"


def test_the_echo_with_its_time_in_persian() -> None:
    assert weekday_moment(tehran("1405/09/20 09:30"), FA, TEHRAN) == "جمعه ۲۰ آذر ۱۴۰۵، ساعت ۰۹:۳۰"


def test_the_echo_in_english() -> None:
    assert weekday_moment(tehran("1405/09/15 08:00"), EN, TEHRAN) == "Sunday 15 Azar 1405 at 08:00"


def test_a_button_day_has_no_year() -> None:
    assert short_day(tehran("1405/09/11 09:00"), FA, TEHRAN) == "چهارشنبه ۱۱ آذر"


def test_days_after_cross_a_month_at_the_given_local_time() -> None:
    assert day_after(tehran("1405/09/25 22:00"), 14, time(23, 59), TEHRAN) == tehran("1405/10/09 23:59")


def test_the_closing_keyboard_counts_from_its_base_day() -> None:
    buttons = day_buttons(FA, TEHRAN, TEST_NOW, CLOSING_DAYS, time(23, 59), lambda days: f"rw:d:{days}")
    assert [[b.text for b in row] for row in buttons] == [
        ["یک هفته بعد · سه‌شنبه ۱۷ آذر", "دو هفته بعد · سه‌شنبه ۲۴ آذر"],
        ["سه هفته بعد · سه‌شنبه ۱ دی", "یک ماه بعد · پنجشنبه ۱۰ دی"],
    ]
    assert [b.callback_data for row in buttons for b in row] == ["rw:d:7", "rw:d:14", "rw:d:21", "rw:d:30"]
