"""Payment gateway and SMS/Kakao sender of the group process: one Prefect block each."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from blocks.http import ProviderRefused, call_json
from domain.errors import InvalidInput


class WebhookRejected(InvalidInput):
    """A webhook whose signature or timestamp does not verify."""


class PaymentGateway(Block):
    """A Korean PG (payment window, confirm, cancel/refund) with signed webhooks."""

    _block_type_name = "Group Payment Gateway"
    _block_type_slug = "travelops-group-payment-gateway"
    _description = "Deposits, balances and refunds of group orders; verifies PG webhooks."

    base_url: str = Field(description="API root, e.g. https://api.pg.example.com")
    secret_key: SecretStr = Field(description="Merchant secret key (HTTP Basic user name).")
    webhook_secret: SecretStr = Field(description="HMAC key of the PG's webhook signatures.")
    webhook_tolerance_seconds: int = Field(default=300, description="Max age of a webhook.")
    timeout_seconds: float = Field(default=15.0)

    def _headers(self) -> dict[str, str]:
        token = base64.b64encode(f"{self.secret_key.get_secret_value()}:".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    def _call(self, method: str, path: str, body: Any = None, key: str | None = None) -> Any:
        return call_json(
            "payment-gateway",
            method,
            f"{self.base_url.rstrip('/')}{path}",
            json=body,
            headers=self._headers(),
            timeout=self.timeout_seconds,
            idempotency_key=key,
        )

    def create_payment(
        self, order_id: str, amount: int, order_name: str, customer: str, key: str
    ) -> dict[str, Any]:
        """Open a payment window for `amount` KRW; returns the payment with its checkout URL."""
        body = {
            "orderId": order_id,
            "amount": amount,
            "orderName": order_name,
            "customerName": customer,
        }
        return dict(self._call("POST", "/v1/payments", body, key))

    def checkout_url(self, payment: dict[str, Any]) -> str:
        return f"{self.base_url.rstrip('/')}{payment['checkout']['url']}"

    def confirm(self, payment_key: str, order_id: str, amount: int, key: str) -> dict[str, Any]:
        body = {"paymentKey": payment_key, "orderId": order_id, "amount": amount}
        return dict(self._call("POST", "/v1/payments/confirm", body, key))

    def cancel(self, payment_key: str, amount: int, reason: str, key: str) -> dict[str, Any]:
        body = {"cancelReason": reason, "cancelAmount": amount}
        return dict(self._call("POST", f"/v1/payments/{payment_key}/cancel", body, key))

    def get_payment(self, payment_key: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/v1/payments/{payment_key}"))

    def find_by_order(self, order_id: str) -> dict[str, Any] | None:
        try:
            return dict(self._call("GET", f"/v1/payments/orders/{order_id}"))
        except ProviderRefused as exc:
            if exc.status == 404:
                return None
            raise

    def verify_webhook(
        self, body: bytes, signature: str, now: float | None = None
    ) -> dict[str, Any]:
        """The event if `X-PG-Signature` is valid and fresh; `WebhookRejected` otherwise."""
        parts = dict(p.split("=", 1) for p in signature.split(",") if "=" in p)
        try:
            ts = int(parts["t"])
            given = parts["v1"]
        except (KeyError, ValueError):
            raise WebhookRejected("X-PG-Signature", signature[:40], "malformed") from None
        secret = self.webhook_secret.get_secret_value().encode()
        expected = hmac.new(secret, f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, given):
            raise WebhookRejected("X-PG-Signature", signature[:40], "signature does not verify")
        if abs((now or time.time()) - ts) > self.webhook_tolerance_seconds:
            raise WebhookRejected("X-PG-Signature", ts, "timestamp outside the tolerance")
        return dict(json.loads(body))


class KakaoMessenger(Block):
    """SMS/Kakao (alimtalk) messages to customers' mobiles: notices and gift vouchers."""

    _block_type_name = "Group Kakao Messenger"
    _block_type_slug = "travelops-group-kakao-messenger"
    _description = "Sends alimtalk/SMS messages and mobile gift vouchers, idempotent per key."

    base_url: str
    api_key: SecretStr
    timeout_seconds: float = Field(default=15.0)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"KakaoAK {self.api_key.get_secret_value()}"}

    def send(
        self, key: str, to: str, template: str, text: str, voucher_amount: int | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"to": to, "template": template, "text": text}
        if voucher_amount:
            body["voucher"] = {"amount": voucher_amount, "currency": "KRW"}
        return dict(
            call_json(
                "kakao",
                "POST",
                f"{self.base_url.rstrip('/')}/v2/messages",
                json=body,
                headers=self._headers(),
                idempotency_key=key,
                timeout=self.timeout_seconds,
            )
        )

    def find(self, key: str) -> dict[str, Any] | None:
        found = call_json(
            "kakao",
            "GET",
            f"{self.base_url.rstrip('/')}/v2/messages",
            params={"key": key},
            headers=self._headers(),
            timeout=self.timeout_seconds,
        )
        return dict(found[0]) if found else None

    def sent_to(self, mobile: str) -> list[dict[str, Any]]:
        found = call_json(
            "kakao",
            "GET",
            f"{self.base_url.rstrip('/')}/v2/messages",
            params={"to": mobile},
            headers=self._headers(),
            timeout=self.timeout_seconds,
        )
        return list(found)
