"""FX conversion with dated rates: the rate in force on a day is the latest one on or before it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from domain.errors import CurrencyMismatch, InvalidInput, MissingRate
from domain.money import Money, Rounding, currency_digits, parse_decimal


@dataclass(frozen=True, slots=True)
class FxRate:
    """1 unit of `base` = `rate` units of `quote`, published for `as_of` by `source`."""

    base: str
    quote: str
    rate: Decimal
    as_of: date
    source: str = "manual"

    def __post_init__(self) -> None:
        currency_digits(self.base)
        currency_digits(self.quote)
        if not isinstance(self.rate, Decimal) or self.rate <= 0:
            raise InvalidInput("rate", self.rate, "must be a positive Decimal")

    @classmethod
    def parse(cls, base: str, quote: str, rate: str, as_of: date, source: str = "manual") -> FxRate:
        return cls(base, quote, parse_decimal(rate, "rate"), as_of, source)


def convert(amount: Money, rate: FxRate, rounding: Rounding = Rounding.FLOOR) -> Money:
    """Convert `amount` (in the rate's base currency) to the quote currency, rounded by name."""
    if amount.currency != rate.base:
        raise CurrencyMismatch(f"rate {rate.base}/{rate.quote} cannot convert {amount.currency}")
    exact = amount.to_decimal() * rate.rate
    return Money.of(exact, rate.quote, rounding)


class RateTable:
    """Dated rates for several pairs; `rate_on` picks the one in force on a day."""

    def __init__(self, rates: Iterable[FxRate] = ()) -> None:
        self._rates: dict[tuple[str, str], list[FxRate]] = {}
        for r in rates:
            self.add(r)

    def add(self, rate: FxRate) -> None:
        series = self._rates.setdefault((rate.base, rate.quote), [])
        series.append(rate)
        series.sort(key=lambda r: r.as_of)

    def rate_on(
        self, base: str, quote: str, day: date, *, max_age_days: int | None = None
    ) -> FxRate:
        """The latest rate on or before `day` (optionally no older than `max_age_days`)."""
        candidates = [r for r in self._rates.get((base, quote), []) if r.as_of <= day]
        if not candidates:
            raise MissingRate(f"no {base}/{quote} rate on or before {day.isoformat()}")
        rate = candidates[-1]
        if max_age_days is not None and (day - rate.as_of).days > max_age_days:
            raise MissingRate(
                f"{base}/{quote} rate of {rate.as_of.isoformat()} is older than {max_age_days} days"
                f" on {day.isoformat()}"
            )
        return rate

    def convert(
        self, amount: Money, quote: str, day: date, rounding: Rounding = Rounding.FLOOR
    ) -> Money:
        if amount.currency == quote:
            return amount
        return convert(amount, self.rate_on(amount.currency, quote, day), rounding)
