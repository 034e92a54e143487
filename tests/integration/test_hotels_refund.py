"""A cancelled hotel booking's refund: through the gateway in full, once, whatever fails."""

from __future__ import annotations

from typing import Any

import pytest

import tasks.hotels
from domain.errors import AmbiguousOutcome
from tasks.hotels import close_booking, register_booking
from tests.fixtures.hotels import hotel_booking, refund_lines, traveller_paid


@pytest.fixture
def refunds_to(monkeypatch: pytest.MonkeyPatch, group_pg: Any) -> Any:
    """The hotel tasks refund through the sandbox PG (the flow loads the saved document)."""
    monkeypatch.setattr(tasks.hotels, "load_gateway", lambda: group_pg)
    return group_pg


def _paid_booking(pg: Any, booking_no: str, amount: int = 754000) -> str:
    key = traveller_paid(pg.base_url, booking_no, amount)
    register_booking.fn(hotel_booking(booking_no, paid_amount=str(amount), payment_key=key), None)
    return key


def test_sold_out_refunds_in_full_once_and_a_rerun_refunds_nothing(
    db_url: str, refunds_to: Any, booking_no: str
) -> None:
    key = _paid_booking(refunds_to, booking_no)
    first = close_booking.fn(booking_no, "sold_out", "room chart: no rooms on 2027-03-10")
    again = close_booking.fn(booking_no, "sold_out", "room chart: no rooms on 2027-03-10")
    assert first == again == {"status": "sold_out", "refund": "refunded"}
    p = refunds_to.get_payment(key)
    assert p["status"] == "CANCELED"
    assert [c["cancelAmount"] for c in p["cancels"]] == [754000]
    assert p["cancels"][0]["cancelReason"].startswith("예약마감")
    assert refund_lines(booking_no) == [754000, -754000]  # due, then refunded: nets to zero


def test_refund_answered_500_after_acting_is_looked_up_not_repeated(
    db_url: str, refunds_to: Any, pg_faults: Any, booking_no: str
) -> None:
    key = _paid_booking(refunds_to, booking_no, 335000)
    pg_faults("fail_after", f"/v1/payments/{key}/cancel")
    with pytest.raises(AmbiguousOutcome):
        close_booking.fn(booking_no, "cancelled", "ops cancelled")
    assert refund_lines(booking_no) == [335000]  # due; the gateway's answer was lost
    assert close_booking.fn(booking_no, "cancelled", "ops cancelled")["refund"] == "refunded"
    assert len(refunds_to.get_payment(key)["cancels"]) == 1
    assert refund_lines(booking_no) == [335000, -335000]


def test_a_refund_the_gateway_refuses_is_kept_for_ops(
    db_url: str, refunds_to: Any, booking_no: str
) -> None:
    key = _paid_booking(refunds_to, booking_no, 400000)
    refunds_to.cancel(key, 400000, "refunded by hand at the PG", "by-hand-" + booking_no)
    assert close_booking.fn(booking_no, "sold_out", "hotel declined")["refund"] == "refused"
    assert close_booking.fn(booking_no, "sold_out", "hotel declined")["refund"] == "refused"
    assert refund_lines(booking_no) == [400000]  # still due on the ledger, for ops
    b = tasks.hotels.read_booking(booking_no)
    assert b["status_reason"].count("refund refused by the gateway") == 1
    assert b["refund"]["status"] == "refused"


def test_a_booking_paid_outside_the_gateway_leaves_the_refund_due(
    db_url: str, refunds_to: Any, booking_no: str
) -> None:
    register_booking.fn(hotel_booking(booking_no), None)
    assert close_booking.fn(booking_no, "sold_out", "hotel declined")["refund"] == "due"
    assert refund_lines(booking_no) == [754000]
