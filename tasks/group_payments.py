"""Deposits, balances and refunds of group orders through the payment gateway, exactly once.

Every call carries an idempotency key derived from the order number and the purpose
(`group-deposit:GR-…`, `group-refund:GR-…:deposit`), is claimed in the side-effect table first
(`perform_once`) and is looked up at the gateway when an earlier attempt's outcome is unknown.
A refund is computed under a row lock on the order, from what was paid minus what was refunded.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from prefect import task
from sqlalchemy import select

from blocks.group_pg import PaymentGateway
from db.ledger import post_entries
from db.models.group import GroupOrder, GroupPayment
from db.session import session_scope
from db.types import utcnow
from domain.errors import BusinessRuleError, InvalidInput
from domain.group import check_refund
from domain.money import Money
from tasks.once import Outcome, perform_once
from tasks.payments import gateway, refund_once
from tasks.retry import retry_delays, retry_on_infrastructure
from travelops.settings_group import group_settings

KIND_CODE = {"deposit": "D", "balance": "B"}


def load_gateway(name: str | None = None) -> PaymentGateway:
    return gateway(name or group_settings().pg_block)


def pg_order_id(order_no: str, kind: str) -> str:
    return f"{order_no}-{KIND_CODE[kind]}"


def _payment_outcome(p: dict[str, Any]) -> Outcome:
    return Outcome(
        p["paymentKey"],
        {
            "paymentKey": p["paymentKey"],
            "orderId": p["orderId"],
            "status": p["status"],
            "amount": p["totalAmount"],
            "checkout": p["checkout"],
        },
    )


def request_payment(
    order_no: str, kind: str, amount_minor: int, label: str, customer: str
) -> dict[str, Any]:
    """Open the PG payment for the deposit or balance (once per order and kind)."""
    if amount_minor <= 0:
        raise InvalidInput("amount", amount_minor, f"no {kind} to request")
    pg = load_gateway()
    key = f"group-{kind}:{order_no}"
    order_id = pg_order_id(order_no, kind)

    def lookup(_k: str) -> Outcome | None:
        found = pg.find_by_order(order_id)
        return _payment_outcome(found) if found else None

    outcome = perform_once(
        key,
        "pg.payment",
        lambda k: _payment_outcome(pg.create_payment(order_id, amount_minor, label, customer, k)),
        lookup,
    )
    with session_scope() as s:
        row = s.scalars(select(GroupPayment).where(GroupPayment.idempotency_key == key)).first()
        if row is None:
            s.add(
                GroupPayment(
                    order_no=order_no,
                    kind=kind,
                    amount_minor=amount_minor,
                    currency="KRW",
                    idempotency_key=key,
                    gateway_payment_key=outcome.provider_ref,
                    status="requested",
                )
            )
    return {
        "order_no": order_no,
        "kind": kind,
        "amount_minor": amount_minor,
        "payment_key": outcome.provider_ref,
        "pg_order_id": order_id,
        "checkout_url": f"{pg.base_url.rstrip('/')}{outcome.result['checkout']['url']}",
    }


def confirm_payment(payment_key: str, order_id: str, amount: int) -> dict[str, Any]:
    """Confirm an authorised payment at the PG (once per payment)."""
    pg = load_gateway()

    def lookup(_k: str) -> Outcome | None:
        p = pg.get_payment(payment_key)
        return _payment_outcome(p) if p["status"] == "DONE" else None

    outcome = perform_once(
        f"group-confirm:{payment_key}",
        "pg.confirm",
        lambda k: _payment_outcome(pg.confirm(payment_key, order_id, amount, k)),
        lookup,
    )
    return dict(outcome.result)


def payment_row(payment_key: str) -> dict[str, Any] | None:
    with session_scope() as s:
        row = s.scalars(
            select(GroupPayment).where(
                GroupPayment.gateway_payment_key == payment_key,
                GroupPayment.kind.in_(["deposit", "balance"]),
            )
        ).first()
        if row is None:
            return None
        return {
            "order_no": row.order_no,
            "kind": row.kind,
            "amount_minor": row.amount_minor,
            "status": row.status,
            "idempotency_key": row.idempotency_key,
        }


def mark_paid(payment_key: str, paid_at: datetime, amount: int) -> dict[str, Any] | None:
    """Record a DONE payment (idempotent): the payment row, the ledger. None if unknown."""
    with session_scope() as s:
        row = s.scalars(
            select(GroupPayment)
            .where(
                GroupPayment.gateway_payment_key == payment_key,
                GroupPayment.kind.in_(["deposit", "balance"]),
            )
            .with_for_update()
        ).first()
        if row is None:
            return None
        if row.amount_minor != amount:
            raise BusinessRuleError(f"payment {payment_key}: amount {amount} != {row.amount_minor}")
        newly = row.status == "requested"
        if newly:
            row.status, row.settled_at = "paid", paid_at
        post_entries(
            s,
            [
                _ledger(
                    row.order_no,
                    f"{row.kind}:received",
                    f"customer_{row.kind}",
                    row.amount_minor,
                    paid_at.date(),
                    payment_key,
                )
            ],
        )
        return {"order_no": row.order_no, "kind": row.kind, "newly_paid": newly}


def _ledger(
    order_no: str, what: str, account: str, amount: int, day: date, ref: str
) -> dict[str, Any]:
    return {
        "entry_key": f"group:{order_no}:{what}",
        "book": "group_payments",
        "business_key": order_no,
        "business_date": day,
        "account": account,
        "counterparty": "customer",
        "kind": "posting",
        "amount_minor": amount,
        "currency": "KRW",
        "attributes": {"pg_ref": ref},
        "memo": what,
        "posted_by": "group",
        "posted_at": utcnow(),
    }


def _plan_refund(order_no: str, kind: str, reason: str) -> dict[str, Any] | None:
    """Under a lock on the order: the refund row for `kind` (reused on a retry), or None."""
    key = f"group-refund:{order_no}:{kind}"
    with session_scope() as s:
        s.execute(
            select(GroupOrder.order_no).where(GroupOrder.order_no == order_no).with_for_update()
        )
        existing = s.scalars(
            select(GroupPayment).where(GroupPayment.idempotency_key == key)
        ).first()
        paid = s.scalars(
            select(GroupPayment).where(
                GroupPayment.order_no == order_no,
                GroupPayment.kind == kind,
                GroupPayment.status == "paid",
            )
        ).first()
        if paid is None:
            return None
        if existing is not None:
            return {
                "key": key,
                "amount": existing.amount_minor,
                "payment_key": existing.gateway_payment_key,
                "status": existing.status,
            }
        refunds = s.scalars(
            select(GroupPayment).where(
                GroupPayment.order_no == order_no,
                GroupPayment.kind == "refund",
                GroupPayment.gateway_payment_key == paid.gateway_payment_key,
            )
        ).all()
        done = Money(sum(r.amount_minor for r in refunds), "KRW")
        paid_m = Money(paid.amount_minor, "KRW")
        amount = check_refund(paid_m, done, paid_m - done)
        s.add(
            GroupPayment(
                order_no=order_no,
                kind="refund",
                amount_minor=amount.amount_minor,
                currency="KRW",
                idempotency_key=key,
                gateway_payment_key=paid.gateway_payment_key,
                status="requested",
            )
        )
        return {
            "key": key,
            "amount": amount.amount_minor,
            "payment_key": paid.gateway_payment_key,
            "status": "requested",
        }


def refund_payments(order_no: str, reason: str) -> dict[str, Any]:
    """Refund in full whatever is still refundable of the order's deposit and balance."""
    pg = load_gateway()
    refunded = 0
    refs = []
    for kind in ("deposit", "balance"):
        plan = _plan_refund(order_no, kind, reason)
        if plan is None or plan["amount"] <= 0:
            continue
        key = plan["key"]
        outcome = refund_once(pg, key, plan["payment_key"], plan["amount"], reason)
        now = utcnow()
        with session_scope() as s:
            row = s.scalars(select(GroupPayment).where(GroupPayment.idempotency_key == key)).one()
            row.status, row.settled_at = "refunded", row.settled_at or now
            post_entries(
                s,
                [
                    _ledger(
                        order_no,
                        f"refund:{kind}",
                        "customer_refund",
                        -row.amount_minor,
                        now.date(),
                        str(outcome.provider_ref),
                    )
                ],
            )
        refunded += plan["amount"]
        refs.append(outcome.provider_ref)
    return {"order_no": order_no, "refunded_minor": refunded, "refs": refs}


@task(
    name="refund_order",
    retries=4,
    retry_delay_seconds=retry_delays(1, 5, 15, 30),
    retry_condition_fn=retry_on_infrastructure,
)
def refund_order(order_no: str, reason: str) -> dict[str, Any]:
    """Refund the order's payments in full through the gateway (never more than paid)."""
    return refund_payments(order_no, reason)


@task(
    name="request_balance",
    retries=4,
    retry_delay_seconds=retry_delays(1, 5, 15, 30),
    retry_condition_fn=retry_on_infrastructure,
)
def request_balance(order_no: str, amount_minor: int, label: str, customer: str) -> dict[str, Any]:
    """Open the balance payment at the gateway (once per order)."""
    return request_payment(order_no, "balance", amount_minor, label, customer)
