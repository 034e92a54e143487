"""Customer messages and gift vouchers over SMS/Kakao, exactly once per business key."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any

from prefect import task
from sqlalchemy import select

from blocks.group_pg import KakaoMessenger
from db.models.group import GiftVoucher, GroupOrder
from db.session import session_scope
from db.types import utcnow
from domain.group import REFUNDED_STATES, VoucherPlan
from tasks.once import Outcome, perform_once
from tasks.retry import retry_delays, retry_on_infrastructure
from travelops.settings_group import group_settings


@lru_cache(maxsize=4)
def _messenger(name: str) -> KakaoMessenger:
    return KakaoMessenger.load(name, _sync=True)  # type: ignore[no-any-return, call-overload]


def load_messenger(name: str | None = None) -> KakaoMessenger:
    return _messenger(name or group_settings().messenger_block)


def send_message(key: str, to: str, template: str, text: str) -> dict[str, Any]:
    """One alimtalk message per key (a retry or a replayed run sends nothing new)."""
    kakao = load_messenger()

    def lookup(k: str) -> Outcome | None:
        found = kakao.find(k)
        return Outcome(found["messageId"], {"to": to}) if found else None

    outcome = perform_once(
        key,
        "kakao.message",
        lambda k: Outcome(kakao.send(k, to, template, text)["messageId"], {"to": to}),
        lookup,
    )
    return {"message_id": outcome.provider_ref, "replayed": outcome.replayed}


@task(
    name="notify_customer",
    retries=4,
    retry_delay_seconds=retry_delays(1, 5, 15, 30),
    retry_condition_fn=retry_on_infrastructure,
)
def notify_customer(order_no: str, mobile: str, template: str, text: str) -> dict[str, Any]:
    """Tell the group's contact person (key: order number + template)."""
    return send_message(f"group-msg:{order_no}:{template}", mobile, template, text)


def plan_voucher_rows(order_no: str, plans: list[VoucherPlan]) -> int:
    """Record the vouchers owed (pending) once per traveller; returns how many are new."""
    new = 0
    with session_scope() as s:
        have = set(
            s.scalars(select(GiftVoucher.traveller_index).where(GiftVoucher.order_no == order_no))
        )
        for p in plans:
            if p.traveller_index in have:
                continue
            s.add(
                GiftVoucher(
                    order_no=order_no,
                    traveller_index=p.traveller_index,
                    mobile=p.mobile,
                    trigger=p.trigger,
                    amount_minor=p.amount.amount_minor,
                    currency=p.amount.currency,
                    message=p.message,
                    status="pending",
                )
            )
            new += 1
    return new


def send_due_vouchers(order_no: str, today: date, trigger: str) -> dict[str, Any]:
    """Send the order's pending vouchers of `trigger`, unless the order was cancelled/refunded."""
    kakao = load_messenger()
    with session_scope() as s:
        order = s.get(GroupOrder, order_no)
        status = order.status if order else "missing"
        rows = s.scalars(
            select(GiftVoucher).where(
                GiftVoucher.order_no == order_no,
                GiftVoucher.trigger == trigger,
                GiftVoucher.status == "pending",
            )
        ).all()
        pending = [(v.id, v.traveller_index, v.mobile, v.message, v.amount_minor) for v in rows]
        if status in REFUNDED_STATES:
            for v in rows:
                v.status = "void"
            return {"order_no": order_no, "sent": 0, "voided": len(rows), "status": status}
    sent = 0
    for row_id, index, mobile, message, amount in pending:
        key = f"group-voucher:{order_no}:{index}"

        def lookup(k: str, mobile: str = mobile) -> Outcome | None:
            found = kakao.find(k)
            return Outcome(found["messageId"], {"to": mobile}) if found else None

        def call(k: str, m: str = mobile, text: str = message, amt: int = amount) -> Outcome:
            return Outcome(kakao.send(k, m, "GIFT_VOUCHER", text, amt)["messageId"], {"to": m})

        outcome = perform_once(key, "kakao.voucher", call, lookup)
        with session_scope() as s:
            v = s.get(GiftVoucher, row_id)
            assert v is not None
            v.status, v.provider_ref, v.sent_at = (
                "sent",
                outcome.provider_ref,
                v.sent_at or utcnow(),
            )
        sent += 1
    return {"order_no": order_no, "sent": sent, "voided": 0, "status": status}


@task(
    name="send_gift_vouchers",
    retries=4,
    retry_delay_seconds=retry_delays(1, 5, 15, 30),
    retry_condition_fn=retry_on_infrastructure,
)
def send_gift_vouchers(order_no: str, today: date, trigger: str) -> dict[str, Any]:
    """Mobile gift vouchers to each traveller, exactly once each; none after a cancellation."""
    return send_due_vouchers(order_no, today, trigger)
