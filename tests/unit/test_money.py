from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import CurrencyMismatch, InvalidInput
from domain.money import Money, Rounding, parse_percent, round_to_int, total


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("1290000", "KRW", 1_290_000),
        ("77", "USD", 7700),
        ("10.5", "USD", 1050),
        ("12.345", "USD", 1234),
        ("-0.001", "USD", -1),
        ("1,000", "KRW", 1000),
        (15, "VND", 15),
    ],
)
def test_of_parses_major_units_and_floors_by_default(
    amount: str, currency: str, minor: int
) -> None:
    assert Money.of(amount, currency).amount_minor == minor


@pytest.mark.parametrize(
    ("base", "pct", "expected"),
    [
        (1_200_000, "0.57", 6_840),  # no float error: 1,200,000 × 0.57 % is 6,840
        (1_270_000, "1.6", 20_320),  # seed: SCO commission on the coupon-discounted price
        (1_290_000, "7", 90_300),  # seed: base commission
        (1_290_000, "0.4", 5_160),  # seed: old-coupon agency share
        (128_950, "5", 6_447),  # seed: 6,447.5 floored
    ],
)
def test_percent_floors_exactly(base: int, pct: str, expected: int) -> None:
    assert Money(base, "KRW").percent(pct).amount_minor == expected


@pytest.mark.parametrize(
    ("value", "rounding", "expected"),
    [
        ("2.5", Rounding.FLOOR, 2),
        ("-2.5", Rounding.FLOOR, -3),
        ("2.5", Rounding.CEIL, 3),
        ("-2.5", Rounding.DOWN, -2),
        ("2.5", Rounding.HALF_UP, 3),
        ("2.5", Rounding.HALF_EVEN, 2),
    ],
)
def test_named_rounding(value: str, rounding: Rounding, expected: int) -> None:
    assert round_to_int(Decimal(value), rounding) == expected


def test_mixed_currency_arithmetic_is_refused() -> None:
    with pytest.raises(CurrencyMismatch):
        Money(1, "KRW") + Money(1, "USD")
    with pytest.raises(CurrencyMismatch):
        _ = Money(1, "KRW") < Money(1, "USD")


@pytest.mark.parametrize("bad", [1.5, True, "12"])
def test_amount_minor_must_be_int(bad: object) -> None:
    with pytest.raises(InvalidInput, match="amount_minor"):
        Money(bad, "KRW")  # type: ignore[arg-type]


def test_unknown_currency_and_float_input_name_the_field() -> None:
    with pytest.raises(InvalidInput, match="currency='XYZ'"):
        Money(1, "XYZ")
    with pytest.raises(InvalidInput, match="price"):
        Money.of(1.1, "USD", field="price")  # type: ignore[arg-type]


def test_of_exact_refuses_sub_minor_digits() -> None:
    assert Money.of_exact("10.00", "USD").amount_minor == 1000
    with pytest.raises(InvalidInput, match="more digits than USD"):
        Money.of_exact("10.005", "USD")


def test_format_and_amount_str_use_currency_digits() -> None:
    assert Money(1_290_000, "KRW").format() == "1,290,000 KRW"
    assert Money(7700, "USD").amount_str() == "77.00"
    assert Money(5, "USD").amount_str() == "0.05"


def test_floor_to_thousand_won() -> None:
    assert Money(358_999, "KRW").floor_to(1000) == Money(358_000, "KRW")


def test_parse_percent_accepts_percent_sign() -> None:
    assert parse_percent("0.4 %") == Decimal("0.4")


@given(st.integers(-(10**12), 10**12), st.lists(st.integers(0, 1000), min_size=1, max_size=12))
def test_allocate_parts_sum_to_the_whole(amount: int, weights: list[int]) -> None:
    if sum(weights) == 0:
        weights[0] = 1
    parts = Money(amount, "KRW").allocate(weights)
    assert sum(p.amount_minor for p in parts) == amount
    assert len(parts) == len(weights)


@given(st.integers(0, 10**12), st.integers(1, 50))
def test_split_evenly_parts_differ_by_at_most_one_won(amount: int, n: int) -> None:
    parts = [p.amount_minor for p in Money(amount, "KRW").split_evenly(n)]
    assert sum(parts) == amount
    assert max(parts) - min(parts) <= 1


@given(st.integers(0, 10**13), st.decimals(min_value=0, max_value=100, places=3))
def test_floor_percent_never_gains_a_won(amount: int, pct: Decimal) -> None:
    got = Money(amount, "KRW").percent(pct).amount_minor
    exact = Decimal(amount) * pct / 100
    assert got <= exact < got + 1


@given(st.lists(st.integers(-(10**9), 10**9), max_size=20))
def test_total_is_exact(values: list[int]) -> None:
    assert total((Money(v, "USD") for v in values), "USD").amount_minor == sum(values)
