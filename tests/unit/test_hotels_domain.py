"""Hotel VCC rules: contract rates, the sale check, statuses, hotel replies, vouchers, dashboard."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.fx import FxRate
from domain.hotels import (
    AWAITING_CHARGE,
    BOOKING_MACHINE,
    CANCELLED,
    COMPLETED,
    CONFIRMING,
    NEEDS_REVIEW,
    RECEIVED,
    SOLD_OUT,
    STATUS_LABELS,
    ChartDay,
    MissingHotelFx,
    card_amount,
    card_expired,
    check_room_chart,
    contains_amount,
    extract_confirmation_number,
    find_booking_numbers,
    is_price_text,
    mail_recipients,
    open_bookings_table,
    parse_booking,
    parse_hotel,
    parse_hotels,
    quote_stay,
    read_reply,
    reconcile_charge,
    reconcile_sale,
    render_open_bookings,
    reply_deadlines,
)
from domain.money import Money
from domain.states import IllegalTransition

HOTELS = parse_hotels(json.loads((Path(__file__).parents[2] / "data" / "hotels.json").read_text()))
PAID_AT = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
USD_KRW = FxRate.parse("USD", "KRW", "1395.50", date(2026, 11, 1))


def booking(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "booking_no": "BK-20261120-0001",
        "hotel_code": "GUM-HBR",
        "room_type": "DLX",
        "check_in": "2027-03-10",
        "check_out": "2027-03-13",
        "guests": [{"name": "KIM MINJI"}, {"name": "LEE JUNHO"}, {"name": "KIM SEOA"}],
        "paid_amount": "1000000",
        "paid_currency": "KRW",
        "paid_at": PAID_AT.isoformat(),
        "breakfast": True,
    }
    doc.update(over)
    return doc


def test_every_flag_is_in_the_example_hotels() -> None:
    flags = {f for h in HOTELS.values() for f in ("room_chart", "vnd", "inquiry_first",
             "split_delivery") if getattr(h, f)}  # fmt: skip
    assert flags == {"room_chart", "vnd", "inquiry_first", "split_delivery"}
    assert any(h.cc_required == 3 and len(h.cc_emails) == 3 for h in HOTELS.values())
    assert {h.reply_limit_days for h in HOTELS.values()} >= {2, 6}
    assert all(h.reservation_email.endswith(".example.com") for h in HOTELS.values())


@pytest.mark.parametrize(
    ("over", "expected_total"),
    [
        # 3 nights × (180 + 1 extra × 35 + breakfast 3 × 22) = 3 × 281 = 843
        ({}, "843.00"),
        ({"breakfast": False}, "645.00"),  # 3 × (180 + 35)
        ({"guests": [{"name": "A"}, {"name": "B"}], "breakfast": False}, "540.00"),
        # across the peak season boundary: 2026-12-19 regular, 12-20 and 12-21 peak
        (
            {
                "check_in": "2026-12-19",
                "check_out": "2026-12-22",
                "breakfast": False,
                "guests": [{"name": "A"}, {"name": "B"}],
            },
            "640.00",
        ),
    ],
)
def test_contract_rate_nightly_extra_person_breakfast(
    over: dict[str, Any], expected_total: str
) -> None:
    hotel = HOTELS["GUM-HBR"]
    quote = quote_stay(hotel, parse_booking(booking(**over), HOTELS))
    assert quote.total == Money.of_exact(expected_total, "USD")
    assert sum(ln.total.amount_minor for ln in quote.lines) == quote.total.amount_minor


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"hotel_code": "NOPE"}, "hotel_code"),
        ({"check_out": "2027-03-10"}, "check_out"),
        ({"check_out": "2027-03-09"}, "check_out"),
        ({"room_type": "PENTHOUSE"}, "room_type"),
        ({"booking_no": "12345"}, "booking_no"),
        ({"guests": []}, "guests"),
        ({"guests": [{"name": " "}]}, "guests[0].name"),
        ({"paid_amount": "abc"}, "paid_amount"),
        ({"paid_at": "2026-11-20T03:00:00"}, "paid_at"),
        ({"check_in": "2026-13-01"}, "check_in"),
        ({"payment_key": "x"}, "payment_key"),
        ({"payment_key": 12345678}, "payment_key"),
        ({"payment_key": "pay_0123456789", "paid_currency": "USD"}, "paid_currency"),
    ],
)
def test_bad_intake_names_the_field(over: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_booking(booking(**over), HOTELS)
    assert err.value.field == field


def test_a_night_without_a_contract_rate_is_refused_naming_the_night() -> None:
    req = parse_booking(booking(check_in="2028-12-30", check_out="2029-01-02"), HOTELS)
    with pytest.raises(InvalidInput, match="2029-01-01") as err:
        quote_stay(HOTELS["GUM-HBR"], req)
    assert err.value.field == "check_in"


def test_too_many_guests_for_the_room() -> None:
    req = parse_booking(booking(guests=[{"name": n} for n in "ABCD"]), HOTELS)
    with pytest.raises(InvalidInput) as err:
        quote_stay(HOTELS["GUM-HBR"], req)
    assert err.value.field == "guests"


def test_sale_reconciled_at_payment_fx_within_tolerance() -> None:
    # 843.00 USD × 1395.50 = 1,176,406.5 → floor 1,176,406 KRW
    check = reconcile_sale(Money.of_exact("843.00", "USD"), Money(1_180_000, "KRW"), USD_KRW)
    assert check.ok
    assert check.supply_cost_krw == Money(1_176_406, "KRW")
    assert check.difference_krw == Money(3_594, "KRW")


def test_sale_mismatch_beyond_tolerance_stops() -> None:
    check = reconcile_sale(Money.of_exact("843.00", "USD"), Money(1_000_000, "KRW"), USD_KRW)
    assert not check.ok
    assert "amount mismatch" in check.reason


def test_sale_paid_in_the_hotel_currency_and_in_a_third_currency() -> None:
    assert reconcile_sale(
        Money.of_exact("843.00", "USD"), Money.of_exact("843.00", "USD"), USD_KRW
    ).ok
    with pytest.raises(InvalidInput) as err:
        reconcile_sale(Money.of_exact("843.00", "USD"), Money.of_exact("800.00", "EUR"), USD_KRW)
    assert err.value.field == "paid_currency"
    assert "currency mismatch" in str(err.value)


@given(st.integers(min_value=1, max_value=10**9), st.integers(min_value=1, max_value=10**7))
def test_supply_cost_never_gains_a_won(total_cents: int, paid: int) -> None:
    check = reconcile_sale(Money(total_cents, "USD"), Money(paid, "KRW"), USD_KRW)
    exact = Decimal(total_cents) / 100 * Decimal("1395.50")
    assert check.supply_cost_krw.amount_minor <= exact < check.supply_cost_krw.amount_minor + 1


def test_vnd_hotel_waits_for_the_daily_rate_then_converts() -> None:
    hotel = HOTELS["DAD-LTS"]
    req = parse_booking(
        booking(hotel_code="DAD-LTS", room_type="SUP", breakfast=False,
                guests=[{"name": "A"}, {"name": "B"}]), HOTELS,
    )  # fmt: skip
    quote = quote_stay(hotel, req)
    assert quote.total == Money.of_exact("255.00", "USD")
    with pytest.raises(MissingHotelFx):
        card_amount(hotel, quote, None)
    rate = FxRate.parse("USD", "VND", "25410.5", date(2026, 11, 20), "hotel e-mail")
    assert card_amount(hotel, quote, rate) == Money(6_479_677, "VND")  # 6,479,677.5 floored
    assert card_amount(HOTELS["GUM-HBR"], quote, None) == quote.total


def test_room_chart_stop_sell_and_no_rooms() -> None:
    chart = {
        date(2027, 2, 14): ChartDay(date(2027, 2, 14), 0),
        date(2027, 2, 15): ChartDay(date(2027, 2, 15), 2, stop_sell=True),
    }
    assert check_room_chart([date(2027, 2, 12), date(2027, 2, 13)], chart, 4) == (True, "")
    ok, reason = check_room_chart([date(2027, 2, 13), date(2027, 2, 14)], chart, 4)
    assert not ok
    assert "no rooms left on 2027-02-14" in reason
    ok, reason = check_room_chart([date(2027, 2, 15)], chart, 4)
    assert not ok
    assert "stop-sell" in reason


def test_cc_rules_exactly_three_and_split_delivery() -> None:
    _to, cc = mail_recipients(HOTELS["GUM-TRP"], "sheet")
    assert len(cc) == 3
    doc = {"code": "X", "name": "X", "currency": "USD", "reservation_email": "r@x.example.com",
           "cc_emails": ["a@x.example.com"], "cc_required": 3}  # fmt: skip
    with pytest.raises(InvalidInput) as err:
        parse_hotel(doc)
    assert err.value.field == "hotels[X].cc_emails"
    assert mail_recipients(HOTELS["HNL-SOL"], "card") == (["cuentas@solwaikiki.example.com"], [])
    assert mail_recipients(HOTELS["GUM-HBR"], "card")[0] == [
        "reservations@harborplaza-guam.example.com"
    ]


def test_status_machine_follows_the_spec() -> None:
    assert STATUS_LABELS[CONFIRMING] == "컨펌중"
    assert STATUS_LABELS[AWAITING_CHARGE] == "VCC중"
    assert STATUS_LABELS[COMPLETED] == "완료"
    assert STATUS_LABELS[CANCELLED] == "취소"
    assert STATUS_LABELS[SOLD_OUT] == "예약마감"
    BOOKING_MACHINE.check(RECEIVED, CONFIRMING)
    BOOKING_MACHINE.check(CONFIRMING, AWAITING_CHARGE)
    BOOKING_MACHINE.check(AWAITING_CHARGE, COMPLETED)
    BOOKING_MACHINE.check(CONFIRMING, SOLD_OUT)
    BOOKING_MACHINE.check(NEEDS_REVIEW, CONFIRMING)
    for bad in [(COMPLETED, CONFIRMING), (SOLD_OUT, AWAITING_CHARGE), (RECEIVED, COMPLETED)]:
        with pytest.raises(IllegalTransition):
            BOOKING_MACHINE.check(*bad)


OPEN = ["BK-20261120-0001", "BK-20261120-0002"]

REPLIES = [
    # (subject, body, kind, booking, confirmation)
    ("Re: Booking sheet BK-20261120-0001", "Dear team,\nWe are pleased to confirm. "
     "Confirmation No: HP78812\nBest regards", "confirmed", OPEN[0], "HP78812"),
    ("RE: [travelops] 부킹시트 BK-20261120-0002", "안녕하세요.\n예약 확정되었습니다.\n"
     "확인번호: 55120-KR\n감사합니다.", "confirmed", OPEN[1], "55120-KR"),
    ("Your reservation", "Hello,\nbooking BK20261120-0001 is confirmed, confirmation number "
     "is 99812.\n\nOn Fri, Nov 20, 2026 at 10:00 hoteldesk wrote:\n> Booking BK-20261120-0001\n"
     "> Total USD 843.00", "confirmed", OPEN[0], "99812"),
    ("Fwd: confirmation", "FYI see below\n\n---------- Forwarded message ---------\n"
     "From: reservas@solwaikiki.example.com\nSubject: Re: BK-20261120-0002\n\n"
     "Confirmed. Conf# SW-4471", "confirmed", OPEN[1], "SW-4471"),
    ("Re: Booking sheet BK-20261120-0001", "We regret to inform you that we are fully booked "
     "on these dates.", "declined", OPEN[0], None),
    ("회신: 부킹시트 BK-20261120-0002", "죄송합니다. 해당 날짜는 만실입니다.\n\n> 예약번호 "
     "BK-20261120-0002", "declined", OPEN[1], None),
    ("Re: Room inquiry BK-20261120-0001", "Yes, rooms are available. Please send the sheet.",
     "available", OPEN[0], None),
    ("Re: hello", "Thank you for your e-mail.", "unclear", None, None),
    ("Re: BK-20261120-0001 and BK-20261120-0002", "Both confirmed: 1234, 5678", "unclear",
     None, None),
    ("Re: Booking sheet BK-20261120-0999", "Confirmation No: 11111", "unclear", None, None),
]  # fmt: skip


@pytest.mark.parametrize(("subject", "body", "kind", "booking_no", "conf"), REPLIES)
def test_replies_in_english_and_korean_forwarded_and_quoted(
    subject: str, body: str, kind: str, booking_no: str | None, conf: str | None
) -> None:
    reading = read_reply(subject, body, OPEN)
    assert (reading.kind, reading.booking_no, reading.confirmation_no) == (kind, booking_no, conf)


def test_our_own_booking_number_is_never_taken_for_the_confirmation_number() -> None:
    text = "Confirmation for BK-20261120-0001\nConfirmation number: 77123"
    assert extract_confirmation_number(text, "BK-20261120-0001") == "77123"
    assert find_booking_numbers("Re: BK-20261120-0001", "> bk 20261120 0002") == OPEN


def test_voucher_price_text() -> None:
    assert is_price_text("Total: USD 843.00")
    assert is_price_text("객실 요금 합계")
    assert contains_amount("1,250,000 VND")
    assert not is_price_text("Guest: KIM MINJI  Check-in 2027-03-10")


def test_reminder_at_half_limit_and_escalation_at_limit() -> None:
    sent = datetime(2026, 11, 20, tzinfo=UTC)
    d = reply_deadlines(sent, 4, timedelta(days=1))
    assert d.reminder_at == sent + timedelta(days=2)
    assert d.escalate_at == sent + timedelta(days=4)
    assert reply_deadlines(sent, 2, timedelta(seconds=3)).escalate_at == sent + timedelta(seconds=6)


def test_charge_reconciliation_and_expiry() -> None:
    card = Money.of_exact("843.00", "USD")
    assert reconcile_charge(card, [Money.of_exact("843.00", "USD")]).ok
    assert reconcile_charge(card, [Money.of_exact("400.00", "USD"), Money(44300, "USD")]).ok
    assert "amount mismatch" in reconcile_charge(card, [Money(90000, "USD")]).reason
    assert "currency mismatch" in reconcile_charge(card, [Money(843, "KRW")]).reason
    assert not reconcile_charge(card, []).ok
    assert not card_expired(date(2027, 3, 13), date(2027, 3, 16), 3)
    assert card_expired(date(2027, 3, 13), date(2027, 3, 17), 3)
    assert not card_expired(date(2027, 3, 13), date(2027, 4, 1), 3, charged=True)


def test_dashboard_marks_overdue_hotels() -> None:
    now = datetime(2026, 11, 23, tzinfo=UTC)
    rows = [
        {"booking_no": "BK-1", "hotel_code": "GUM-HBR", "status": CONFIRMING,
         "since": now - timedelta(days=3), "reply_limit_days": 2},
        {"booking_no": "BK-2", "hotel_code": "HNL-SOL", "status": CONFIRMING,
         "since": now - timedelta(days=3), "reply_limit_days": 6},
        {"booking_no": "BK-3", "hotel_code": "GUM-HBR", "status": COMPLETED,
         "since": now, "reply_limit_days": 2},
    ]  # fmt: skip
    table = open_bookings_table(rows, now)
    assert [(r.booking_no, r.overdue) for r in table] == [("BK-1", True), ("BK-2", False)]
    md = render_open_bookings(table, now)
    assert "OVERDUE" in md
    assert "컨펌중" in md
    assert "BK-3" not in md
