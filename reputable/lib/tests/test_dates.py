"""Properties of delay arithmetic: business days, wall-clock days, DST, holidays."""

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from reputable.lib.dates import MAX_DELAY, DelayUnit, add_business_days, add_delay, is_business_day

PLACES = [
    ("DE", "Europe/Berlin"),
    ("NL", "Europe/Amsterdam"),
    ("PL", "Europe/Warsaw"),
    ("AT", "Europe/Vienna"),
    ("GB", "Europe/London"),
    ("US", "America/New_York"),
    ("AU", "Australia/Sydney"),
]

# hypothesis takes naive bounds and attaches the zone itself.
moments = st.datetimes(
    min_value=dt.datetime(2024, 1, 1),  # noqa: DTZ001
    max_value=dt.datetime(2030, 12, 31),  # noqa: DTZ001
    timezones=st.just(dt.UTC),
)
places = st.sampled_from(PLACES)


def business_days_between(start: dt.date, end: dt.date, country: str) -> int:
    days = (end - start).days
    return sum(is_business_day(start + dt.timedelta(days=n), country=country) for n in range(1, days + 1))


@given(start=moments, amount=st.integers(min_value=1, max_value=40), place=places)
def test_business_days_land_on_a_business_day_and_count_exactly(
    start: dt.datetime, amount: int, place: tuple[str, str]
) -> None:
    country, zone = place
    local_start = start.astimezone(ZoneInfo(zone))

    result = add_delay(start, amount, DelayUnit.BUSINESS_DAYS, zone=zone, country=country)

    local_result = result.astimezone(ZoneInfo(zone))
    assert result.tzinfo is not None
    assert result > start
    assert is_business_day(local_result.date(), country=country)
    assert business_days_between(local_start.date(), local_result.date(), country) == amount


@given(start=moments, amount=st.integers(min_value=0, max_value=400), place=places)
def test_days_keep_the_wall_clock_whatever_the_dst_offset(
    start: dt.datetime, amount: int, place: tuple[str, str]
) -> None:
    _country, zone = place
    tz = ZoneInfo(zone)

    result = add_delay(start, amount, DelayUnit.DAYS, zone=zone, country="DE")

    local_start, local_result = start.astimezone(tz), result.astimezone(tz)
    assert local_result.date() == local_start.date() + dt.timedelta(days=amount)
    # The same wall time, unless that time does not exist that day (spring forward).
    wanted = dt.datetime.combine(local_result.date(), local_start.time().replace(fold=0), tzinfo=tz)
    exists = wanted.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None) == wanted.replace(tzinfo=None)
    assert local_result.time() == local_start.time() or not exists


@given(start=moments, minutes=st.integers(min_value=0, max_value=100_000), place=places)
def test_minutes_and_hours_are_elapsed_time(start: dt.datetime, minutes: int, place: tuple[str, str]) -> None:
    country, zone = place

    assert add_delay(start, minutes, DelayUnit.MINUTES, zone=zone, country=country) - start == dt.timedelta(
        minutes=minutes
    )
    assert add_delay(start, minutes, DelayUnit.HOURS, zone=zone, country=country) - start == dt.timedelta(hours=minutes)


@given(
    start=moments,
    amount=st.integers(min_value=0, max_value=30),
    unit=st.sampled_from(list(DelayUnit)),
    hour=st.integers(min_value=0, max_value=23),
    minute=st.sampled_from([0, 15, 30, 45]),
    place=places,
)
def test_a_time_of_day_is_met_in_local_time_and_never_before_the_delay(
    start: dt.datetime, amount: int, unit: DelayUnit, hour: int, minute: int, place: tuple[str, str]
) -> None:
    country, zone = place
    at = dt.time(hour, minute)

    result = add_delay(start, amount, unit, zone=zone, country=country, time_of_day=at)

    local = result.astimezone(ZoneInfo(zone))
    # Equal, or an hour later where the DST change skipped that wall time.
    assert local.time() in (at, (dt.datetime.combine(dt.date.min, at) + dt.timedelta(hours=1)).time())
    if unit in (DelayUnit.MINUTES, DelayUnit.HOURS):
        assert result >= add_delay(start, amount, unit, zone=zone, country=country)
        assert result - add_delay(start, amount, unit, zone=zone, country=country) <= dt.timedelta(hours=25)


def one_by_one(day: dt.date, amount: int, country: str, subdivision: str) -> dt.date:
    """Business days counted a day at a time: the plain definition, to check the fast count."""
    for _ in range(amount):
        day += dt.timedelta(days=1)
        while not is_business_day(day, country=country, subdivision=subdivision):
            day += dt.timedelta(days=1)
    return day


@given(
    day=st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2035, 12, 31)),
    amount=st.integers(min_value=0, max_value=MAX_DELAY[DelayUnit.BUSINESS_DAYS]),
    place=st.sampled_from([("DE", ""), ("DE", "BY"), ("NL", ""), ("PL", ""), ("GB", "SCT"), ("US", "CA"), ("JP", "")]),
)
def test_business_days_counted_a_week_at_a_time_are_those_counted_one_by_one(
    day: dt.date, amount: int, place: tuple[str, str]
) -> None:
    country, subdivision = place

    fast = add_business_days(day, amount, country=country, subdivision=subdivision)

    assert fast == one_by_one(day, amount, country, subdivision)


def test_easter_monday_and_christmas_are_not_business_days_in_germany() -> None:
    assert not is_business_day(dt.date(2026, 4, 6), country="DE")
    assert not is_business_day(dt.date(2026, 12, 25), country="DE")
    assert add_business_days(dt.date(2026, 4, 2), 1, country="DE") == dt.date(2026, 4, 7)  # Good Friday, Easter
