"""The payment gateway, shared by the processes that take or return travellers' money.

`refund_once` is the one way a refund reaches the gateway: claimed in the side-effect table under
its business key, sent with that key as the Idempotency-Key, and looked up among the payment's
cancels when an earlier attempt's outcome is unknown.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from blocks.group_pg import PaymentGateway
from tasks.once import Outcome, perform_once


@lru_cache(maxsize=4)
def gateway(name: str) -> PaymentGateway:
    """The saved PaymentGateway document `name` (loaded once per process)."""
    return PaymentGateway.load(name, _sync=True)  # type: ignore[no-any-return, call-overload]


def _cancel_outcome(cancel: dict[str, Any]) -> Outcome:
    return Outcome(cancel["transactionKey"], {"amount": cancel["cancelAmount"]})


def refund_once(
    pg: PaymentGateway, key: str, payment_key: str, amount: int, reason: str
) -> Outcome:
    """Refund `amount` KRW of `payment_key` at most once for `key`; the outcome's reference is
    the gateway's transaction key."""

    def lookup(k: str) -> Outcome | None:
        hit = [c for c in pg.get_payment(payment_key)["cancels"] if c.get("idempotencyKey") == k]
        return _cancel_outcome(hit[0]) if hit else None

    def call(k: str) -> Outcome:
        p = pg.cancel(payment_key, amount, reason, k)
        return _cancel_outcome(next(c for c in p["cancels"] if c.get("idempotencyKey") == k))

    return perform_once(key, "pg.refund", call, lookup)
