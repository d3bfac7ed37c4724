"""Delays in minutes, hours, days and business days, computed in a shop's time zone.

Business days skip Saturdays, Sundays and the public holidays of the shop's country (and
region, where given), from the `holidays` package. They are counted a week at a time, the
holidays looked up in a sorted list per year, so a delay of a year costs about what a delay
of a week costs.
"""

import bisect
import calendar
import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from django.db import models

# No date Reputable takes in lies before this (order dates, delivery dates, filters).
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class DelayUnit(models.TextChoices):
    MINUTES = "minutes"
    HOURS = "hours"
    DAYS = "days"
    BUSINESS_DAYS = "business_days"


# The longest delay of each unit: about a year.
MAX_DELAY = {
    DelayUnit.MINUTES: 525_600,
    DelayUnit.HOURS: 8_760,
    DelayUnit.DAYS: 365,
    DelayUnit.BUSINESS_DAYS: 260,
}


@lru_cache(maxsize=256)
def holiday_calendar(country: str, subdivision: str = "") -> holidays.HolidayBase:
    """The public holidays of a country (and region); it fills in years as they are asked."""
    return holidays.country_holidays(country, subdiv=subdivision or None)


@lru_cache(maxsize=1024)
def _weekday_holidays(country: str, subdivision: str, year: int) -> tuple[int, ...]:
    """The ordinals of the public holidays of `year` that fall on Monday to Friday, sorted."""
    days = holiday_calendar(country, subdivision)
    days.get(dt.date(year, 1, 1))  # fills in the year
    return tuple(sorted(d.toordinal() for d in days if d.year == year and d.weekday() < 5))


def load_holidays(country: str, subdivision: str, around: dt.date) -> None:
    """Load the holidays of the years around `around` now: the first load of a country costs
    a good part of a second, which must not fall inside a write transaction."""
    for year in range(around.year - 1, around.year + 3):
        _weekday_holidays(country, subdivision, year)


def _holidays_between(first: dt.date, last: dt.date, country: str, subdivision: str) -> int:
    """How many weekday public holidays lie in first..last (both included)."""
    count = 0
    for year in range(first.year, last.year + 1):
        ordinals = _weekday_holidays(country, subdivision, year)
        count += bisect.bisect_right(ordinals, last.toordinal()) - bisect.bisect_left(ordinals, first.toordinal())
    return count


@lru_cache(maxsize=64)
def time_zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def is_business_day(day: dt.date, *, country: str, subdivision: str = "") -> bool:
    return day.weekday() < 5 and day not in holiday_calendar(country, subdivision)


def _add_weekdays(day: dt.date, amount: int) -> dt.date:
    """The date `amount` Mondays-to-Fridays after `day` (a weekday, or the Friday before a weekend)."""
    weeks, rest = divmod(amount, 5)
    day += dt.timedelta(weeks=weeks)
    for _ in range(rest):
        day += dt.timedelta(days=3 if day.weekday() == 4 else 1)
    return day


def add_business_days(day: dt.date, amount: int, *, country: str, subdivision: str = "") -> dt.date:
    """The date `amount` business days after `day`; each step lands on a business day.

    Weekdays are counted a week at a time; then each public holiday on a weekday in between
    moves the end one weekday further, until no holiday is left in the added stretch.
    """
    if amount <= 0:
        return day
    # From a Saturday or Sunday the next weekday is the Monday, as from the Friday before.
    start = day - dt.timedelta(days=max(0, day.weekday() - 4))
    end = _add_weekdays(start, amount)
    counted = day + dt.timedelta(days=1)  # holidays from here to `end` are accounted for
    while skipped := _holidays_between(counted, end, country, subdivision):
        counted = end + dt.timedelta(days=1)
        end = _add_weekdays(end, skipped)
    return end


def _at_wall_time(day: dt.date, time: dt.time, zone: ZoneInfo) -> dt.datetime:
    # A wall time that a DST change skips (02:30 on the spring-forward night) resolves to
    # the moment it would have been (03:30); the round trip through UTC normalises it.
    local = dt.datetime.combine(day, time, tzinfo=zone)
    return local.astimezone(dt.UTC)


def add_delay(
    start: dt.datetime,
    amount: int,
    unit: str,
    *,
    zone: str,
    country: str,
    subdivision: str = "",
    time_of_day: dt.time | None = None,
) -> dt.datetime:
    """`start` plus a delay, as an aware UTC datetime.

    Minutes and hours are elapsed time. Days and business days are calendar steps in the
    shop's time zone that keep the wall-clock time (or move to `time_of_day`), so a delay of
    one day across a DST change is 23 or 25 hours. With `time_of_day` and an elapsed-time
    unit, the result is the first such wall time at or after the elapsed delay.
    """
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    tz = time_zone(zone)
    if unit in (DelayUnit.MINUTES, DelayUnit.HOURS):
        step = dt.timedelta(minutes=amount) if unit == DelayUnit.MINUTES else dt.timedelta(hours=amount)
        moment = (start.astimezone(dt.UTC) + step).astimezone(tz)
        if time_of_day is None:
            return moment.astimezone(dt.UTC)
        candidate = _at_wall_time(moment.date(), time_of_day, tz)
        if candidate < moment:
            candidate = _at_wall_time(moment.date() + dt.timedelta(days=1), time_of_day, tz)
        return candidate
    local = start.astimezone(tz)
    if unit == DelayUnit.DAYS:
        day = local.date() + dt.timedelta(days=amount)
    elif unit == DelayUnit.BUSINESS_DAYS:
        day = add_business_days(local.date(), amount, country=country, subdivision=subdivision)
    else:
        raise ValueError(f"unknown delay unit {unit!r}")
    return _at_wall_time(day, time_of_day or local.time().replace(tzinfo=None), tz)


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """`moment` plus whole calendar months, the day clipped to the month's last (31 January
    plus one month is 28 or 29 February): how the law counts "one month" and "six months"."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return moment.replace(year=year, month=month + 1, day=min(moment.day, last))
