"""Dates an admin or manager picks or types in a guided step: the Solar Hijri day with its
weekday («یکشنبه ۱۵ آذر ۱۴۰۵»), and a small keyboard of days near at hand (tomorrow, next week…)
so that no date has to be typed at all."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from persiantools.jdatetime import JalaliDate
from telegram import InlineKeyboardButton

from bot.domain.calendar import format_long_date, parse_jalali_datetime
from bot.domain.text import localize_digits
from bot.i18n import N_, Translator
from handlers.common.ui import button, rows

#: Weekday names, Monday first (``date.weekday()``).
WEEKDAYS = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"),
            N_("Sunday"))

#: Days offered for an opening, counted from today (the wizard adds «now» before them).
OPENING_DAYS: tuple[tuple[int, str], ...] = (
    (1, N_("Tomorrow")), (7, N_("In a week")), (14, N_("In two weeks")), (30, N_("In a month")),
)
#: Days offered for a closing, counted from the opening day.
CLOSING_DAYS: tuple[tuple[int, str], ...] = (
    (7, N_("A week later")), (14, N_("Two weeks later")), (21, N_("Three weeks later")), (30, N_("A month later")),
)


def weekday_date(moment: datetime, t: Translator, zone: ZoneInfo) -> str:
    """The local day with its weekday and month name: «یکشنبه ۱۵ آذر ۱۴۰۵» / "Sunday 15 Azar 1405"."""
    local = moment.astimezone(zone)
    return f"{t(WEEKDAYS[local.weekday()])} {format_long_date(local.date(), t.lang)}"


def weekday_moment(moment: datetime, t: Translator, zone: ZoneInfo) -> str:
    """The day as ``weekday_date`` and the Tehran time: «یکشنبه ۱۵ آذر ۱۴۰۵، ساعت ۰۸:۰۰»."""
    local = moment.astimezone(zone)
    return t("{day} at {time}", day=weekday_date(local, t, zone), time=localize_digits(f"{local:%H:%M}", t.lang))


def short_day(moment: datetime, t: Translator, zone: ZoneInfo) -> str:
    """A day for a button, without the year: «یکشنبه ۱۵ آذر»."""
    local = moment.astimezone(zone)
    jalali = JalaliDate(local.date())
    month = jalali.strftime("%B", locale="fa" if t.lang == "fa" else "en")
    return f"{t(WEEKDAYS[local.weekday()])} {localize_digits(str(jalali.day), t.lang)} {month}"


def day_after(base: datetime, days: int, at: time, zone: ZoneInfo) -> datetime:
    """``days`` local calendar days after ``base``'s day, at the local time ``at``."""
    day = base.astimezone(zone).date() + timedelta(days=days)
    return datetime.combine(day, at, tzinfo=zone)


def read_moment(text: str, zone: ZoneInfo, *, default: time) -> datetime:
    """A typed Solar Hijri date with an optional time, in any script's digits (BadDate if not)."""
    return parse_jalali_datetime(text, zone, default=default)


def day_buttons(
    t: Translator, zone: ZoneInfo, base: datetime, choices: Sequence[tuple[int, str]], at: time,
    data: Callable[[int], str], *, per_row: int = 2,
) -> list[list[InlineKeyboardButton]]:
    """The date keyboard: one button per choice, «In a week · Sunday 22 Azar», days counted
    from ``base``; ``data`` makes a button's callback data from its number of days."""
    return rows([button(f"{t(label)} · {short_day(day_after(base, days, at, zone), t, zone)}", data(days))
                 for days, label in choices], per_row)
