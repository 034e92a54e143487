"""Gift vouchers: one per traveller, exactly once across retries and faults; none if cancelled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from domain.errors import AmbiguousOutcome
from domain.group import plan_vouchers
from tasks.group_data import load_catalog
from tasks.group_notify import plan_voucher_rows, send_due_vouchers
from tasks.group_orders import (
    load_order,
    place_order,
    request_from_payload,
    request_of,
    set_status,
    vouchers_of,
)
from tests.fixtures.group import group_order_payload


def _confirmed_order(
    product: str = "YEOSU-NIGHT-2D", options: tuple[str, ...] = ()
) -> dict[str, Any]:
    catalog = load_catalog()
    payload = group_order_payload(product, options=options)
    today = datetime.now(UTC).date()
    placed = place_order(request_from_payload(payload), catalog, today)
    order_no = placed["order_no"]
    for status in ("deposit_paid", "auto_confirmed", "confirmed"):
        assert set_status(order_no, status)
    order = load_order(order_no)
    plans = plan_vouchers(
        catalog.products[product],
        request_of(order).travellers,
        request_of(order).departure_date,
        today,
    )
    assert plan_voucher_rows(order_no, plans) == 6
    assert plan_voucher_rows(order_no, plans) == 0  # planned once
    return order


def test_vouchers_sent_once_each_even_when_the_sender_fails_after_acting(
    sqlite_url: str, group_blocks: Any, group_kakao: Any
) -> None:
    order = _confirmed_order()
    httpx.post(
        f"{group_kakao.base_url}/_sandbox/faults",
        json={"mode": "fail_after", "path_prefix": "/v2/messages", "count": 1},
        timeout=5,
    ).raise_for_status()
    today = datetime.now(UTC).date()
    with pytest.raises(AmbiguousOutcome):
        send_due_vouchers(order["order_no"], today, "confirmation")
    result = send_due_vouchers(order["order_no"], today, "confirmation")
    again = send_due_vouchers(order["order_no"], today, "confirmation")
    assert result["sent"] == 6  # the first was sent in the failed attempt: found, not resent
    assert again["sent"] == 0
    for t in order["travellers"]:
        got = [
            m
            for m in group_kakao.sent_to(t["mobile"])
            if m["template"] == "GIFT_VOUCHER" and order["order_no"] in m["key"]
        ]
        assert len(got) == 1
    assert {v["status"] for v in vouchers_of(order["order_no"])} == {"sent"}


def test_no_voucher_after_a_cancellation(
    sqlite_url: str, group_blocks: Any, group_kakao: Any
) -> None:
    order = _confirmed_order("TONGYEONG-WISH-3D")  # trigger: departure
    assert set_status(order["order_no"], "cancelled", actor="ops:kim", reason="customer cancelled")
    departure = datetime.now(UTC).date() + timedelta(days=60)
    result = send_due_vouchers(order["order_no"], departure, "departure")
    assert result["sent"] == 0
    assert result["voided"] == 6
    for t in order["travellers"]:
        assert not [m for m in group_kakao.sent_to(t["mobile"]) if order["order_no"] in m["key"]]
