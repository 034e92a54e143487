"""Korean business days (weekends + public holidays) and Seoul/UTC time conversions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

SEOUL = ZoneInfo("Asia/Seoul")


@lru_cache(maxsize=64)
def _kr_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("KR", years=year)


def is_holiday(day: date) -> bool:
    """A Korean public holiday (substitute holidays included, as the `holidays` package lists)."""
    return day in _kr_holidays(day.year)


def is_business_day(day: date) -> bool:
    return day.weekday() < 5 and not is_holiday(day)


def add_business_days(day: date, n: int) -> date:
    """The n-th business day after `day` (n < 0: before). n = 0 returns `day` unchanged."""
    step = 1 if n >= 0 else -1
    remaining = abs(n)
    current = day
    while remaining:
        current += timedelta(days=step)
        if is_business_day(current):
            remaining -= 1
    return current


def next_business_day(day: date) -> date:
    return add_business_days(day, 1)


def previous_business_day(day: date) -> date:
    return add_business_days(day, -1)


def business_days_between(start: date, end: date) -> int:
    """Business days in (start, end]: how many business days `end` lies after `start`."""
    if end < start:
        return -business_days_between(end, start)
    return sum(1 for i in range(1, (end - start).days + 1) if is_business_day(start + timedelta(i)))


def require_aware(moment: datetime, field: str = "datetime") -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        from domain.errors import InvalidInput

        raise InvalidInput(field, moment.isoformat(), "must be timezone-aware")
    return moment


def to_utc(moment: datetime) -> datetime:
    return require_aware(moment).astimezone(UTC)


def to_seoul(moment: datetime) -> datetime:
    return require_aware(moment).astimezone(SEOUL)


def seoul_date(moment: datetime) -> date:
    """The calendar date in Seoul at `moment`."""
    return to_seoul(moment).date()


def seoul_midnight_utc(day: date) -> datetime:
    """00:00 Asia/Seoul of `day`, as UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=SEOUL).astimezone(UTC)
