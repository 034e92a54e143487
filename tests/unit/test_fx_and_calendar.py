from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.calendar import (
    add_business_days,
    business_days_between,
    is_business_day,
    next_business_day,
    seoul_date,
    seoul_midnight_utc,
)
from domain.errors import CurrencyMismatch, InvalidInput, MissingRate
from domain.fx import FxRate, RateTable, convert
from domain.money import Money, Rounding


def test_convert_floors_to_the_quote_minor_unit() -> None:
    rate = FxRate.parse("USD", "KRW", "1385.27", date(2026, 11, 20))
    assert convert(Money.of("123.45", "USD"), rate) == Money(171_011, "KRW")  # 171011.58…
    assert convert(Money.of("123.45", "USD"), rate, Rounding.HALF_UP) == Money(171_012, "KRW")


def test_convert_refuses_the_wrong_base() -> None:
    with pytest.raises(CurrencyMismatch):
        convert(Money(100, "KRW"), FxRate.parse("USD", "KRW", "1300", date(2026, 1, 1)))


def test_rate_in_force_is_the_latest_on_or_before_the_day() -> None:
    table = RateTable(
        [
            FxRate.parse("USD", "VND", "25400", date(2026, 11, 19)),
            FxRate.parse("USD", "VND", "25450", date(2026, 11, 21)),
        ]
    )
    assert table.rate_on("USD", "VND", date(2026, 11, 20)).rate == 25400
    assert table.rate_on("USD", "VND", date(2026, 11, 22)).rate == 25450
    with pytest.raises(MissingRate):
        table.rate_on("USD", "VND", date(2026, 11, 18))
    with pytest.raises(MissingRate, match="older than 0 days"):
        table.rate_on("USD", "VND", date(2026, 11, 22), max_age_days=0)


def test_rate_must_be_positive() -> None:
    with pytest.raises(InvalidInput, match="rate"):
        FxRate.parse("USD", "KRW", "0", date(2026, 1, 1))


@pytest.mark.parametrize(
    ("day", "business"),
    [
        (date(2026, 11, 20), True),  # Friday
        (date(2026, 11, 21), False),  # Saturday
        (date(2026, 12, 25), False),  # Christmas (a Korean public holiday)
        (date(2026, 3, 2), False),  # substitute holiday for Independence Movement Day (Sunday)
        (date(2026, 9, 25), False),
    ],  # Chuseok
)
def test_business_days_follow_weekends_and_korean_holidays(day: date, business: bool) -> None:
    assert is_business_day(day) is business


def test_next_business_day_skips_weekend_and_holiday() -> None:
    assert next_business_day(date(2026, 12, 24)) == date(
        2026, 12, 28
    )  # Thu → skip Fri 25 + weekend
    assert add_business_days(date(2026, 11, 23), -1) == date(2026, 11, 20)


@given(st.dates(date(2025, 1, 1), date(2028, 12, 31)), st.integers(0, 40))
def test_add_then_count_business_days_round_trips(day: date, n: int) -> None:
    later = add_business_days(day, n)
    assert business_days_between(day, later) == n
    if n:
        assert is_business_day(later)


def test_seoul_dates() -> None:
    moment = datetime(2026, 11, 21, 16, 30, tzinfo=UTC)  # 01:30 on the 22nd in Seoul
    assert seoul_date(moment) == date(2026, 11, 22)
    assert seoul_midnight_utc(date(2026, 11, 22)) == datetime(2026, 11, 21, 15, 0, tzinfo=UTC)
    with pytest.raises(InvalidInput):
        seoul_date(datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test
