"""A virtual-card issuer on loopback: single-use cards with enforced limits, and merchant charges.

- `POST /v1/cards` (Idempotency-Key header): a single-use card; the same key returns the
  same card, the same key with another body is refused (409).
- `GET /v1/cards/by-idempotency-key/{key}`, `GET /v1/cards/{id}`,
  `GET /v1/cards/{id}/authorizations`
- `POST /v1/cards/{id}/close`
- `POST /v1/authorizations`: a merchant (the simulated hotel) charges a card; declined when the
  amount is outside min/max, beyond the cumulative limit, after the end date, past the maximum
  number of transactions, in another currency, or on a closed card.
- `GET /_sandbox/cards`: every card issued (masked), for tests counting cards per booking.
Faults: `POST /_sandbox/faults` (sandbox/faults.py), e.g. fail_after on /v1/cards.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from fastapi import FastAPI, Header, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from domain.cards import luhn_valid, mask_pan
from sandbox.faults import install_faults
from sandbox.http import start_http
from sandbox.runner import SandboxContext

API_KEY = "sandbox-issuer-key"


class CardRequest(BaseModel):
    purchase_template: str
    currency_code: str = Field(pattern="^[A-Z]{3}$")
    min_transaction_amount: Decimal
    max_transaction_amount: Decimal
    cumulative_limit: Decimal
    end_date: date
    max_transactions: int = Field(ge=1, le=10)
    supplier_id: str
    guest_name: str
    booking_reference: str
    check_in_date: date


class ChargeRequest(BaseModel):
    card_number: str
    expiry: str
    cvc: str
    amount: Decimal
    currency_code: str
    merchant: str = "sandbox-hotel"
    transaction_date: date | None = None  # the merchant's business date (tests move it)


def _pan() -> str:
    """A Luhn-valid 16-digit number in a test range (5412 75…)."""
    body = "541275" + "".join(secrets.choice("0123456789") for _ in range(9))
    for check in "0123456789":
        if luhn_valid(body + check):
            return body + check
    raise AssertionError("unreachable")


class Issuer:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.cards: dict[str, dict[str, Any]] = {}
        self.by_key: dict[str, str] = {}
        self.by_pan: dict[str, str] = {}

    def issue(self, key: str, req: CardRequest) -> tuple[dict[str, Any], bool]:
        body = req.model_dump(mode="json")
        with self.lock:
            if key in self.by_key:
                card = self.cards[self.by_key[key]]
                if card["request"] != body:
                    conflict = {"code": "IDEMPOTENCY_CONFLICT", "message": "key reused"}
                    raise HTTPException(409, conflict)
                return card, False
            pan = _pan()
            card_id = f"vc_{uuid.uuid4().hex[:16]}"
            card = {
                "id": card_id,
                "request": body,
                "idempotency_key": key,
                "card_number": pan,
                "expiry": f"{req.end_date.month:02d}/{req.end_date.year % 100:02d}",
                "cvc": f"{secrets.randbelow(1000):03d}",
                "status": "active",
                "authorizations": [],
                "created_at": datetime.now(UTC).isoformat(),
            }
            self.cards[card_id] = card
            self.by_key[key] = card_id
            self.by_pan[pan] = card_id
            return card, True

    def charge(self, req: ChargeRequest) -> dict[str, Any]:
        with self.lock:
            card_id = self.by_pan.get("".join(ch for ch in req.card_number if ch.isdigit()))
            if card_id is None:
                raise HTTPException(404, {"code": "CARD_NOT_FOUND", "message": "unknown card"})
            card = self.cards[card_id]
            r = card["request"]
            approved = [a for a in card["authorizations"] if a["status"] == "approved"]
            spent = sum((Decimal(a["amount"]) for a in approved), Decimal(0))
            day = req.transaction_date or datetime.now(UTC).date()
            reason = ""
            if card["status"] != "active":
                reason = f"card {card['status']}"
            elif req.cvc != card["cvc"] or req.expiry != card["expiry"]:
                reason = "card verification failed"
            elif req.currency_code != r["currency_code"]:
                reason = f"currency {req.currency_code} not allowed"
            elif day > date.fromisoformat(r["end_date"]):
                reason = "card past its end date"
            elif len(card["authorizations"]) >= r["max_transactions"]:
                reason = "maximum number of transactions reached"
            elif req.amount < Decimal(r["min_transaction_amount"]):
                reason = "below the minimum transaction amount"
            elif req.amount > Decimal(r["max_transaction_amount"]):
                reason = "above the maximum transaction amount"
            elif spent + req.amount > Decimal(r["cumulative_limit"]):
                reason = "cumulative limit exceeded"
            auth = {
                "id": f"au_{uuid.uuid4().hex[:12]}",
                "amount": str(req.amount),
                "currency_code": req.currency_code,
                "status": "declined" if reason else "approved",
                "reason": reason,
                "merchant": req.merchant,
                "created_at": datetime.now(UTC).isoformat(),
            }
            card["authorizations"].append(auth)
            return auth


def _public(card: dict[str, Any], with_secret: bool) -> dict[str, Any]:
    r = card["request"]
    out = {
        "id": card["id"],
        "status": card["status"],
        "currency_code": r["currency_code"],
        "min_transaction_amount": r["min_transaction_amount"],
        "max_transaction_amount": r["max_transaction_amount"],
        "cumulative_limit": r["cumulative_limit"],
        "end_date": r["end_date"],
        "max_transactions": r["max_transactions"],
        "booking_reference": r["booking_reference"],
        "masked_card_number": mask_pan(card["card_number"]),
        "created_at": card["created_at"],
    }
    if with_secret:
        out.update(card_number=card["card_number"], expiry=card["expiry"], cvc=card["cvc"])
    return out


def build_app(issuer: Issuer) -> FastAPI:
    app = FastAPI(title="sandbox card issuer")
    install_faults(app)

    def auth(authorization: str | None) -> None:
        if authorization != f"Bearer {API_KEY}":
            raise HTTPException(401, {"code": "UNAUTHORIZED", "message": "bad API key"})

    @app.exception_handler(HTTPException)
    async def _err(_req: Any, exc: HTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, dict) else {"message": str(exc.detail)}
        return JSONResponse(detail, status_code=exc.status_code)

    @app.post("/v1/cards", status_code=201)
    def create_card(
        req: CardRequest,
        idempotency_key: str | None = Header(default=None),
        authorization: str | None = Header(default=None),
    ) -> JSONResponse:
        auth(authorization)
        if not idempotency_key:
            raise HTTPException(400, {"code": "IDEMPOTENCY_KEY_REQUIRED", "message": "missing"})
        if req.purchase_template != "HOTEL":
            raise HTTPException(422, {"code": "TEMPLATE", "message": "unknown purchase template"})
        if not (
            req.min_transaction_amount <= req.max_transaction_amount <= req.cumulative_limit
        ) or (req.cumulative_limit <= 0):
            raise HTTPException(422, {"code": "LIMITS", "message": "inconsistent limits"})
        card, created = issuer.issue(idempotency_key, req)
        return JSONResponse(_public(card, True), status_code=201 if created else 200)

    @app.get("/v1/cards/by-idempotency-key/{key:path}")
    def by_key(key: str, authorization: str | None = Header(default=None)) -> dict[str, Any]:
        auth(authorization)
        card_id = issuer.by_key.get(key)
        if card_id is None:
            raise HTTPException(404, {"code": "NOT_FOUND", "message": "no card for this key"})
        return _public(issuer.cards[card_id], True)

    @app.get("/v1/cards/{card_id}")
    def get_card(card_id: str, authorization: str | None = Header(default=None)) -> dict[str, Any]:
        auth(authorization)
        if card_id not in issuer.cards:
            raise HTTPException(404, {"code": "NOT_FOUND", "message": "no such card"})
        return _public(issuer.cards[card_id], False)

    @app.get("/v1/cards/{card_id}/authorizations")
    def auths(card_id: str, authorization: str | None = Header(default=None)) -> dict[str, Any]:
        auth(authorization)
        if card_id not in issuer.cards:
            raise HTTPException(404, {"code": "NOT_FOUND", "message": "no such card"})
        return {"authorizations": list(issuer.cards[card_id]["authorizations"])}

    @app.post("/v1/cards/{card_id}/close")
    def close(card_id: str, authorization: str | None = Header(default=None)) -> dict[str, Any]:
        auth(authorization)
        if card_id not in issuer.cards:
            raise HTTPException(404, {"code": "NOT_FOUND", "message": "no such card"})
        with issuer.lock:
            issuer.cards[card_id]["status"] = "closed"
        return {"id": card_id, "status": "closed"}

    @app.post("/v1/authorizations")
    def charge(req: ChargeRequest) -> dict[str, Any]:
        return issuer.charge(req)

    @app.get("/_sandbox/cards")
    def all_cards(booking_reference: str | None = None) -> list[dict[str, Any]]:
        with issuer.lock:
            cards = list(issuer.cards.values())
        return [
            _public(c, False)
            for c in cards
            if booking_reference is None or c["request"]["booking_reference"] == booking_reference
        ]

    return app


async def start_issuer(ctx: SandboxContext, stack: AsyncExitStack, port: int) -> dict[str, Any]:
    issuer = Issuer()
    ctx.options["_issuer"] = issuer  # the simulated hotels charge through it
    bound = await start_http(stack, build_app(issuer), ctx.host, port)
    return {"port": bound, "url": f"http://{ctx.host}:{bound}", "api_key": API_KEY}
