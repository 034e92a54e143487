"""Package-coupon commission and agency cost share (seed 003), row-wise and over whole columns.

Amounts are KRW won (integers). Percents arrive as decimal strings and are held exactly as
integers in millionths of a percent (1.6 % → 1_600_000), so every amount is
``floor(base × pct_e6 / 100_000_000)`` in integer arithmetic: no float ever touches money
(1,200,000 × 0.57 % is 6,840, not 6,839).

The row-wise functions (`parse_cost_share_row`, `compute_cost_share`) state the rules plainly;
`compute_cost_shares` applies the same rules to whole pandas columns and is checked equal to the
row-wise version by property tests.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from domain.calendar import is_business_day, next_business_day, previous_business_day
from domain.errors import BusinessRuleError, InvalidInput
from domain.money import parse_decimal

#: Percent scale: millionths of a percent. 100 % = 100_000_000.
PCT_SCALE = 1_000_000
_HUNDRED_PCT = 100 * PCT_SCALE
#: Largest sale/variable price accepted (10 billion won) so int64 products never overflow.
MAX_AMOUNT = 10_000_000_000
#: Channels where the coupon comes off the commission base instead of being shared.
DISCOUNTED_BASE_CHANNELS = frozenset({"SCO", "SCF"})
#: Contract types a coupon reservation may be transferred to: official centre, brand mall.
COUPON_TRANSFER_CONTRACT_TYPES = frozenset({"003", "014"})
TRANSACTION_TYPES = ("T", "R", "W")

TRANSFER_REFUSED_MESSAGE = "쿠폰사용 예약코드는 공식인증 예약센터로의 예약이관만 가능합니다"
PRICE_CHANGE_WARNING = (
    "쿠폰이 적용된 예약입니다. 상품가 변경 시에도 적용된 쿠폰금액은 변경되지 않습니다."
)

INPUT_COLUMNS = (
    "reservation_id",
    "channel",
    "transaction_type",
    "sale_price",
    "variable_price",
    "base_pct",
    "over_pct",
    "grade_pct",
    "coupon_serial",
    "coupon_amount",
    "agency_share_pct",
)
OUTPUT_COLUMNS = (
    "reservation_id",
    "formula",
    "commission_base",
    "cost_share",
    "commission",
    "net_sales",
    "error",
)
AMOUNT_COLUMNS = ("commission_base", "cost_share", "commission", "net_sales")

_SERIAL = re.compile(r"CP\d{8}")
_INT = re.compile(r"-?\d+")
_FIRST_NEW_SERIAL = 10_000_001


class Formula(StrEnum):
    """Which row of the commission table applies."""

    NONE = "none"  # no coupon
    SCO = "sco"  # coupon on SCO/SCF: the coupon comes off the commission base
    OLD = "old"  # CP0… coupon: share is a percent of the sale price
    NEW = "new"  # CP1… coupon: share is a whole percent of the coupon amount


class CouponGeneration(StrEnum):
    OLD = "old"
    NEW = "new"


class InvalidCouponShare(InvalidInput):
    """The agency share field does not fit the coupon's generation."""


class TransferRefused(BusinessRuleError):
    """A coupon reservation may move only to an official centre (003) or a brand mall (014)."""

    def __init__(self) -> None:
        super().__init__(TRANSFER_REFUSED_MESSAGE)


# --- field rules (each used by both the row-wise and the column-wise paths) ----------------------


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value != value:  # NaN from an empty CSV cell
        return ""
    return str(value).strip()


def coupon_generation(serial: str) -> CouponGeneration:
    """`CP` + 8 digits; `CP0…` is an old coupon, `CP10000001` and later are new ones."""
    text = _text(serial)
    if not _SERIAL.fullmatch(text):
        raise InvalidInput("coupon_serial", text, "must be CP followed by 8 digits")
    number = int(text[2:])
    if text[2] == "0":
        return CouponGeneration.OLD
    if number < _FIRST_NEW_SERIAL:
        raise InvalidInput("coupon_serial", text, "new coupons start at CP10000001")
    return CouponGeneration.NEW


def parse_pct_e6(value: object, field: str) -> int:
    """A commission percent "1.6" → 1_600_000 (millionths of a percent); 0–100, ≤ 6 decimals."""
    text = _text(value).removesuffix("%").strip()
    if not text:
        raise InvalidInput(field, text, "is required (a percent such as 1.6)")
    number = parse_decimal(text, field)
    if number < 0 or number > 100:
        raise InvalidInput(field, text, "must be between 0 and 100")
    scaled = number * PCT_SCALE
    if scaled != scaled.to_integral_value():
        raise InvalidInput(field, text, "at most 6 decimal places")
    return int(scaled)


def parse_share_e6(value: object, generation: CouponGeneration) -> int:
    """The agency share: old coupons 0–100 % with one decimal; new coupons a whole 0–50 %."""
    field = "agency_share_pct"
    text = _text(value).removesuffix("%").strip()
    if not text:
        raise InvalidCouponShare(field, text, f"is required for a {generation} coupon")
    number = parse_decimal(text, field)
    if generation is CouponGeneration.NEW:
        if number != number.to_integral_value():
            raise InvalidCouponShare(field, text, "new coupons take a whole percent 0–50")
        if number < 0 or number > 50:
            raise InvalidCouponShare(field, text, "new coupons take a whole percent 0–50")
    else:
        if number < 0 or number > 100:
            raise InvalidCouponShare(field, text, "old coupons take 0–100 % (one decimal)")
        if number * 10 != (number * 10).to_integral_value():
            raise InvalidCouponShare(field, text, "old coupons take at most one decimal place")
    return int(number * PCT_SCALE)


def parse_amount(value: object, field: str, *, required: bool = True, minimum: int = 0) -> int:
    """Whole won: "1290000" or "1,290,000"; |amount| ≤ 10 billion."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        number = int(value)
    else:
        text = _text(value).replace(",", "")
        if not text:
            if not required:
                return 0
            raise InvalidInput(field, text, "is required (whole won)")
        if not _INT.fullmatch(text):
            raise InvalidInput(field, text, "must be a whole number of won")
        number = int(text)
    if number < minimum or abs(number) > MAX_AMOUNT:
        raise InvalidInput(field, number, f"must be between {minimum} and {MAX_AMOUNT:,}")
    return number


def parse_channel(value: object) -> str:
    text = _text(value).upper()
    if not text:
        raise InvalidInput("channel", text, "is required (SCO, SCF, PARTNER_PORTAL, …)")
    return text


def parse_transaction_type(value: object) -> str:
    text = _text(value).upper()
    if text not in TRANSACTION_TYPES:
        raise InvalidInput("transaction_type", text, "must be T, R or W")
    return text


# --- row-wise ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CostShareInput:
    """One reservation's commission inputs, validated. Percents in millionths of a percent."""

    reservation_id: str
    channel: str
    transaction_type: str
    sale_price: int
    variable_price: int
    base_pct_e6: int
    over_pct_e6: int
    grade_pct_e6: int
    coupon_serial: str | None
    coupon_amount: int
    agency_share_pct_e6: int


@dataclass(frozen=True, slots=True)
class CostShareResult:
    reservation_id: str
    formula: Formula
    commission_base: int
    cost_share: int
    commission: int
    net_sales: int


def parse_cost_share_row(row: Mapping[str, object]) -> CostShareInput:
    """Validate one input row; the first bad field (in column order) raises `InvalidInput`."""
    reservation_id = _text(row.get("reservation_id"))
    if not reservation_id:
        raise InvalidInput("reservation_id", reservation_id, "is required")
    channel = parse_channel(row.get("channel"))
    transaction_type = parse_transaction_type(row.get("transaction_type"))
    sale_price = parse_amount(row.get("sale_price"), "sale_price")
    variable_price = parse_amount(
        row.get("variable_price"), "variable_price", required=False, minimum=-MAX_AMOUNT
    )
    base = parse_pct_e6(row.get("base_pct"), "base_pct")
    over = parse_pct_e6(_text(row.get("over_pct")) or "0", "over_pct")
    grade = parse_pct_e6(_text(row.get("grade_pct")) or "0", "grade_pct")
    serial = _text(row.get("coupon_serial")) or None
    coupon_amount = 0
    share = 0
    if serial is None:
        if parse_amount(row.get("coupon_amount"), "coupon_amount", required=False) != 0:
            raise InvalidInput("coupon_amount", _text(row.get("coupon_amount")), "no coupon_serial")
        if _text(row.get("agency_share_pct")):
            share_text = _text(row.get("agency_share_pct")).removesuffix("%").strip()
            if parse_decimal(share_text, "agency_share_pct") != 0:
                raise InvalidInput("agency_share_pct", share_text, "given without a coupon_serial")
    else:
        generation = coupon_generation(serial)
        coupon_amount = parse_amount(row.get("coupon_amount"), "coupon_amount")
        if coupon_amount > sale_price:
            raise InvalidInput("coupon_amount", coupon_amount, "exceeds the sale price")
        if channel in DISCOUNTED_BASE_CHANNELS and not _text(row.get("agency_share_pct")):
            share = 0  # the agency bears nothing on SCO/SCF: the field may stay empty
        else:
            share = parse_share_e6(row.get("agency_share_pct"), generation)
    return CostShareInput(
        reservation_id=reservation_id,
        channel=channel,
        transaction_type=transaction_type,
        sale_price=sale_price,
        variable_price=variable_price,
        base_pct_e6=base,
        over_pct_e6=over,
        grade_pct_e6=grade,
        coupon_serial=serial,
        coupon_amount=coupon_amount,
        agency_share_pct_e6=share,
    )


def pct_of(amount: int, pct_e6: int) -> int:
    """floor(amount × pct %), exactly."""
    return (amount * pct_e6) // _HUNDRED_PCT


def formula_for(channel: str, serial: str | None) -> Formula:
    if serial is None:
        return Formula.NONE
    if channel in DISCOUNTED_BASE_CHANNELS:
        return Formula.SCO
    return Formula.OLD if coupon_generation(serial) is CouponGeneration.OLD else Formula.NEW


def compute_cost_share(inp: CostShareInput) -> CostShareResult:
    """The commission table: base, share, commission (Σ floored components − share), net sales."""
    formula = formula_for(inp.channel, inp.coupon_serial)
    base = inp.sale_price - inp.coupon_amount if formula is Formula.SCO else inp.sale_price
    if formula is Formula.OLD:
        share = pct_of(inp.sale_price, inp.agency_share_pct_e6)
    elif formula is Formula.NEW:
        share = pct_of(inp.coupon_amount, inp.agency_share_pct_e6)
    else:
        share = 0
    components = sum(pct_of(base, p) for p in (inp.base_pct_e6, inp.over_pct_e6, inp.grade_pct_e6))
    commission = components - share
    net = inp.sale_price + inp.variable_price - inp.coupon_amount
    if inp.transaction_type != "T":
        net -= commission
    return CostShareResult(inp.reservation_id, formula, base, share, commission, net)


def cost_share_row(row: Mapping[str, object]) -> dict[str, Any]:
    """One CSV row in, one OUT row: amounts, or `error` with the amounts left empty."""
    try:
        result = compute_cost_share(parse_cost_share_row(row))
    except InvalidInput as exc:
        return {
            "reservation_id": _text(row.get("reservation_id")),
            "formula": "",
            **dict.fromkeys(AMOUNT_COLUMNS),
            "error": str(exc),
        }
    return {
        "reservation_id": result.reservation_id,
        "formula": str(result.formula),
        "commission_base": result.commission_base,
        "cost_share": result.cost_share,
        "commission": result.commission,
        "net_sales": result.net_sales,
        "error": "",
    }


# --- column-wise ---------------------------------------------------------------------------------


def _col(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name]
    return pd.Series([""] * len(frame), index=frame.index, dtype=object)


def _factorize(series: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """Codes per row and the distinct values (a missing value is the last distinct value)."""
    values = series.to_numpy(dtype=object) if series.dtype != object else series.to_numpy()
    codes, uniques = pd.factorize(values)
    distinct = list(uniques)
    if (codes < 0).any():
        codes = np.where(codes < 0, len(distinct), codes)
        distinct.append(None)
    return codes, distinct


def _by_unique(series: pd.Series, parse: Any) -> tuple[np.ndarray, np.ndarray]:
    """Apply a scalar parser once per distinct value: (int64 values, ok mask) per row."""
    codes, uniques = _factorize(series)
    values = np.zeros(len(uniques), dtype=np.int64)
    ok = np.ones(len(uniques), dtype=bool)
    for i, value in enumerate(uniques):
        try:
            values[i] = parse(value)
        except InvalidInput:
            ok[i] = False
    return values[codes], ok[codes]


def _int_column(series: pd.Series, field: str, required: bool, minimum: int) -> Any:
    """Whole-won column → (int64 values, ok mask, empty mask); integer dtypes stay vectorised."""
    if pd.api.types.is_integer_dtype(series.dtype):
        empty = series.isna().to_numpy(dtype=bool)
        values = series.fillna(0).to_numpy(dtype=np.int64)
        ok = (values >= minimum) & (np.abs(values) <= MAX_AMOUNT) & (~empty | (not required))
        return values, ok, empty
    values, ok = _by_unique(
        series, lambda v: parse_amount(v, field, required=required, minimum=minimum)
    )
    codes, uniques = _factorize(series)
    empty = np.array([_text(v) == "" for v in uniques], dtype=bool)[codes]
    return values, ok, empty


@dataclass(frozen=True)
class CostShareColumns:
    """Validated inputs as int64 columns (percents in millionths); `ok` marks valid rows."""

    reservation_id: np.ndarray
    ok: np.ndarray
    sco: np.ndarray
    is_t: np.ndarray
    generation: np.ndarray  # 0 none, 1 old, 2 new
    sale: np.ndarray
    variable: np.ndarray
    coupon: np.ndarray
    pcts: tuple[np.ndarray, np.ndarray, np.ndarray]
    share_pct: np.ndarray


@dataclass(frozen=True)
class CommissionColumns:
    formula: np.ndarray  # index into FORMULA_CODES
    base: np.ndarray
    share: np.ndarray
    commission: np.ndarray
    net: np.ndarray


FORMULA_CODES = np.array(
    [Formula.NONE.value, Formula.SCO.value, Formula.OLD.value, Formula.NEW.value], dtype=object
)


def parse_cost_share_columns(frame: pd.DataFrame) -> CostShareColumns:
    """Validate and parse whole columns. Distinct text values (percents, serials, channels) are
    parsed once each by the same scalar rules as `parse_cost_share_row`."""
    rid = pd.Series(_col(frame, "reservation_id").to_numpy(dtype=object), dtype=object)
    rid = rid.fillna("")
    arrow_ids = rid.astype("string[pyarrow]")  # trimmed in C, not one Python call per id
    stripped = arrow_ids.str.strip()
    ok = np.array(stripped != "", dtype=bool)
    same = bool((stripped == arrow_ids).all())
    rid_text = (
        rid if same and all(isinstance(v, str) for v in rid.iloc[:1]) else stripped.astype(object)
    )

    channel_codes, channel_uniques = _factorize(_col(frame, "channel"))
    channel_sco = np.zeros(len(channel_uniques), dtype=bool)
    channel_ok = np.ones(len(channel_uniques), dtype=bool)
    for i, value in enumerate(channel_uniques):
        try:
            channel_sco[i] = parse_channel(value) in DISCOUNTED_BASE_CHANNELS
        except InvalidInput:
            channel_ok[i] = False
    sco = channel_sco[channel_codes]
    ok &= channel_ok[channel_codes]

    tx_is_t, tx_ok = _by_unique(
        _col(frame, "transaction_type"), lambda v: parse_transaction_type(v) == "T"
    )
    ok &= tx_ok
    sale, sale_ok, _ = _int_column(_col(frame, "sale_price"), "sale_price", True, 0)
    variable, var_ok, _ = _int_column(
        _col(frame, "variable_price"), "variable_price", False, -MAX_AMOUNT
    )
    ok &= sale_ok & var_ok
    pcts = []
    for name in ("base_pct", "over_pct", "grade_pct"):
        column = _col(frame, name)
        if name == "base_pct":
            values, pct_ok = _by_unique(column, lambda v: parse_pct_e6(v, "base_pct"))
        else:
            values, pct_ok = _by_unique(column, lambda v, f=name: parse_pct_e6(_text(v) or "0", f))
        pcts.append(values)
        ok &= pct_ok

    # serial → generation code: 0 none, 1 old, 2 new, -1 invalid
    serial_codes, serial_uniques = _factorize(_col(frame, "coupon_serial"))
    generation = np.zeros(len(serial_uniques), dtype=np.int8)
    for i, value in enumerate(serial_uniques):
        if not _text(value):
            continue
        try:
            generation[i] = 1 if coupon_generation(str(value)) is CouponGeneration.OLD else 2
        except InvalidInput:
            generation[i] = -1
    gen = generation[serial_codes]
    ok &= gen >= 0
    has_coupon = gen > 0

    coupon, coupon_ok, coupon_empty = _int_column(
        _col(frame, "coupon_amount"), "coupon_amount", False, 0
    )
    coupon_ok &= ~(has_coupon & coupon_empty)  # required with a serial
    ok &= coupon_ok & np.where(has_coupon, coupon <= sale, coupon == 0)

    share_col = _col(frame, "agency_share_pct")
    share_codes, share_uniques = _factorize(share_col)
    # per distinct value: (empty, old value/ok, new value/ok, zero when no coupon)
    u = len(share_uniques)
    s_empty = np.zeros(u, dtype=bool)
    s_old, s_new = np.zeros(u, dtype=np.int64), np.zeros(u, dtype=np.int64)
    s_old_ok, s_new_ok, s_zero = (np.zeros(u, dtype=bool) for _ in range(3))
    for i, value in enumerate(share_uniques):
        text = _text(value)
        s_empty[i] = not text
        for gen_kind, parsed, parsed_ok in (
            (CouponGeneration.OLD, s_old, s_old_ok),
            (CouponGeneration.NEW, s_new, s_new_ok),
        ):
            try:
                parsed[i] = parse_share_e6(value, gen_kind)
                parsed_ok[i] = True
            except InvalidInput:
                pass
        try:
            s_zero[i] = not text or parse_decimal(text.removesuffix("%").strip()) == 0
        except InvalidInput:
            s_zero[i] = False
    sc = share_codes
    share_empty = s_empty[sc]
    share_pct = np.where(gen == 1, s_old[sc], np.where(gen == 2, s_new[sc], 0))
    share_valid = np.where(gen == 1, s_old_ok[sc], np.where(gen == 2, s_new_ok[sc], s_zero[sc]))
    sco_empty = has_coupon & sco & share_empty
    share_pct = np.where(sco_empty, 0, share_pct)
    ok &= share_valid | sco_empty

    # invalid rows carry zeros so the arithmetic never sees garbage; they are blanked at the end
    zero = np.zeros(len(ok), dtype=np.int64)
    return CostShareColumns(
        reservation_id=rid_text.to_numpy(dtype=object),
        ok=ok,
        sco=sco & ok,
        is_t=tx_is_t.astype(bool),
        generation=np.where(ok, gen, 0).astype(np.int8),
        sale=np.where(ok, sale, zero),
        variable=np.where(ok, variable, zero),
        coupon=np.where(ok & has_coupon, coupon, zero),
        pcts=(
            np.where(ok, pcts[0], zero),
            np.where(ok, pcts[1], zero),
            np.where(ok, pcts[2], zero),
        ),
        share_pct=np.where(ok, share_pct, zero),
    )


def apply_commission_table(c: CostShareColumns) -> CommissionColumns:
    """The commission table as int64 column arithmetic; every amount floored to the won."""
    has_coupon = c.generation > 0
    formula_sco = has_coupon & c.sco
    base = np.where(formula_sco, c.sale - c.coupon, c.sale)
    components = (
        (base * c.pcts[0]) // _HUNDRED_PCT
        + (base * c.pcts[1]) // _HUNDRED_PCT
        + (base * c.pcts[2]) // _HUNDRED_PCT
    )
    shared = has_coupon & ~c.sco
    share = np.where(shared, np.where(c.generation == 1, c.sale, c.coupon), 0) * c.share_pct
    share //= _HUNDRED_PCT
    commission = components - share
    net = c.sale + c.variable - c.coupon - np.where(c.is_t, 0, commission)
    formula = np.where(has_coupon, np.where(formula_sco, 1, c.generation + 1), 0).astype(np.int8)
    return CommissionColumns(formula, base, share, commission, net)


def compute_cost_shares(frame: pd.DataFrame) -> pd.DataFrame:
    """The commission table over whole columns; bad rows keep their id and an `error`."""
    columns = parse_cost_share_columns(frame)
    return cost_share_frame(frame, columns, apply_commission_table(columns))


def cost_share_frame(
    frame: pd.DataFrame, columns: CostShareColumns, result: CommissionColumns
) -> pd.DataFrame:
    """The OUT columns; rejected rows get the row-wise rules' exact message and no amounts."""
    ok = columns.ok
    n = len(ok)
    bad = ~ok
    errors = np.full(n, "", dtype=object)
    bad_rows = np.flatnonzero(bad)
    if len(bad_rows):
        # the exact message comes from the row-wise rules (bad rows are few)
        records = frame.iloc[bad_rows].to_dict("records")
        errors[bad_rows] = [
            cost_share_row({str(k): v for k, v in r.items()})["error"] for r in records
        ]

    def amounts(values: np.ndarray) -> pd.arrays.IntegerArray:
        return pd.arrays.IntegerArray(np.where(ok, values, 0).astype(np.int64), bad.copy())

    return pd.DataFrame(
        {
            "reservation_id": pd.Series(columns.reservation_id, dtype=object, index=frame.index),
            "formula": pd.Series(
                np.where(ok, FORMULA_CODES[result.formula], ""), dtype=object, index=frame.index
            ),
            "commission_base": amounts(result.base),
            "cost_share": amounts(result.share),
            "commission": amounts(result.commission),
            "net_sales": amounts(result.net),
            "error": pd.Series(errors, dtype=object, index=frame.index),
        },
        index=frame.index,
    )


def naive_cost_shares(rows: list[Mapping[str, object]]) -> list[dict[str, Any]]:
    """The spreadsheet way: one row at a time (the benchmark's baseline and the tests' oracle)."""
    return [cost_share_row(row) for row in rows]


# --- coupons fixed at first use; reservation changes ---------------------------------------------


def percent_coupon_discount(order_amount: int, rate_pct: str | Decimal) -> int:
    """floor(order amount × rate %): what a percentage coupon takes off at its first use."""
    rate = parse_decimal(rate_pct, "rate_pct") if not isinstance(rate_pct, Decimal) else rate_pct
    if rate <= 0 or rate > 100:
        raise InvalidInput("rate_pct", str(rate_pct), "must be more than 0 and at most 100")
    return int((Decimal(order_amount) * rate / 100).to_integral_value(rounding="ROUND_FLOOR"))


def percent_coupon_label(rate_pct: str | Decimal, *, instant: bool) -> str:
    """A percentage coupon's label: "5% 즉시할인" (instant), "최대 5% 쿠폰혜택" (download)."""
    rate = parse_decimal(rate_pct, "rate_pct") if not isinstance(rate_pct, Decimal) else rate_pct
    text = f"{rate.normalize():f}%"
    return f"{text} 즉시할인" if instant else f"최대 {text} 쿠폰혜택"


AGE_CLASSES = frozenset({"adult", "child", "infant"})


@dataclass(frozen=True, slots=True)
class Traveller:
    traveller_id: str
    age_class: str
    birth_date: date | None = None
    coupon_amount: int = 0  # this traveller's coupon, fixed at first use


@dataclass(frozen=True, slots=True)
class Reservation:
    """A package reservation as far as its coupon and commission are concerned."""

    reservation_id: str
    agency: str
    contract_type: str
    channel: str
    transaction_type: str
    sale_price: int
    variable_price: int
    base_pct: str
    over_pct: str
    grade_pct: str
    coupon_serial: str | None
    agency_share_pct: str | None
    travellers: tuple[Traveller, ...] = ()

    @property
    def coupon_amount(self) -> int:
        return sum(t.coupon_amount for t in self.travellers)

    def as_row(self) -> dict[str, object]:
        return {
            "reservation_id": self.reservation_id,
            "channel": self.channel,
            "transaction_type": self.transaction_type,
            "sale_price": self.sale_price,
            "variable_price": self.variable_price,
            "base_pct": self.base_pct,
            "over_pct": self.over_pct,
            "grade_pct": self.grade_pct,
            "coupon_serial": self.coupon_serial or "",
            "coupon_amount": self.coupon_amount if self.coupon_serial else "",
            "agency_share_pct": self.agency_share_pct or "",
        }

    def commission(self) -> CostShareResult:
        """Recomputed from the current state after every change."""
        return compute_cost_share(parse_cost_share_row(self.as_row()))


@dataclass(frozen=True, slots=True)
class ChangeOutcome:
    reservation: Reservation
    result: CostShareResult
    warnings: tuple[str, ...] = ()


def change_sale_price(res: Reservation, new_sale_price: int) -> ChangeOutcome:
    """A price change keeps the coupon amount fixed at first use; ops see a warning."""
    price = parse_amount(new_sale_price, "sale_price")
    if res.coupon_serial and res.coupon_amount > price:
        raise InvalidInput("sale_price", price, "below the coupon amount applied")
    changed = replace(res, sale_price=price)
    warnings = (PRICE_CHANGE_WARNING,) if res.coupon_serial else ()
    return ChangeOutcome(changed, changed.commission(), warnings)


def change_traveller(
    res: Reservation,
    traveller_id: str,
    *,
    age_class: str | None = None,
    birth_date: date | None = None,
) -> ChangeOutcome:
    """A change of age class or birth date removes that traveller's coupon."""
    if age_class is not None and age_class not in AGE_CLASSES:
        raise InvalidInput("age_class", age_class, "must be adult, child or infant")
    travellers = list(res.travellers)
    index = next((i for i, t in enumerate(travellers) if t.traveller_id == traveller_id), None)
    if index is None:
        raise InvalidInput("traveller_id", traveller_id, "not on this reservation")
    old = travellers[index]
    changed_class = age_class is not None and age_class != old.age_class
    changed_birth = birth_date is not None and birth_date != old.birth_date
    new = replace(
        old,
        age_class=age_class or old.age_class,
        birth_date=birth_date if birth_date is not None else old.birth_date,
        coupon_amount=0 if (changed_class or changed_birth) else old.coupon_amount,
    )
    travellers[index] = new
    warnings: tuple[str, ...] = ()
    if old.coupon_amount and not new.coupon_amount:
        warnings = (f"traveller {traveller_id}: coupon removed (age class or birth date changed)",)
    changed = replace(res, travellers=tuple(travellers))
    if changed.coupon_serial and changed.coupon_amount == 0:
        changed = replace(changed, coupon_serial=None, agency_share_pct=None)
    return ChangeOutcome(changed, changed.commission(), warnings)


def transfer_reservation(
    res: Reservation, *, agency: str, contract_type: str, channel: str | None = None
) -> ChangeOutcome:
    """Move to another agency/channel. A coupon reservation may go only to 003/014 agencies;
    moving to SCO/SCF puts the coupon-discounted price under the commission."""
    target_channel = parse_channel(channel) if channel else res.channel
    if (
        res.coupon_serial
        and agency != res.agency
        and contract_type not in COUPON_TRANSFER_CONTRACT_TYPES
    ):
        raise TransferRefused()
    changed = replace(res, agency=agency, contract_type=contract_type, channel=target_channel)
    return ChangeOutcome(changed, changed.commission())


# --- nightly settlement ---------------------------------------------------------------------------

#: Ledger book and accounts of the settlement.
SETTLEMENT_BOOK = "coupon_settlement"
ACCOUNT_COMMISSION = "agency_commission"
ACCOUNT_COST_SHARE = "agency_coupon_cost_share"
ACCOUNT_SELLER_COUPON = "seller_coupon_discount"


def settlement_date_for_run(run_day: date) -> date:
    """A run on `run_day` settles the previous business day."""
    return previous_business_day(run_day)


def seller_coupon_window(settle_day: date) -> tuple[date, date]:
    """Seller-borne coupons are due on usage completion + 1 business day. The run for business
    day D pays those due on the next business day after D, i.e. completed in [D, next(D))."""
    return settle_day, next_business_day(settle_day)


def settles_on(changed_on: date) -> date:
    """A completion or change is settled on that day, or the next business day if it is none."""
    return changed_on if is_business_day(changed_on) else next_business_day(changed_on)


def settlement_targets(results: pd.DataFrame, reservations: pd.DataFrame) -> pd.DataFrame:
    """What the ledger should hold per (reservation, account) after this settlement.

    `results`: output of `compute_cost_shares` (same index as `reservations`, which carries
    `agency` and `status`). Cancelled reservations target zero (their postings are reversed);
    rejected rows target nothing.
    """
    valid = (results["error"] == "").to_numpy()
    live = (reservations["status"] != "cancelled").to_numpy()
    keys = results["reservation_id"].to_numpy()[valid]
    agencies = reservations["agency"].to_numpy()[valid]
    factor = live[valid].astype(np.int64)
    commission = results["commission"].to_numpy(dtype=np.int64, na_value=0)[valid] * factor
    share = results["cost_share"].to_numpy(dtype=np.int64, na_value=0)[valid] * factor
    formula = results["formula"].to_numpy()[valid]
    count = len(keys)
    accounts = np.empty(2 * count, dtype=object)
    accounts[:count], accounts[count:] = ACCOUNT_COMMISSION, ACCOUNT_COST_SHARE
    return pd.DataFrame(
        {
            "business_key": pd.Series(np.concatenate([keys, keys]), dtype=object),
            "account": pd.Series(accounts, dtype=object),
            "counterparty": pd.Series(np.concatenate([agencies, agencies]), dtype=object),
            "formula": pd.Series(np.concatenate([formula, formula]), dtype=object),
            "target": np.concatenate([commission, share]),
        }
    )


def settlement_entries(targets: pd.DataFrame, posted: pd.DataFrame) -> pd.DataFrame:
    """Ledger entries that bring what was posted before to the targets: a first posting, or an
    adjustment of the difference. Nothing when they already agree.

    `posted`: business_key, account, amount (sums of earlier entries).
    """
    if posted.empty:  # first settlement of every reservation: nothing to join
        merged = targets
        had = np.zeros(len(targets), dtype=bool)
        before = np.zeros(len(targets), dtype=np.int64)
    else:
        merged = targets.merge(posted, on=["business_key", "account"], how="left")
        had = merged["amount"].notna().to_numpy()
        before = merged["amount"].to_numpy(dtype=np.int64, na_value=0)
    delta = merged["target"].to_numpy(dtype=np.int64) - before
    keep = delta != 0
    entries = merged.loc[keep, ["business_key", "account", "counterparty", "formula"]].copy()
    entries["amount_minor"] = delta[keep]
    entries["kind"] = pd.Series(
        np.where(had[keep], "adjustment", "posting").astype(object),
        dtype=object,
        index=entries.index,
    )
    out: pd.DataFrame = entries.reset_index(drop=True)
    return out
