"""Solar Hijri dates: parsing what admins type, formatting what users read, in Tehran time."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from persiantools.jdatetime import JalaliDate

from bot.domain.text import localize_digits, normalize

_DATE = re.compile(r"^(\d{4})[/\-.](\d{1,2})[/\-.](\d{1,2})$")


class BadDate(ValueError):
    """The text is not a valid Solar Hijri date."""


def parse_jalali_date(text: str) -> date:
    """Parses 1404/07/15 (Persian or Latin digits, / - or . between) to a Gregorian date."""
    match = _DATE.match(normalize(text))
    if not match:
        raise BadDate(text)
    y, m, d = (int(g) for g in match.groups())
    try:
        return JalaliDate(y, m, d).to_gregorian()
    except ValueError as exc:
        raise BadDate(text) from exc


def end_of_day(day: date, zone: ZoneInfo) -> datetime:
    """The last moment of a local calendar day (a round that closes on a day closes at its end)."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=zone)


def start_of_day(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=zone)


def solar_year(moment: date | datetime) -> int:
    """The Solar Hijri year a day falls in."""
    day = moment.date() if isinstance(moment, datetime) else moment
    return JalaliDate(day).year


def format_date(moment: date | datetime, lang: str, zone: ZoneInfo | None = None) -> str:
    """Shows a day as ۱۴۰۴/۰۷/۱۵ in Persian, 1404/07/15 in English (Solar Hijri either way)."""
    if isinstance(moment, datetime):
        moment = (moment.astimezone(zone) if zone else moment).date()
    return localize_digits(JalaliDate(moment).strftime("%Y/%m/%d"), lang)


def file_date(moment: datetime, zone: ZoneInfo) -> str:
    """A day for a file name: Solar Hijri with Latin digits and dashes (1405-09-12), which every
    file system and mail client keeps as it is."""
    return JalaliDate(moment.astimezone(zone).date()).strftime("%Y-%m-%d")


def format_long_date(moment: date | datetime, lang: str, zone: ZoneInfo | None = None) -> str:
    """Shows a day with the month's name: ۱۵ مهر ۱۴۰۴ / 15 Mehr 1404."""
    if isinstance(moment, datetime):
        moment = (moment.astimezone(zone) if zone else moment).date()
    jalali = JalaliDate(moment)
    locale = "fa" if lang == "fa" else "en"
    month = jalali.strftime("%B", locale=locale)
    return localize_digits(f"{jalali.day} {month} {jalali.year}", lang)


_DATETIME = re.compile(r"^(\S+)(?:\s+(\d{1,2}):(\d{2}))?$")


def parse_jalali_datetime(text: str, zone: ZoneInfo, *, default: time) -> datetime:
    """Parses "1405/10/01 08:30" (or just the day, taking ``default`` as the time) in ``zone``."""
    match = _DATETIME.match(normalize(text))
    if not match:
        raise BadDate(text)
    day = parse_jalali_date(match.group(1))
    if match.group(2) is None:
        clock = default
    else:
        hour, minute = int(match.group(2)), int(match.group(3))
        if hour > 23 or minute > 59:
            raise BadDate(text)
        clock = time(hour, minute)
    return datetime.combine(day, clock, tzinfo=zone)


def format_datetime(moment: datetime, lang: str, zone: ZoneInfo) -> str:
    """Shows a moment as ۱۴۰۵/۱۰/۰۱ ۰۸:۳۰ in local time."""
    local = moment.astimezone(zone)
    return localize_digits(f"{JalaliDate(local.date()).strftime('%Y/%m/%d')} {local:%H:%M}", lang)
