"""Payment-gateway stand-in in the style of a Korean PG API (Toss Payments-like), over HTTP.

- `POST /v1/payments` (Idempotency-Key): a payment window for an order → `READY`, checkout URL;
- `POST /v1/sandbox/checkout/{paymentKey}/pay`: the customer approves in the window → `IN_PROGRESS`;
- `POST /v1/payments/confirm` (Idempotency-Key): the merchant confirms the amount → `DONE`;
- `POST /v1/payments/{paymentKey}/cancel` (Idempotency-Key): full or partial refund, never more
  than the balance (`NOT_CANCELABLE_AMOUNT`);
- `GET /v1/payments/{paymentKey}`, `GET /v1/payments/orders/{orderId}`: look-ups on ambiguity;
- webhooks `PAYMENT_STATUS_CHANGED` to the merchant's URL, signed
  `X-PG-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, retried on non-2xx;
- `PUT /_sandbox/webhook` sets the merchant's webhook URL (`GET` reads it);
  `POST /_sandbox/webhooks/{id}/replay` sends an event again (replay attacks);
  `/_sandbox/faults` injects failures (sandbox/faults.py).

Authentication is HTTP Basic with the secret key as user name and an empty password.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from sandbox.faults import install_faults
from sandbox.http import start_http
from sandbox.runner import SandboxContext

SECRET_KEY = "test_sk_travelops_group_pg"  # noqa: S105 - the sandbox's published test key
WEBHOOK_SECRET = "whsec_travelops_group_pg_sandbox"  # noqa: S105 - same


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


class PgError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message


class CreatePayment(BaseModel):
    orderId: str = Field(min_length=6, max_length=64)
    amount: int = Field(gt=0)
    orderName: str = ""
    customerName: str = ""


class Confirm(BaseModel):
    paymentKey: str
    orderId: str
    amount: int


class Cancel(BaseModel):
    cancelReason: str
    cancelAmount: int | None = Field(default=None, gt=0)


class WebhookTarget(BaseModel):
    url: str | None


class PgState:
    """The gateway's books: payments, idempotent responses, events (thread-safe)."""

    def __init__(self, secret_key: str, webhook_secret: str) -> None:
        self.secret_key = secret_key
        self.webhook_secret = webhook_secret
        self.webhook_url: str | None = None
        self.payments: dict[str, dict[str, Any]] = {}
        self.by_order: dict[str, str] = {}
        self.idempotent: dict[str, tuple[str, dict[str, Any]]] = {}
        self.events: dict[str, dict[str, Any]] = {}
        self.deliveries: list[dict[str, Any]] = []
        self.lock = threading.RLock()

    def once(self, key: str | None, op: str, fn: Any) -> dict[str, Any]:
        """Same Idempotency-Key, same answer; a key reused for another operation is refused."""
        if not key:
            return dict(fn())
        with self.lock:
            if key in self.idempotent:
                seen_op, answer = self.idempotent[key]
                if seen_op != op:
                    raise PgError(422, "IDEMPOTENCY_KEY_REUSED", f"key used for {seen_op}")
                return answer
            answer = dict(fn())
            self.idempotent[key] = (op, answer)
            return answer


def _now() -> str:
    return datetime.now(UTC).isoformat()


def build_app(state: PgState) -> FastAPI:
    app = FastAPI(title="group payment gateway (sandbox)")
    install_faults(app)
    pending: set[asyncio.Task[None]] = set()

    @app.exception_handler(PgError)
    async def _pg_error(_request: Request, exc: PgError) -> JSONResponse:
        return JSONResponse({"code": exc.code, "message": exc.message}, status_code=exc.status)

    def auth(authorization: str = Header(default="")) -> None:
        expected = "Basic " + base64.b64encode(f"{state.secret_key}:".encode()).decode()
        if not hmac.compare_digest(authorization, expected):
            raise PgError(401, "UNAUTHORIZED_KEY", "secret key is wrong")

    def payment(key: str) -> dict[str, Any]:
        p = state.payments.get(key)
        if p is None:
            raise PgError(404, "NOT_FOUND_PAYMENT", f"payment {key} not found")
        return p

    def emit(event_type: str, p: dict[str, Any]) -> None:
        event = {
            "eventId": f"evt_{uuid.uuid4().hex}",
            "eventType": event_type,
            "createdAt": _now(),
            "data": json.loads(json.dumps(p)),
        }
        state.events[event["eventId"]] = event
        task = asyncio.get_running_loop().create_task(deliver(event))
        pending.add(task)
        task.add_done_callback(pending.discard)

    async def deliver(event: dict[str, Any]) -> None:
        url = state.webhook_url
        if not url:
            return
        body = json.dumps(event, ensure_ascii=False).encode()
        for attempt in range(4):
            ts = int(time.time())
            headers = {
                "Content-Type": "application/json",
                "X-PG-Signature": sign(state.webhook_secret, body, ts),
            }
            status: int | str
            try:
                async with httpx.AsyncClient(timeout=10) as client:
                    r = await client.post(url, content=body, headers=headers)
                status = r.status_code
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            state.deliveries.append(
                {"eventId": event["eventId"], "attempt": attempt, "status": status}
            )
            if isinstance(status, int) and status < 300:
                return
            await asyncio.sleep(0.5 * 2**attempt)

    @app.post("/v1/payments", dependencies=[Depends(auth)])
    def create(req: CreatePayment, idempotency_key: str | None = Header(default=None)) -> Any:
        def make() -> dict[str, Any]:
            with state.lock:
                if req.orderId in state.by_order:
                    raise PgError(409, "DUPLICATED_ORDER_ID", f"orderId {req.orderId} exists")
                key = f"pay_{uuid.uuid4().hex[:20]}"
                p = {
                    "paymentKey": key,
                    "orderId": req.orderId,
                    "orderName": req.orderName,
                    "status": "READY",
                    "totalAmount": req.amount,
                    "balanceAmount": req.amount,
                    "currency": "KRW",
                    "method": "카드",
                    "requestedAt": _now(),
                    "approvedAt": None,
                    "cancels": [],
                    "checkout": {"url": f"/v1/sandbox/checkout/{key}"},
                }
                state.payments[key] = p
                state.by_order[req.orderId] = key
                return p

        return state.once(idempotency_key, "create", make)

    @app.post("/v1/sandbox/checkout/{payment_key}/pay")
    async def pay(payment_key: str) -> Any:
        """The customer approves in the payment window (card authorisation)."""
        with state.lock:
            p = payment(payment_key)
            if p["status"] not in ("READY", "IN_PROGRESS"):
                raise PgError(400, "ALREADY_PROCESSED_PAYMENT", f"payment is {p['status']}")
            changed = p["status"] == "READY"
            p["status"] = "IN_PROGRESS"
        if changed:
            emit("PAYMENT_STATUS_CHANGED", p)
        return p

    @app.post("/v1/payments/confirm", dependencies=[Depends(auth)])
    async def confirm(req: Confirm, idempotency_key: str | None = Header(default=None)) -> Any:
        def do() -> dict[str, Any]:
            with state.lock:
                p = payment(req.paymentKey)
                if p["orderId"] != req.orderId or p["totalAmount"] != req.amount:
                    raise PgError(400, "INVALID_REQUEST", "orderId or amount does not match")
                if p["status"] == "DONE":
                    return p
                if p["status"] != "IN_PROGRESS":
                    raise PgError(400, "NOT_AUTHORIZED_PAYMENT", f"payment is {p['status']}")
                p["status"], p["approvedAt"] = "DONE", _now()
                return dict(p)

        before = payment(req.paymentKey)["status"]
        answer = state.once(idempotency_key, "confirm", do)
        if before != "DONE" and payment(req.paymentKey)["status"] == "DONE":
            emit("PAYMENT_STATUS_CHANGED", payment(req.paymentKey))
        return answer

    @app.post("/v1/payments/{payment_key}/cancel", dependencies=[Depends(auth)])
    async def cancel(
        payment_key: str, req: Cancel, idempotency_key: str | None = Header(default=None)
    ) -> Any:
        def do() -> dict[str, Any]:
            with state.lock:
                p = payment(payment_key)
                if p["status"] not in ("DONE", "PARTIAL_CANCELED"):
                    raise PgError(400, "NOT_CANCELABLE_PAYMENT", f"payment is {p['status']}")
                amount = req.cancelAmount or p["balanceAmount"]
                if amount > p["balanceAmount"]:
                    raise PgError(
                        400,
                        "NOT_CANCELABLE_AMOUNT",
                        f"cancelAmount {amount} > balanceAmount {p['balanceAmount']}",
                    )
                p["balanceAmount"] -= amount
                p["status"] = "CANCELED" if p["balanceAmount"] == 0 else "PARTIAL_CANCELED"
                p["cancels"].append(
                    {
                        "transactionKey": f"tx_{uuid.uuid4().hex[:16]}",
                        "cancelAmount": amount,
                        "cancelReason": req.cancelReason,
                        "idempotencyKey": idempotency_key,
                        "canceledAt": _now(),
                    }
                )
                return json.loads(json.dumps(p))

        n = len(payment(payment_key)["cancels"])
        answer = state.once(idempotency_key, "cancel", do)
        if len(payment(payment_key)["cancels"]) > n:
            emit("PAYMENT_STATUS_CHANGED", payment(payment_key))
        return answer

    @app.get("/v1/payments/orders/{order_id}", dependencies=[Depends(auth)])
    def by_order(order_id: str) -> Any:
        key = state.by_order.get(order_id)
        if key is None:
            raise PgError(404, "NOT_FOUND_PAYMENT", f"no payment for orderId {order_id}")
        return payment(key)

    @app.get("/v1/payments/{payment_key}", dependencies=[Depends(auth)])
    def get(payment_key: str) -> Any:
        return payment(payment_key)

    @app.get("/_sandbox/webhook")
    def get_webhook() -> dict[str, Any]:
        return {"url": state.webhook_url}

    @app.put("/_sandbox/webhook")
    def set_webhook(target: WebhookTarget) -> dict[str, Any]:
        state.webhook_url = target.url
        return {"url": state.webhook_url}

    @app.get("/_sandbox/webhooks")
    def list_events() -> dict[str, Any]:
        return {"events": list(state.events.values()), "deliveries": state.deliveries}

    @app.post("/_sandbox/webhooks/{event_id}/replay")
    async def replay(event_id: str) -> dict[str, Any]:
        event = state.events.get(event_id)
        if event is None:
            raise HTTPException(404, f"no event {event_id}")
        await deliver(event)
        return {"replayed": event_id}

    @app.get("/_sandbox/payments")
    def all_payments() -> list[dict[str, Any]]:
        return list(state.payments.values())

    @app.post("/_sandbox/payments", status_code=201)
    def paid_payment(req: CreatePayment) -> dict[str, Any]:
        """A payment the traveller already made in the web shop (DONE, no webhook): what a
        hotel booking arrives with."""
        made = create(req, idempotency_key=f"sandbox-paid:{req.orderId}")
        with state.lock:
            p = state.payments[made["paymentKey"]]
            if p["status"] == "READY":
                p["status"], p["approvedAt"] = "DONE", _now()
            return dict(p)

    return app


def record_paid_payment(base_url: str, order_id: str, amount: int, customer: str) -> str:
    """Client of `POST /_sandbox/payments`: a payment already made; returns its paymentKey."""
    r = httpx.post(f"{base_url}/_sandbox/payments", timeout=10,
                   json={"orderId": order_id, "amount": amount,
                         "orderName": "호텔 예약", "customerName": customer})  # fmt: skip
    r.raise_for_status()
    return str(r.json()["paymentKey"])


def list_payments(base_url: str) -> list[dict[str, Any]]:
    """Client of `GET /_sandbox/payments`: every payment the sandbox PG holds."""
    r = httpx.get(f"{base_url}/_sandbox/payments", timeout=10)
    r.raise_for_status()
    return list(r.json())


async def start_group_pg(ctx: SandboxContext, stack: AsyncExitStack, port: int) -> dict[str, Any]:
    state = PgState(
        str(ctx.options.get("group_pg_secret_key", SECRET_KEY)),
        str(ctx.options.get("group_pg_webhook_secret", WEBHOOK_SECRET)),
    )
    bound = await start_http(stack, build_app(state), ctx.host, port)
    return {
        "port": bound,
        "url": f"http://{ctx.host}:{bound}",
        "secret_key": state.secret_key,
        "webhook_secret": state.webhook_secret,
    }
