"""A deposit paid on an order that turned red (supply gone) is refunded in full at once."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pymupdf
from pypdf import PdfReader

import flows.group_booking as group_flow
from domain.group import Supply
from tasks.group_data import load_catalog
from tasks.group_docs import render_itinerary, render_terms
from tasks.group_events import payment_done
from tasks.group_orders import load_order, load_quote, place_order, request_from_payload
from tasks.group_payments import confirm_payment, request_payment
from tests.fixtures.group import customer_pays, group_order_payload


def test_red_at_deposit_time_refunds_in_full(
    prefect_api: str, group_blocks: Any, monkeypatch: Any
) -> None:
    catalog = load_catalog()
    placed = place_order(
        request_from_payload(group_order_payload()), catalog, datetime.now(UTC).date()
    )
    order_no, amount = placed["order_no"], placed["quote"]["deposit_minor"]
    pay = request_payment(order_no, "deposit", amount, "예약금", "김단체")
    customer_pays(group_blocks, pay["payment_key"])
    confirm_payment(pay["payment_key"], pay["pg_order_id"], amount)
    monkeypatch.setattr("tasks.group_events.wake_for_deposit", lambda order_no: None)
    payment_done(pay["payment_key"], amount, "DONE")
    sold_out = replace(
        catalog, supply={**catalog.supply, "YEOSU-NIGHT-2D": {"default": Supply(0, 0, 0)}}
    )
    monkeypatch.setattr(group_flow, "load_catalog", lambda: sold_out)
    result = group_flow.confirm_group_booking(order_no)
    assert result["status"] == "blocked"
    assert result["refunded_minor"] == amount
    order = load_order(order_no)
    assert order["refunded_minor"] == order["paid_minor"] == amount
    assert group_blocks.get_payment(pay["payment_key"])["status"] == "CANCELED"


def test_terms_and_itinerary_render_korean_that_extracts(sqlite_url: str) -> None:
    catalog = load_catalog()
    placed = place_order(
        request_from_payload(group_order_payload()), catalog, datetime.now(UTC).date()
    )
    order = load_order(placed["order_no"])
    product = catalog.products[order["product_code"]]
    for pdf in (
        render_terms(order, load_quote(order["quote_id"]), product),
        render_itinerary(order, product),
    ):
        with pymupdf.open(stream=pdf, filetype="pdf") as doc:
            text = "".join(page.get_text() for page in doc)
        assert placed["order_no"] in text
        assert any(word in text for word in ("전자약관", "여행 일정표"))
        assert "여행자" in text or "예약금" in text
        reader = PdfReader(io.BytesIO(pdf))  # a second, independent extractor
        assert placed["order_no"] in "".join(page.extract_text() for page in reader.pages)
        assert reader.pages[0].extract_text().count("\ufffd") == 0
