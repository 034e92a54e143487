"""The intake API: instant quotes (p95), field errors, blocked orders, webhook signatures."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox.group_pg import sign
from tests.fixtures.group import group_order_payload


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"adults": 4}, "travellers"),
        ({"product": "NO-SUCH-TOUR"}, "product_code"),
        ({"days_ahead": -1}, "departure_date"),
    ],
)
def test_not_a_group_order_is_a_4xx_naming_the_field(
    group_intake: str, change: dict[str, Any], field: str
) -> None:
    r = httpx.post(f"{group_intake}/orders", json=group_order_payload(**change), timeout=10)
    assert r.status_code == 422
    assert r.json()["field"] == field


def test_unparsable_date_names_the_field(group_intake: str) -> None:
    payload = {**group_order_payload(), "departure_date": "2026-13-45"}
    r = httpx.post(f"{group_intake}/orders", json=payload, timeout=10)
    assert r.status_code == 422
    assert r.json()["field"] == "departure_date"


def test_instant_quote_p95_under_200_ms(group_intake: str) -> None:
    timings = []
    with httpx.Client(timeout=10) as client:
        for i in range(40):
            payload = group_order_payload(
                "TONGYEONG-WISH-3D" if i % 2 else "YEOSU-NIGHT-2D",
                options=("WISH-LIGHT", "WISH-THIRD") if i % 2 else ("CABLE-CAR",),
            )
            r = client.post(f"{group_intake}/orders", json=payload)
            assert r.status_code == 201
            timings.append(r.elapsed.total_seconds() * 1000)
            body = r.json()
            assert body["quote"]["deposit_minor"] % 1000 == 0
            if i % 2:
                assert body["light"] == "yellow"
                assert body["quote"]["high_minor"] is None
                assert any("실시간 예상가" in n for n in body["quote"]["notices"])
    timings.sort()
    p95 = timings[int(0.95 * (len(timings) - 1))]
    assert p95 <= 200, f"quote p95 {p95:.0f} ms"
    assert httpx.get(f"{group_intake}/metrics", timeout=5).json()["p95_ms"] <= 200


def test_red_order_is_blocked_and_takes_no_deposit(group_intake: str) -> None:
    r = httpx.post(f"{group_intake}/orders", json=group_order_payload(days_ahead=3), timeout=10)
    assert r.status_code == 201
    order = r.json()
    assert order["light"] == "red"
    assert order["status"] == "blocked"
    assert any("lead time" in reason for reason in order["reasons"])
    d = httpx.post(f"{group_intake}/orders/{order['order_no']}/deposit", timeout=10)
    assert d.status_code == 409
    assert d.json()["status"] == "blocked"


def test_webhook_with_a_bad_signature_is_refused(
    group_intake: str, sandbox: dict[str, Any]
) -> None:
    body = b'{"eventId": "evt_forged", "data": {"status": "DONE"}}'
    r = httpx.post(
        f"{group_intake}/webhooks/pg",
        content=body,
        headers={"X-PG-Signature": sign("not-the-secret", body, 1)},
        timeout=10,
    )
    assert r.status_code == 401


def test_cancelled_order_cannot_be_cancelled_or_paid_again(group_intake: str) -> None:
    r = httpx.post(f"{group_intake}/orders", json=group_order_payload(), timeout=10)
    order_no = r.json()["order_no"]
    c = httpx.post(f"{group_intake}/orders/{order_no}/cancel", timeout=30)
    assert c.status_code == 200
    assert c.json()["status"] == "cancelled"
    assert c.json()["refunded_now_minor"] == 0
    assert httpx.post(f"{group_intake}/orders/{order_no}/cancel", timeout=30).status_code == 409
    assert httpx.post(f"{group_intake}/orders/{order_no}/deposit", timeout=30).status_code == 409
