"""The group-order intake API: instant quote, deposit request, the PG's signed webhooks.

`travelops group intake --port 8745` serves it (the demo and the test fixtures start it).

- `POST /orders` → 201 with the quote (range + notice while any price is v0), the traffic light
  and the order number; 422 naming the field for < 5 travellers, unknown products, bad dates.
- `GET /orders/{order_no}` → status, money paid/refunded, the SLA countdown while waiting.
- `POST /orders/{order_no}/deposit` → opens the deposit at the payment gateway and starts the
  order's `confirm-group-booking` run (which waits, suspended, for the payment); 409 when blocked.
- `POST /orders/{order_no}/cancel` → cancels (quoted or confirmed) and refunds what was paid.
- `POST /webhooks/pg` → verifies `X-PG-Signature`, ignores replays, records the payment and
  resumes the order's run.
- `GET /metrics` → quote latency p50/p95 (ms) over the requests served.
"""

from __future__ import annotations

import statistics
import threading
import time
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse

from domain.errors import BusinessRuleError, InvalidInput
from domain.group import countdown
from tasks.group_data import load_catalog
from tasks.group_orders import (
    attach_flow_run,
    load_order,
    load_quote,
    place_order,
    request_from_payload,
    set_status,
)
from tasks.group_payments import load_gateway, request_payment


def _field_error(exc: InvalidInput) -> JSONResponse:
    return JSONResponse(
        {
            "error": "invalid_input",
            "field": exc.field,
            "value": _jsonable(exc.value),
            "reason": exc.reason,
            "message": str(exc),
        },
        status_code=422,
    )


def _jsonable(value: Any) -> Any:
    return (
        value if isinstance(value, (str, int, float, bool, type(None), list, dict)) else str(value)
    )


def build_app() -> FastAPI:
    app = FastAPI(title="travelops group intake")
    latencies: list[float] = []
    lock = threading.Lock()

    @app.exception_handler(InvalidInput)
    async def _invalid(_r: Request, exc: InvalidInput) -> JSONResponse:
        return _field_error(exc)

    @app.exception_handler(BusinessRuleError)
    async def _refused(_r: Request, exc: BusinessRuleError) -> JSONResponse:
        return JSONResponse({"error": type(exc).__name__, "message": str(exc)}, status_code=409)

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"ok": True}

    @app.post("/orders", status_code=201)
    def create_order(payload: dict[str, Any]) -> dict[str, Any]:
        started = time.perf_counter()
        req = request_from_payload(payload)
        placed = place_order(req, load_catalog(), datetime.now(UTC).date(), payload.get("company"))
        elapsed = (time.perf_counter() - started) * 1000
        with lock:
            latencies.append(elapsed)
        return {**placed, "quote_ms": round(elapsed, 1)}

    @app.get("/orders/{order_no}")
    def get_order(order_no: str) -> dict[str, Any]:
        order = load_order(order_no)
        if order["status"] == "awaiting_ops" and order["deadline_at"]:
            deadline = datetime.fromisoformat(order["deadline_at"])
            order["countdown"] = countdown(datetime.now(UTC), deadline)
        return order

    @app.post("/orders/{order_no}/deposit")
    def request_deposit(order_no: str) -> Any:
        order = load_order(order_no)
        if order["status"] != "quoted":
            return JSONResponse(
                {
                    "error": "not_payable",
                    "field": "order_no",
                    "status": order["status"],
                    "reasons": order["light_reasons"],
                    "message": f"order {order_no} is {order['status']}: no deposit is taken",
                },
                status_code=409,
            )
        quote = load_quote(order["quote_id"])
        payment = request_payment(
            order_no,
            "deposit",
            quote.deposit_minor,
            f"단체 예약금 {order_no}",
            order["contact"].get("name", ""),
        )
        if not order["flow_run_id"]:
            from tasks.group_events import start_order_run

            attach_flow_run(order_no, start_order_run(order_no))
        return {**payment, "deposit_minor": quote.deposit_minor}

    @app.post("/orders/{order_no}/cancel")
    def cancel_order(order_no: str, reason: str = "customer request") -> Any:
        """Cancel a quoted or confirmed order: refund what was paid; no voucher is sent after."""
        from tasks.group_payments import refund_payments

        won = set_status(order_no, "cancelled", actor="customer", reason=reason)
        if not won:
            order = load_order(order_no)
            return JSONResponse(
                {
                    "error": "not_cancellable",
                    "field": "order_no",
                    "status": order["status"],
                    "message": f"order {order_no} is {order['status']}",
                },
                status_code=409,
            )
        refund = refund_payments(order_no, f"cancelled: {reason}")
        return {**load_order(order_no), "refunded_now_minor": refund["refunded_minor"]}

    @app.post("/webhooks/pg")
    async def pg_webhook(request: Request, x_pg_signature: str = Header(default="")) -> Any:
        body = await request.body()
        try:
            event = load_gateway().verify_webhook(body, x_pg_signature)
        except InvalidInput as exc:
            return JSONResponse({"error": "bad_signature", "message": str(exc)}, status_code=401)
        from starlette.concurrency import run_in_threadpool

        from tasks.group_events import handle_pg_event

        return await run_in_threadpool(handle_pg_event, event)

    @app.get("/metrics")
    def metrics() -> dict[str, Any]:
        with lock:
            data = sorted(latencies)
        if not data:
            return {"quotes": 0}
        p95 = data[min(len(data) - 1, round(0.95 * (len(data) - 1)))]
        return {
            "quotes": len(data),
            "p50_ms": round(statistics.median(data), 1),
            "p95_ms": round(p95, 1),
        }

    return app


def serve(host: str, port: int) -> None:
    import uvicorn

    load_catalog()  # read the reference data before the first order arrives
    uvicorn.run(build_app(), host=host, port=port, log_level="warning", access_log=False)
