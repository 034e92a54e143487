"""Money as integer minor units plus ISO 4217 currency; named rounding; largest-remainder splits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Decimal,
    InvalidOperation,
)
from enum import StrEnum

from domain.errors import CurrencyMismatch, InvalidInput

#: Minor-unit digits per currency (ISO 4217). KRW and VND have none.
CURRENCY_DIGITS: dict[str, int] = {
    "KRW": 0,
    "VND": 0,
    "JPY": 0,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "SGD": 2,
    "HKD": 2,
    "AUD": 2,
    "CNY": 2,
    "TWD": 2,
    "THB": 2,
    "PHP": 2,
}


class Rounding(StrEnum):
    """Rounding rules by name; the company default is FLOOR (버림)."""

    FLOOR = "floor"
    CEIL = "ceil"
    DOWN = "down"  # towards zero
    HALF_UP = "half_up"
    HALF_EVEN = "half_even"


_DECIMAL_ROUNDING = {
    Rounding.FLOOR: ROUND_FLOOR,
    Rounding.CEIL: ROUND_CEILING,
    Rounding.DOWN: ROUND_DOWN,
    Rounding.HALF_UP: ROUND_HALF_UP,
    Rounding.HALF_EVEN: ROUND_HALF_EVEN,
}


def currency_digits(currency: str) -> int:
    """Minor-unit digits of a known currency; unknown codes are refused."""
    try:
        return CURRENCY_DIGITS[currency]
    except KeyError:
        raise InvalidInput("currency", currency, "not a supported ISO 4217 code") from None


def round_to_int(value: Decimal, rounding: Rounding = Rounding.FLOOR) -> int:
    """Round an exact decimal to an integer with the named rule."""
    return int(value.to_integral_value(rounding=_DECIMAL_ROUNDING[rounding]))


def parse_decimal(text: str | int | Decimal, field: str = "amount") -> Decimal:
    """Parse a decimal string exactly (never through float); the error names the field."""
    if isinstance(text, (bool, float)):
        raise InvalidInput(field, text, "must be a decimal string, not a float")
    try:
        value = Decimal(str(text).strip().replace(",", ""))
    except InvalidOperation:
        raise InvalidInput(field, text, "not a decimal number") from None
    if not value.is_finite():
        raise InvalidInput(field, text, "not a finite number")
    return value


def parse_percent(text: str | int | Decimal, field: str = "percent") -> Decimal:
    """A percent as a decimal string ("1.6", "0.4 %") → Decimal("1.6"), i.e. value/100."""
    raw = text.strip().removesuffix("%").strip() if isinstance(text, str) else text
    return parse_decimal(raw, field)


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An amount in integer minor units of one currency. Mixed-currency arithmetic is refused."""

    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount_minor, bool) or not isinstance(self.amount_minor, int):
            raise InvalidInput("amount_minor", self.amount_minor, "must be an int of minor units")
        currency_digits(self.currency)

    # construction -------------------------------------------------------------------------
    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def of(
        cls,
        amount: str | int | Decimal,
        currency: str,
        rounding: Rounding = Rounding.FLOOR,
        field: str = "amount",
    ) -> Money:
        """From major units ("77", "12.345", 1290000), rounded to the minor unit by `rounding`."""
        value = parse_decimal(amount, field) if not isinstance(amount, Decimal) else amount
        scaled = value.scaleb(currency_digits(currency))
        return cls(round_to_int(scaled, rounding), currency)

    @classmethod
    def of_exact(cls, amount: str | int | Decimal, currency: str, field: str = "amount") -> Money:
        """From major units that must already fit the minor unit ("10.005 USD" is refused)."""
        value = parse_decimal(amount, field) if not isinstance(amount, Decimal) else amount
        scaled = value.scaleb(currency_digits(currency))
        if scaled != scaled.to_integral_value():
            raise InvalidInput(field, str(amount), f"more digits than {currency} allows")
        return cls(int(scaled), currency)

    # views --------------------------------------------------------------------------------
    @property
    def digits(self) -> int:
        return currency_digits(self.currency)

    def to_decimal(self) -> Decimal:
        """The amount in major units, exactly."""
        return Decimal(self.amount_minor).scaleb(-self.digits)

    def amount_str(self) -> str:
        """Major units with exactly the currency's digits: "10.00", "1290000"."""
        return f"{self.to_decimal():.{self.digits}f}"

    def format(self) -> str:
        """Human form with thousands separators: "1,290,000 KRW", "77.00 USD"."""
        return f"{self.to_decimal():,.{self.digits}f} {self.currency}"

    def __str__(self) -> str:
        return self.format()

    # arithmetic ---------------------------------------------------------------------------
    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"{self.currency} and {other.currency} cannot be combined")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount_minor + other.amount_minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount_minor - other.amount_minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount_minor, self.currency)

    def __mul__(self, factor: int) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int):
            raise TypeError("Money multiplies by int only; use .times(Decimal, rounding)")
        return Money(self.amount_minor * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount_minor < other.amount_minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount_minor <= other.amount_minor

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount_minor > other.amount_minor

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount_minor >= other.amount_minor

    def __bool__(self) -> bool:
        return self.amount_minor != 0

    def is_negative(self) -> bool:
        return self.amount_minor < 0

    def times(self, factor: Decimal, rounding: Rounding = Rounding.FLOOR) -> Money:
        """Multiply by an exact decimal factor and round to the minor unit by the named rule."""
        return Money(round_to_int(Decimal(self.amount_minor) * factor, rounding), self.currency)

    def percent(self, pct: Decimal | str, rounding: Rounding = Rounding.FLOOR) -> Money:
        """`pct` percent of this amount (1.6 → 1.6 %), rounded by the named rule."""
        value = parse_percent(pct) if isinstance(pct, str) else pct
        return self.times(value / 100, rounding)

    def floor_to(self, step_major: int) -> Money:
        """Floor to a multiple of `step_major` major units (e.g. 1,000 KRW)."""
        step = step_major * 10**self.digits
        return Money((self.amount_minor // step) * step, self.currency)

    def allocate(self, weights: Sequence[int | Decimal]) -> list[Money]:
        """Split by weights with the largest-remainder method so the parts sum to the whole."""
        if not weights:
            raise InvalidInput("weights", list(weights), "need at least one weight")
        total_w = sum(Decimal(w) for w in weights)
        if total_w <= 0 or any(Decimal(w) < 0 for w in weights):
            raise InvalidInput("weights", list(weights), "must be non-negative with a positive sum")
        exact = [Decimal(self.amount_minor) * Decimal(w) / total_w for w in weights]
        parts = [round_to_int(x, Rounding.FLOOR) for x in exact]
        short = self.amount_minor - sum(parts)
        # hand the leftover minor units to the largest remainders (ties: earlier part first)
        order = sorted(range(len(parts)), key=lambda i: (-(exact[i] - parts[i]), i))
        for i in order[:short]:
            parts[i] += 1
        return [Money(p, self.currency) for p in parts]

    def split_evenly(self, n: int) -> list[Money]:
        return self.allocate([1] * n)


def total(amounts: Iterable[Money], currency: str) -> Money:
    """Sum of amounts, all in `currency` (an empty sum is zero)."""
    result = Money.zero(currency)
    for m in amounts:
        result = result + m
    return result
