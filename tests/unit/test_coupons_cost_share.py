"""Commission and agency cost share (seed 003): worked examples, field rules, properties."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.coupons import (
    OUTPUT_COLUMNS,
    PRICE_CHANGE_WARNING,
    TRANSFER_REFUSED_MESSAGE,
    CouponGeneration,
    Formula,
    Reservation,
    TransferRefused,
    Traveller,
    change_sale_price,
    change_traveller,
    compute_cost_share,
    compute_cost_shares,
    cost_share_row,
    coupon_generation,
    naive_cost_shares,
    parse_cost_share_row,
    percent_coupon_discount,
    percent_coupon_label,
    transfer_reservation,
)
from domain.errors import InvalidInput


def row(**kw: Any) -> dict[str, Any]:
    base = {
        "reservation_id": "R1",
        "channel": "PARTNER_PORTAL",
        "transaction_type": "R",
        "sale_price": "1290000",
        "variable_price": "0",
        "base_pct": "7",
        "over_pct": "0",
        "grade_pct": "0",
        "coupon_serial": "",
        "coupon_amount": "",
        "agency_share_pct": "",
    }
    base.update(kw)
    return base


# (case, row overrides, formula, base, share, commission, net sales)
SEED_EXAMPLES = [
    (
        "SCO 1,290,000 - 20,000 coupon at 1.6 %",
        row(channel="SCO", base_pct="1.6", coupon_serial="CP00325496", coupon_amount="20000"),
        "sco",
        1_270_000,
        0,
        20_320,
        1_290_000 - 20_000 - 20_320,
    ),
    (
        "old coupon: 7 % - 0.4 % of the sale price",
        row(coupon_serial="CP00325496", coupon_amount="20000", agency_share_pct="0.4"),
        "old",
        1_290_000,
        5_160,
        85_140,
        1_290_000 - 20_000 - 85_140,
    ),
    (
        "new coupon: 7 % - 50 % of the coupon",
        row(coupon_serial="CP10000001", coupon_amount="20000", agency_share_pct="50"),
        "new",
        1_290_000,
        10_000,
        80_300,
        1_290_000 - 20_000 - 80_300,
    ),
    ("no coupon", row(), "none", 1_290_000, 0, 90_300, 1_290_000 - 90_300),
    (
        "T transaction: net sales keep the commission",
        row(
            transaction_type="T",
            coupon_serial="CP10000001",
            coupon_amount="20000",
            agency_share_pct="50",
            variable_price="15000",
        ),
        "new",
        1_290_000,
        10_000,
        80_300,
        1_290_000 + 15_000 - 20_000,
    ),
    (
        "W transaction with variable price",
        row(transaction_type="W", variable_price="-5000"),
        "none",
        1_290_000,
        0,
        90_300,
        1_290_000 - 5_000 - 90_300,
    ),
    (
        "no float error: 1,200,000 x 0.57 %",
        row(sale_price="1200000", base_pct="0.57"),
        "none",
        1_200_000,
        0,
        6_840,
        1_200_000 - 6_840,
    ),
    (
        "each component floored on its own",
        row(sale_price="1000001", base_pct="1.5", over_pct="0.5", grade_pct="0.25"),
        "none",
        1_000_001,
        0,
        15_000 + 5_000 + 2_500,
        1_000_001 - 22_500,
    ),
    (
        "SCF behaves as SCO, share ignored",
        row(
            channel="scf",
            base_pct="2",
            coupon_serial="CP10000009",
            coupon_amount="10000",
            agency_share_pct="30",
        ),
        "sco",
        1_280_000,
        0,
        25_600,
        1_290_000 - 10_000 - 25_600,
    ),
]


@pytest.mark.parametrize(
    ("case", "data", "formula", "base", "share", "commission", "net"),
    SEED_EXAMPLES,
    ids=[e[0] for e in SEED_EXAMPLES],
)
def test_commission_table_examples(
    case: str, data: dict[str, Any], formula: str, base: int, share: int, commission: int, net: int
) -> None:
    expected = {
        "formula": formula,
        "commission_base": base,
        "cost_share": share,
        "commission": commission,
        "net_sales": net,
        "error": "",
    }
    got = cost_share_row(data)
    assert {k: got[k] for k in expected} == expected
    vector = compute_cost_shares(pd.DataFrame([data])).iloc[0].to_dict()
    assert {k: vector[k] for k in expected} == expected


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (
            {"agency_share_pct": "51", "coupon_serial": "CP10000001", "coupon_amount": "1000"},
            "agency_share_pct",
        ),
        (
            {"agency_share_pct": "10.5", "coupon_serial": "CP10000001", "coupon_amount": "1000"},
            "agency_share_pct",
        ),
        (
            {"agency_share_pct": "-1", "coupon_serial": "CP10000001", "coupon_amount": "1000"},
            "agency_share_pct",
        ),
        (
            {"agency_share_pct": "0.45", "coupon_serial": "CP00000001", "coupon_amount": "1000"},
            "agency_share_pct",
        ),
        (
            {"agency_share_pct": "", "coupon_serial": "CP00000001", "coupon_amount": "1000"},
            "agency_share_pct",
        ),
        ({"coupon_serial": "CP1234567", "coupon_amount": "1000"}, "coupon_serial"),
        ({"coupon_serial": "XX10000001", "coupon_amount": "1000"}, "coupon_serial"),
        ({"coupon_serial": "CP10000000", "coupon_amount": "1000"}, "coupon_serial"),
        (
            {"coupon_serial": "CP10000001", "coupon_amount": "", "agency_share_pct": "5"},
            "coupon_amount",
        ),
        (
            {"coupon_serial": "CP10000001", "coupon_amount": "2000000", "agency_share_pct": "5"},
            "coupon_amount",
        ),
        ({"coupon_amount": "1000"}, "coupon_amount"),
        ({"agency_share_pct": "5"}, "agency_share_pct"),
        ({"sale_price": "12.5"}, "sale_price"),
        ({"sale_price": "-1"}, "sale_price"),
        ({"sale_price": ""}, "sale_price"),
        ({"base_pct": "abc"}, "base_pct"),
        ({"base_pct": ""}, "base_pct"),
        ({"over_pct": "101"}, "over_pct"),
        ({"grade_pct": "0.0000001"}, "grade_pct"),
        ({"transaction_type": "X"}, "transaction_type"),
        ({"channel": ""}, "channel"),
        ({"reservation_id": ""}, "reservation_id"),
    ],
)
def test_bad_field_is_named(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_cost_share_row(row(**overrides))
    assert exc.value.field == field
    out = compute_cost_shares(pd.DataFrame([row(**overrides), row(reservation_id="OK")]))
    assert out.iloc[0]["error"].startswith(f"{field}=")
    assert out.iloc[0][["commission_base", "commission"]].isna().all()
    assert out.iloc[1]["error"] == ""
    assert out.iloc[1]["commission"] == 90_300


def test_serial_decides_the_generation() -> None:
    assert coupon_generation("CP00325496") is CouponGeneration.OLD
    assert coupon_generation("CP10000001") is CouponGeneration.NEW
    assert coupon_generation("CP29999999") is CouponGeneration.NEW


def test_new_share_accepts_whole_percent_bounds() -> None:
    for share, expected in (("0", 0), ("50", 10_000), ("50.0", 10_000), ("1", 200)):
        inp = parse_cost_share_row(
            row(coupon_serial="CP10000001", coupon_amount="20000", agency_share_pct=share)
        )
        assert compute_cost_share(inp).cost_share == expected


def test_output_columns_are_the_contract() -> None:
    assert tuple(compute_cost_shares(pd.DataFrame([row()])).columns) == OUTPUT_COLUMNS


def test_percent_coupon_fixed_at_first_use() -> None:
    discount = percent_coupon_discount(1_000_000, "5")
    assert discount == 50_000
    assert percent_coupon_discount(128_950, "5") == 6_447
    res = Reservation(
        reservation_id="R9",
        agency="A1",
        contract_type="001",
        channel="PARTNER_PORTAL",
        transaction_type="R",
        sale_price=1_000_000,
        variable_price=0,
        base_pct="7",
        over_pct="0",
        grade_pct="0",
        coupon_serial="CP10000001",
        agency_share_pct="50",
        travellers=(Traveller("t1", "adult", date(1990, 1, 1), discount),),
    )
    before = res.commission()
    after = change_sale_price(res, 2_000_000)
    assert after.reservation.coupon_amount == 50_000
    assert after.result.cost_share == before.cost_share == 25_000
    assert after.result.commission == 140_000 - 25_000  # recomputed on the new price
    assert after.warnings == (PRICE_CHANGE_WARNING,)
    assert percent_coupon_label("5", instant=True) == "5% 즉시할인"
    assert percent_coupon_label("5", instant=False) == "최대 5% 쿠폰혜택"


def _reservation(**kw: Any) -> Reservation:
    data: dict[str, Any] = {
        "reservation_id": "R2",
        "agency": "A1",
        "contract_type": "001",
        "channel": "PARTNER_PORTAL",
        "transaction_type": "R",
        "sale_price": 1_290_000,
        "variable_price": 0,
        "base_pct": "7",
        "over_pct": "0",
        "grade_pct": "0",
        "coupon_serial": "CP00325496",
        "agency_share_pct": "0.4",
        "travellers": (
            Traveller("t1", "adult", date(1980, 5, 5), 10_000),
            Traveller("t2", "child", date(2015, 5, 5), 10_000),
        ),
    }
    data.update(kw)
    return Reservation(**data)


def test_age_class_or_birth_date_change_removes_that_travellers_coupon() -> None:
    res = _reservation()
    one = change_traveller(res, "t2", age_class="infant")
    assert one.reservation.coupon_amount == 10_000
    assert one.reservation.coupon_serial
    both = change_traveller(one.reservation, "t1", birth_date=date(1981, 5, 5))
    assert both.reservation.coupon_amount == 0
    assert both.reservation.coupon_serial is None
    assert both.result.formula is Formula.NONE
    assert both.result.commission == 90_300
    same = change_traveller(res, "t1", age_class="adult")
    assert same.reservation.coupon_amount == 20_000


def test_transfer_only_to_official_centre_or_brand_mall() -> None:
    res = _reservation()
    with pytest.raises(TransferRefused) as exc:
        transfer_reservation(res, agency="A2", contract_type="001")
    assert str(exc.value) == TRANSFER_REFUSED_MESSAGE
    assert str(exc.value) == "쿠폰사용 예약코드는 공식인증 예약센터로의 예약이관만 가능합니다"
    for ok_type in ("003", "014"):
        assert (
            transfer_reservation(res, agency="A2", contract_type=ok_type).reservation.agency == "A2"
        )
    no_coupon = _reservation(coupon_serial=None, agency_share_pct=None, travellers=())
    assert (
        transfer_reservation(no_coupon, agency="A2", contract_type="001").result.formula == "none"
    )


def test_partner_portal_to_sco_switches_the_commission_base() -> None:
    res = _reservation(base_pct="1.6")
    assert res.commission().commission_base == 1_290_000
    moved = transfer_reservation(res, agency="A1", contract_type="001", channel="SCO")
    assert moved.result.formula is Formula.SCO
    assert moved.result.commission_base == 1_270_000
    assert moved.result.commission == 20_320


# --- properties ----------------------------------------------------------------------------------

pct = st.one_of(
    st.sampled_from(["0", "1.6", "7", "0.57", "3.25", "100", "", "abc", "101", "0.0000001"]),
    st.decimals(min_value=0, max_value=20, places=3).map(str),
)
serials = st.sampled_from(
    ["", "", "CP00325496", "CP00000001", "CP10000001", "CP12345678", "CP1", "CP10000000"]
)
shares = st.one_of(
    st.sampled_from(["", "0", "0.4", "50", "51", "10.5", "-1", "x"]),
    st.integers(0, 60).map(str),
)


@st.composite
def rows(draw: st.DrawFn) -> dict[str, Any]:
    sale = draw(st.integers(0, 50_000_000))
    serial = draw(serials)
    coupon = draw(st.one_of(st.just(""), st.integers(0, max(sale, 1)).map(str)))
    return {
        "reservation_id": draw(st.sampled_from(["R1", "R2", ""])),
        "channel": draw(st.sampled_from(["SCO", "SCF", "PARTNER_PORTAL", "web", ""])),
        "transaction_type": draw(st.sampled_from(["T", "R", "W", "r", "Z"])),
        "sale_price": draw(st.one_of(st.just(str(sale)), st.sampled_from(["", "1.5", "-3"]))),
        "variable_price": str(draw(st.integers(-100_000, 100_000))),
        "base_pct": draw(pct),
        "over_pct": draw(pct),
        "grade_pct": draw(pct),
        "coupon_serial": serial,
        "coupon_amount": coupon,
        "agency_share_pct": draw(shares),
    }


@settings(max_examples=60, deadline=None)
@given(st.lists(rows(), min_size=1, max_size=30))
def test_vectorised_equals_row_wise(data: list[dict[str, Any]]) -> None:
    vector = compute_cost_shares(pd.DataFrame(data))
    naive = naive_cost_shares(data)
    for got, want in zip(vector.to_dict("records"), naive, strict=True):
        normal = {k: (None if pd.isna(v) else v) for k, v in got.items()}
        assert normal == want


@settings(max_examples=200, deadline=None)
@given(
    sale=st.integers(0, 10_000_000_000),
    coupon_frac=st.fractions(0, 1),
    share=st.integers(0, 50),
    base=st.decimals(0, 20, places=2),
)
def test_share_never_exceeds_its_base_and_rounding_never_gains_a_won(
    sale: int, coupon_frac: Any, share: int, base: Any
) -> None:
    coupon = int(sale * coupon_frac)
    inp = parse_cost_share_row(
        row(
            sale_price=str(sale),
            coupon_serial="CP10000001",
            coupon_amount=str(coupon),
            agency_share_pct=str(share),
            base_pct=str(base),
        )
    )
    result = compute_cost_share(inp)
    assert 0 <= result.cost_share <= coupon // 2
    assert result.cost_share * 100 <= coupon * share < (result.cost_share + 1) * 100
    exact_components = sale * base / 100
    assert result.commission + result.cost_share <= exact_components


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.integers(-50_000, 200_000), min_size=2, max_size=2), min_size=1, max_size=6
    )
)
def test_ledger_entries_always_sum_to_the_latest_amounts(history: list[list[int]]) -> None:
    """After any sequence of settlements, postings plus adjustments equal the latest targets."""
    from domain.coupons import ACCOUNT_COMMISSION, ACCOUNT_COST_SHARE, settlement_entries

    posted = pd.DataFrame(columns=["business_key", "account", "amount"]).astype({"amount": "Int64"})
    ledger: list[dict[str, Any]] = []
    for commission, share in history:
        targets = pd.DataFrame(
            {
                "business_key": ["R1", "R1"],
                "account": [ACCOUNT_COMMISSION, ACCOUNT_COST_SHARE],
                "counterparty": ["A", "A"],
                "formula": ["new", "new"],
                "target": [commission, share],
            }
        )
        entries = settlement_entries(targets, posted)
        ledger.extend(entries.to_dict("records"))
        sums = pd.DataFrame(ledger, columns=["business_key", "account", "amount_minor"])
        posted = (
            sums.groupby(["business_key", "account"], as_index=False)["amount_minor"]
            .sum()
            .rename(columns={"amount_minor": "amount"})
        )
        assert all(e["amount_minor"] != 0 for e in entries.to_dict("records"))
    totals = {r["account"]: r["amount"] for r in posted.to_dict("records")}
    assert totals.get(ACCOUNT_COMMISSION, 0) == history[-1][0]
    assert totals.get(ACCOUNT_COST_SHARE, 0) == history[-1][1]
    kinds = [e["kind"] for e in ledger]
    assert kinds.count("posting") <= 2
