"""Group quote engine, traffic light, SLA, refunds and vouchers (spec/group-booking.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.group import (
    NOTICE_ESTIMATE,
    NOTICE_MICE,
    ORDER_STATES,
    Catalog,
    GroupOrderRequest,
    Price,
    Quote,
    RefundExceedsPaid,
    Supply,
    Traveller,
    balance_for,
    check_refund,
    confirm_quote,
    countdown,
    deposit_for,
    plan_vouchers,
    quote_group,
    refundable,
    rooms_needed,
    route_order,
    sla_plan,
    validate_order,
)
from domain.money import Money
from tasks.group_data import load_catalog

TODAY = date(2026, 11, 23)
FAR = TODAY + timedelta(days=60)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def order(
    product: str = "YEOSU-NIGHT-2D",
    adults: int = 6,
    children: int = 0,
    options: tuple[str, ...] = ("CABLE-CAR", "SEAFOOD-DINNER"),
    model: str = "A",
    departure: date = FAR,
) -> GroupOrderRequest:
    travellers = tuple(
        Traveller(f"여행자{i}", f"010-1234-{i:04d}", "adult" if i < adults else "child")
        for i in range(adults + children)
    )
    return GroupOrderRequest(
        product, departure, travellers, options, model, "김단체", "010-9999-0000"
    )  # type: ignore[arg-type]


def test_green_template_order_is_one_confirmed_total(catalog: Catalog) -> None:
    q = quote_group(order(), catalog)
    # 6 × (289,000 + 17,000 + 38,000 + 30,000 agency charge)
    assert q.confirmed
    assert q.low_minor == q.high_minor == 2_244_000
    assert q.deposit_minor == 448_000  # 20 % = 448,800 → floored to 1,000 KRW
    assert NOTICE_ESTIMATE not in q.notices
    assert [line.item for line in q.lines][-1] == "agency_charge"
    assert route_order(order(), q, catalog, TODAY).light == "green"


def test_wish_voyage_modules_give_a_range_and_the_notice(catalog: Catalog) -> None:
    req = order("TONGYEONG-WISH-3D", 5, 1, ("WISH-LIGHT", "WISH-EXPERIENCE", "WISH-THIRD"))
    q = quote_group(req, catalog)
    assert not q.confirmed
    assert q.low_minor == 2_295_000 + 300_000 + 6 * 19_000 + 6 * 35_000 + 6 * 30_000
    assert q.known_high_minor == q.low_minor + 60_000
    assert q.high_minor is None
    assert q.unknown_items == ("option:WISH-THIRD",)
    assert q.deposit_minor == 631_000  # 20 % of 3,159,000 = 631,800
    assert NOTICE_ESTIMATE in q.notices
    assert "~" in q.display_range()
    assert "미정" in q.display_range()
    routing = route_order(req, q, catalog, TODAY)
    assert routing.light == "yellow"
    assert any("v0" in r for r in routing.reasons)


@pytest.mark.parametrize(
    ("model", "has_charge", "keep"),
    [("A", True, 2_244_000), ("B", True, 180_000), ("C", False, 2_064_000 * 8 // 100)],
)
def test_group_models_charge_and_settle(
    catalog: Catalog, model: str, has_charge: bool, keep: int
) -> None:
    q = quote_group(order(model=model), catalog)
    assert any(line.item == "agency_charge" for line in q.lines) is has_charge
    assert q.settlement["we_keep"] == keep
    assert (NOTICE_MICE in q.notices) is (model == "C")
    if model == "C":
        assert q.settlement["mice_subsidy_estimate"] == 6 * 15_000


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"adults": 4}, "travellers"),
        ({"product": "NOPE"}, "product_code"),
        ({"departure": TODAY}, "departure_date"),
        ({"model": "Z"}, "group_model"),
        ({"options": ("NOPE",)}, "options"),
    ],
)
def test_what_is_not_a_group_order_is_refused_naming_the_field(
    catalog: Catalog, kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        validate_order(order(**kwargs), catalog, TODAY)  # type: ignore[arg-type]
    assert err.value.field == field


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"product": "JEJU-SPRING-3D", "options": ()}, "not on sale"),
        ({"options": ("WISH-LIGHT",)}, "not offered"),
        ({"adults": 41}, "over the maximum"),
        ({"departure": TODAY + timedelta(days=3)}, "lead time"),
    ],
)
def test_red_when_blocked(catalog: Catalog, kwargs: dict[str, object], reason: str) -> None:
    req = order(**kwargs)  # type: ignore[arg-type]
    routing = route_order(req, quote_group(req, catalog), catalog, TODAY)
    assert routing.light == "red"
    assert any(reason in r for r in routing.reasons)


@pytest.mark.parametrize(
    ("supply", "light"),
    [
        (Supply(6, 3, 1), "yellow"),  # fits, but eats the buffer
        (Supply(5, 3, 1), "red"),  # seats < party
        (Supply(45, 2, 2), "red"),  # rooms < ceil(6/2)
        (Supply(45, 30, 0), "red"),  # no guide
        (Supply(45, 30, 2), "green"),
    ],
)
def test_supply_per_date_decides(catalog: Catalog, supply: Supply, light: str) -> None:
    dated = Catalog(
        catalog.currency,
        catalog.products,
        catalog.options,
        catalog.prices,
        {
            **catalog.supply,
            "YEOSU-NIGHT-2D": {FAR.isoformat(): supply, "default": Supply(99, 99, 9)},
        },
    )
    req = order()
    assert route_order(req, quote_group(req, dated), dated, TODAY).light == light


def test_yellow_for_custom_course_big_party_or_nonstandard_option(catalog: Catalog) -> None:
    big = order(adults=25)
    assert route_order(big, quote_group(big, catalog), catalog, TODAY).light == "yellow"
    yacht = order(options=("YACHT-NIGHT",))
    assert route_order(yacht, quote_group(yacht, catalog), catalog, TODAY).light == "yellow"


def test_stored_quote_never_changes_when_prices_change(catalog: Catalog) -> None:
    req = order()
    stored = quote_group(req, catalog).as_dict()
    dearer = catalog.with_prices({"product:YEOSU-NIGHT-2D:adult": Price("v1", 310_000, 310_000)})
    assert quote_group(req, dearer).low_minor == 2_244_000 + 6 * 21_000
    again = Quote.from_dict(stored)
    assert again.as_dict() == stored
    assert again.low_minor == 2_244_000


def test_confirming_a_range_uses_v1_and_ops_final_prices(catalog: Catalog) -> None:
    req = order("TONGYEONG-WISH-3D", 5, 1, ("WISH-LIGHT", "WISH-THIRD"))
    q = quote_group(req, catalog)
    with pytest.raises(InvalidInput):
        confirm_quote(q, catalog)  # no v1 price for the child fare or the modules yet
    finals = {
        "product:TONGYEONG-WISH-3D:child": 330_000,
        "option:WISH-LIGHT": 19_000,
        "option:WISH-THIRD": 25_000,
    }
    c = confirm_quote(q, catalog, finals)
    assert c.confirmed
    assert NOTICE_ESTIMATE not in c.notices
    assert c.total_minor == 2_295_000 + 330_000 + 6 * 19_000 + 6 * 25_000 + 6 * 30_000
    assert c.deposit_minor == q.deposit_minor  # the deposit paid stays
    assert q.high_minor is None  # the original is untouched


@pytest.mark.parametrize(
    ("departure", "due"),
    [(FAR, FAR - timedelta(days=14)), (TODAY + timedelta(days=10), TODAY)],
)
def test_balance_due_14_days_before_departure_or_at_once(
    catalog: Catalog, departure: date, due: date
) -> None:
    q = quote_group(order(departure=departure), catalog)
    b = balance_for(q, Money(q.deposit_minor, "KRW"), TODAY)
    assert b.amount == Money(2_244_000 - 448_000, "KRW")
    assert b.due_on == due


def test_sla_deadline_reminders_and_countdown() -> None:
    paid = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    plan = sla_plan(paid, timedelta(hours=24))
    assert plan.deadline == paid + timedelta(hours=24)
    assert plan.reminders == (paid + timedelta(hours=12), paid + timedelta(hours=21, minutes=36))
    assert (
        countdown(paid + timedelta(seconds=1), plan.deadline)
        == "확정 마감까지 23시간 59분 59초 남음"
    )
    assert "지났습니다" in countdown(plan.deadline, plan.deadline)


def test_order_states_follow_the_spec() -> None:
    assert ORDER_STATES.allows("awaiting_ops", "confirmed")
    assert ORDER_STATES.allows("awaiting_ops", "expired_refunded")
    assert not ORDER_STATES.allows("expired_refunded", "confirmed")
    assert ORDER_STATES.sources("confirmed") == {"auto_confirmed", "awaiting_ops"}


@pytest.mark.parametrize(
    ("product", "trigger", "offset"),
    [
        ("YEOSU-NIGHT-2D", "confirmation", None),
        ("TONGYEONG-WISH-3D", "departure", 0),
        ("GANGNEUNG-MICE-2D", "event_end", 1),
    ],
)
def test_one_voucher_per_traveller_on_the_product_trigger(
    catalog: Catalog, product: str, trigger: str, offset: int | None
) -> None:
    req = order(product)
    plans = plan_vouchers(catalog.products[product], req.travellers, FAR, TODAY)
    assert [p.traveller_index for p in plans] == list(range(6))
    assert {p.trigger for p in plans} == {trigger}
    assert plans[0].due_on == (TODAY if offset is None else FAR + timedelta(days=offset))
    assert "혜택" in plans[0].message


# ---- properties -------------------------------------------------------------------------------
@given(upper=st.integers(0, 10**11), pct=st.integers(1, 100))
def test_deposit_is_floored_to_1000_and_never_above_the_percent(upper: int, pct: int) -> None:
    d = deposit_for(Money(upper, "KRW"), Decimal(pct), 1000).amount_minor
    assert d % 1000 == 0
    assert d * 100 <= upper * pct < (d + 1000) * 100


@given(
    paid=st.integers(0, 10**9),
    refunds=st.lists(st.integers(1, 10**9), max_size=8),
)
def test_refunds_never_exceed_what_was_paid(paid: int, refunds: list[int]) -> None:
    done = Money.zero("KRW")
    for r in refunds:
        try:
            done = done + check_refund(Money(paid, "KRW"), done, Money(r, "KRW"))
        except RefundExceedsPaid:
            assert r > paid - done.amount_minor
    assert done.amount_minor <= paid
    assert refundable(Money(paid, "KRW"), done).amount_minor == paid - done.amount_minor


@given(party=st.integers(5, 200))
def test_twin_share_rooms_hold_the_party(party: int) -> None:
    assert 2 * rooms_needed(party) >= party > 2 * (rooms_needed(party) - 1)


@pytest.mark.parametrize(
    ("sla", "lead"),
    [(timedelta(hours=24), timedelta(seconds=30)), (timedelta(seconds=60), timedelta(seconds=15))],
)
def test_deadline_run_starts_early_by_at_most_30_seconds(sla: timedelta, lead: timedelta) -> None:
    from domain.group import deadline_run_lead

    assert deadline_run_lead(sla) == lead
