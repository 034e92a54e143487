"""Deposits and refunds through the PG sandbox: idempotency keys, injected faults, row locks."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from blocks.group_pg import WebhookRejected
from db.models.core import SideEffect
from db.models.group import GroupPayment
from db.session import session_scope
from domain.errors import AmbiguousOutcome
from sandbox.group_pg import sign
from tasks.group_data import load_catalog
from tasks.group_orders import place_order, request_from_payload
from tasks.group_payments import confirm_payment, mark_paid, refund_payments, request_payment
from tests.fixtures.group import customer_pays, group_order_payload


def _paid_order(pg: Any) -> tuple[str, str, int]:
    placed = place_order(
        request_from_payload(group_order_payload()), load_catalog(), datetime.now(UTC).date()
    )
    order_no, amount = placed["order_no"], placed["quote"]["deposit_minor"]
    req = request_payment(order_no, "deposit", amount, "여수 단체 예약금", "김단체")
    customer_pays(pg, req["payment_key"])
    done = confirm_payment(req["payment_key"], req["pg_order_id"], amount)
    assert done["status"] == "DONE"
    mark_paid(req["payment_key"], datetime.now(UTC), amount)
    return order_no, req["payment_key"], amount


def test_deposit_then_full_refund_exactly_once(db_url: str, group_blocks: Any) -> None:
    order_no, payment_key, amount = _paid_order(group_blocks)
    first = refund_payments(order_no, "SLA 만료")
    again = refund_payments(order_no, "SLA 만료")
    assert first["refunded_minor"] == amount
    assert again["refunded_minor"] == amount  # the same refund, replayed
    p = group_blocks.get_payment(payment_key)
    assert p["status"] == "CANCELED"
    assert len(p["cancels"]) == 1
    with session_scope() as s:
        rows = s.scalars(select(GroupPayment).where(GroupPayment.order_no == order_no)).all()
        assert sorted((r.kind, r.status) for r in rows) == [
            ("deposit", "paid"),
            ("refund", "refunded"),
        ]


def test_refund_answered_500_after_acting_is_looked_up_not_repeated(
    db_url: str, group_blocks: Any, pg_faults: Any
) -> None:
    order_no, payment_key, amount = _paid_order(group_blocks)
    pg_faults("fail_after", f"/v1/payments/{payment_key}/cancel")
    with pytest.raises(AmbiguousOutcome):
        refund_payments(order_no, "거절")
    result = refund_payments(order_no, "거절")  # the retry asks the PG first
    assert result["refunded_minor"] == amount
    assert len(group_blocks.get_payment(payment_key)["cancels"]) == 1


def test_pg_down_before_payment_is_retried(db_url: str, group_blocks: Any, pg_faults: Any) -> None:
    placed = place_order(
        request_from_payload(group_order_payload()), load_catalog(), datetime.now(UTC).date()
    )
    pg_faults("fail_before", "/v1/payments", status=503)
    with pytest.raises(AmbiguousOutcome):  # a 5xx on a POST: the outcome is unknown
        request_payment(placed["order_no"], "deposit", 1000, "예약금", "김단체")
    ok = request_payment(placed["order_no"], "deposit", 1000, "예약금", "김단체")
    assert ok["payment_key"].startswith("pay_")
    with session_scope() as s:
        effect = s.get(SideEffect, f"group-deposit:{placed['order_no']}")
        assert effect is not None
        assert effect.attempts == 2


def test_concurrent_refunds_never_exceed_what_was_paid(db_url: str, group_blocks: Any) -> None:
    order_no, payment_key, amount = _paid_order(group_blocks)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: refund_payments(order_no, "동시 환불"), range(4)))
    assert {r["refunded_minor"] for r in results} == {amount}
    p = group_blocks.get_payment(payment_key)
    assert p["balanceAmount"] == 0
    assert sum(c["cancelAmount"] for c in p["cancels"]) == amount


def test_webhook_signature_is_verified(group_pg: Any) -> None:
    body = b'{"eventId": "evt_1", "data": {}}'
    now = int(time.time())
    secret = group_pg.webhook_secret.get_secret_value()
    assert group_pg.verify_webhook(body, sign(secret, body, now))["eventId"] == "evt_1"
    with pytest.raises(WebhookRejected):
        group_pg.verify_webhook(body + b" ", sign(secret, body, now))
    with pytest.raises(WebhookRejected):
        group_pg.verify_webhook(body, sign("wrong", body, now))
    with pytest.raises(WebhookRejected):
        group_pg.verify_webhook(body, sign(secret, body, now - 3600))


def test_pg_refuses_to_refund_more_than_the_balance(group_pg: Any) -> None:
    p = group_pg.create_payment("T-OVER-1", 5000, "t", "t", "k-over-1")
    customer_pays(group_pg, p["paymentKey"])
    group_pg.confirm(p["paymentKey"], "T-OVER-1", 5000, "k-over-1c")
    from blocks.http import ProviderRefused

    with pytest.raises(ProviderRefused) as err:
        group_pg.cancel(p["paymentKey"], 6000, "too much", "k-over-1r")
    assert err.value.code == "NOT_CANCELABLE_AMOUNT"
