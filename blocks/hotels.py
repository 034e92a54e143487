"""The hotel desk's external systems: the virtual-card issuer and the traveller chat.

Card data crosses this boundary once, in `IssuedCard`, which never prints itself in clear; the
caller encrypts it at once (travelops.cardsafety) and keeps only the masked number elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from blocks.http import ProviderRefused, call_json, shared_client
from domain.cards import mask_pan
from domain.money import Money


@dataclass(frozen=True)
class IssuedCard:
    """A single-use card as the issuer returned it. `repr` shows the masked number only."""

    card_id: str
    pan: str = field(repr=False)
    expiry: str = field(repr=False)  # MM/YY
    cvc: str = field(repr=False)
    amount: Money
    end_date: date
    max_transactions: int
    status: str

    @property
    def masked(self) -> str:
        return mask_pan(self.pan)

    def __str__(self) -> str:
        return f"card {self.card_id} {self.masked}"


@dataclass(frozen=True)
class Authorization:
    auth_id: str
    amount: Money
    status: str  # approved | declined
    reason: str
    merchant: str
    at: str


class CardIssuer(Block):
    """A commercial card issuer's single-use virtual card API (Mastercard-style SUA request)."""

    _block_type_name = "VCC Card Issuer"
    _block_type_slug = "travelops-card-issuer"
    _description = "Requests single-use virtual cards, looks them up, lists their authorizations."

    base_url: str = Field(description="API root, e.g. https://issuer.example.com")
    api_key: SecretStr
    supplier_id: str = Field(description="The merchant the card is restricted to.")
    purchase_template: str = Field(default="HOTEL")
    timeout_seconds: float = Field(default=15.0)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key.get_secret_value()}"}

    def request_card(
        self,
        *,
        idempotency_key: str,
        amount: Money,
        end_date: date,
        guest_name: str,
        booking_no: str,
        check_in: date,
        max_transactions: int = 3,
    ) -> IssuedCard:
        """One card: min = max transaction amount = cumulative limit = `amount`."""
        body = {
            "purchase_template": self.purchase_template,
            "currency_code": amount.currency,
            "min_transaction_amount": amount.amount_str(),
            "max_transaction_amount": amount.amount_str(),
            "cumulative_limit": amount.amount_str(),
            "end_date": end_date.isoformat(),
            "max_transactions": max_transactions,
            "supplier_id": self.supplier_id,
            "guest_name": guest_name,
            "booking_reference": booking_no,
            "check_in_date": check_in.isoformat(),
        }
        data = call_json(
            "card issuer",
            "POST",
            f"{self.base_url}/v1/cards",
            json=body,
            headers=self._headers(),
            idempotency_key=idempotency_key,
            timeout=self.timeout_seconds,
        )
        return _card(data)

    def find_card(self, idempotency_key: str) -> IssuedCard | None:
        """The card created for this idempotency key, if the issuer has one (ambiguity check)."""
        try:
            data = call_json(
                "card issuer",
                "GET",
                f"{self.base_url}/v1/cards/by-idempotency-key/{idempotency_key}",
                headers=self._headers(),
                timeout=self.timeout_seconds,
            )
        except ProviderRefused as exc:
            if exc.status == 404:
                return None
            raise
        return _card(data)

    def authorizations(self, card_id: str) -> list[Authorization]:
        data = call_json(
            "card issuer",
            "GET",
            f"{self.base_url}/v1/cards/{card_id}/authorizations",
            headers=self._headers(),
            timeout=self.timeout_seconds,
        )
        return [
            Authorization(
                auth_id=a["id"],
                amount=Money.of_exact(a["amount"], a["currency_code"]),
                status=a["status"],
                reason=a.get("reason", ""),
                merchant=a.get("merchant", ""),
                at=a.get("created_at", ""),
            )
            for a in data["authorizations"]
        ]

    def close_card(self, card_id: str, reason: str) -> str:
        data = call_json(
            "card issuer",
            "POST",
            f"{self.base_url}/v1/cards/{card_id}/close",
            json={"reason": reason},
            headers=self._headers(),
            idempotency_key=f"close:{card_id}",
            timeout=self.timeout_seconds,
        )
        return str(data["status"])


def _card(data: dict[str, Any]) -> IssuedCard:
    return IssuedCard(
        card_id=data["id"],
        pan=data["card_number"],
        expiry=data["expiry"],
        cvc=data["cvc"],
        amount=Money.of_exact(data["cumulative_limit"], data["currency_code"]),
        end_date=date.fromisoformat(data["end_date"]),
        max_transactions=int(data["max_transactions"]),
        status=data["status"],
    )


class ChatApi(Block):
    """Traveller chat in the style of Sendbird's Platform API: file messages to a group channel."""

    _block_type_name = "Traveller Chat"
    _block_type_slug = "travelops-chat-api"
    _description = "Sends files (vouchers) to a traveller's chat channel (Sendbird Platform API)."

    base_url: str = Field(description="https://api-{APP_ID}.sendbird.com or the sandbox")
    api_token: SecretStr
    sender_user_id: str = Field(default="travelops-hoteldesk")
    timeout_seconds: float = Field(default=30.0)

    def _headers(self) -> dict[str, str]:
        return {"Api-Token": self.api_token.get_secret_value()}

    def ensure_channel(self, channel_url: str, traveller_id: str) -> None:
        try:
            call_json(
                "chat",
                "POST",
                f"{self.base_url}/v3/group_channels",
                json={
                    "channel_url": channel_url,
                    "user_ids": [self.sender_user_id, traveller_id],
                    "name": channel_url,
                },
                headers=self._headers(),
                timeout=self.timeout_seconds,
            )
        except ProviderRefused as exc:
            if exc.code != "400202":  # channel already exists
                raise

    def send_file(
        self, channel_url: str, filename: str, content: bytes, message: str, dedup_key: str
    ) -> dict[str, Any]:
        """A FILE message; `dedup_key` goes in the message's `data` so a retry can find it."""
        import httpx

        from domain.errors import AmbiguousOutcome, ProviderUnavailable

        url = f"{self.base_url}/v3/group_channels/{channel_url}/messages"
        form = {
            "message_type": "FILE",
            "user_id": self.sender_user_id,
            "custom_type": "voucher",
            "data": dedup_key,
            "file_name": filename,
            "message": message,
        }
        try:
            r = shared_client().post(
                url,
                data=form,
                files={"file": (filename, content, "application/pdf")},
                headers=self._headers(),
                timeout=self.timeout_seconds,
            )
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ProviderUnavailable(f"chat: cannot reach {url}: {exc}") from exc
        except httpx.TransportError as exc:
            raise AmbiguousOutcome(f"chat: file message outcome unknown: {exc!r}") from exc
        if r.status_code >= 500:
            raise AmbiguousOutcome(f"chat: {r.status_code} after sending the file")
        if r.status_code >= 400:
            body = r.json() if r.content else {}
            raise ProviderRefused(
                "chat", r.status_code, str(body.get("code")), str(body.get("message"))
            )
        return dict(r.json())

    def find_message(self, channel_url: str, dedup_key: str) -> dict[str, Any] | None:
        """The message sent with `dedup_key`, if any (None also when the channel is missing)."""
        try:
            data = call_json(
                "chat",
                "GET",
                f"{self.base_url}/v3/group_channels/{channel_url}/messages",
                params={"message_ts": 0, "next_limit": 200, "custom_types": "voucher"},
                headers=self._headers(),
                timeout=self.timeout_seconds,
            )
        except ProviderRefused as exc:
            if exc.code == "400201":  # channel not found: nothing was sent there
                return None
            raise
        for m in data.get("messages", []):
            if m.get("data") == dedup_key:
                return dict(m)
        return None
