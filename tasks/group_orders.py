"""Group orders in the database: create with their quote, read as plain values, change status."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from db.audit import record_transition, transition
from db.models.core import StatusTransition
from db.models.group import GiftVoucher, GroupOrder, GroupPayment, GroupQuote
from db.session import session_scope
from domain.errors import InvalidInput
from domain.group import (
    ORDER_STATES,
    Catalog,
    GroupOrderRequest,
    Quote,
    Traveller,
    quote_group,
    route_order,
    validate_order,
)
from domain.money import Money


def new_order_no(today: date) -> str:
    """`GR-20261123-7F3A9C`: the date and a random part (no counter to contend for)."""
    return f"GR-{today:%Y%m%d}-{secrets.token_hex(3).upper()}"


def request_from_payload(doc: dict[str, Any]) -> GroupOrderRequest:
    """Build the domain request from the intake's JSON; field errors name the field."""
    try:
        departure = date.fromisoformat(str(doc.get("departure_date")))
    except ValueError:
        raise InvalidInput("departure_date", doc.get("departure_date"), "not a date") from None
    travellers = tuple(
        Traveller(str(t.get("name", "")), str(t.get("mobile", "")), t.get("type", "adult"))
        for t in doc.get("travellers") or []
    )
    contact = doc.get("contact") or {}
    return GroupOrderRequest(
        product_code=str(doc.get("product_code", "")),
        departure_date=departure,
        travellers=travellers,
        options=tuple(doc.get("options") or ()),
        model=doc.get("group_model", "A"),
        contact_name=str(contact.get("name", "")),
        contact_mobile=str(contact.get("mobile", "")),
        contact_email=str(contact.get("email", "")),
    )


def place_order(
    req: GroupOrderRequest, catalog: Catalog, today: date, company: str | None = None
) -> dict[str, Any]:
    """Validate, quote, route and store an order with its quote; red orders are blocked at once."""
    validate_order(req, catalog, today)
    quote = quote_group(req, catalog)
    routing = route_order(req, quote, catalog, today)
    order_no = new_order_no(today)
    quote_id = f"{order_no}-Q1"
    with session_scope() as s:
        s.add(
            GroupOrder(
                order_no=order_no,
                product_code=req.product_code,
                departure_date=req.departure_date,
                group_model=req.model,
                party_size=req.party,
                travellers=[t.__dict__ for t in req.travellers],
                options=list(req.options),
                contact={
                    "name": req.contact_name,
                    "mobile": req.contact_mobile,
                    "email": req.contact_email,
                },
                company=company,
                currency=quote.currency,
                status="quoted",
                light=routing.light,
                light_reasons=list(routing.reasons),
                quote_id=quote_id,
            )
        )
        s.flush()
        s.add(_quote_row(quote_id, order_no, quote))
        if routing.light == "red":
            transition(
                s,
                GroupOrder,
                order_no,
                "blocked",
                machine=ORDER_STATES,
                actor="system",
                reason="; ".join(routing.reasons),
            )
    return {
        "order_no": order_no,
        "quote_id": quote_id,
        "quote": quote.as_dict(),
        "light": routing.light,
        "reasons": list(routing.reasons),
        "status": "blocked" if routing.light == "red" else "quoted",
    }


def _quote_row(quote_id: str, order_no: str, quote: Quote) -> GroupQuote:
    return GroupQuote(
        quote_id=quote_id,
        order_no=order_no,
        items=quote.as_dict()["lines"],
        currency=quote.currency,
        low_minor=quote.low_minor,
        high_minor=quote.high_minor,
        confirmed=quote.confirmed,
        deposit_minor=quote.deposit_minor,
        notices=[*quote.notices, {"quote": quote.as_dict()}],
    )


def store_confirmed_quote(order_no: str, quote: Quote) -> str:
    """Store the v1 quote as a new row (the paid one stays as it was); idempotent per order."""
    quote_id = f"{order_no}-Q2"
    with session_scope() as s:
        if s.get(GroupQuote, quote_id) is None:
            s.add(_quote_row(quote_id, order_no, quote))
    return quote_id


def load_quote(quote_id: str) -> Quote:
    with session_scope() as s:
        row = s.get(GroupQuote, quote_id)
        if row is None:
            raise LookupError(f"quote {quote_id} not found")
        stored = next(n["quote"] for n in row.notices if isinstance(n, dict) and "quote" in n)
    return Quote.from_dict(stored)


def request_of(order: dict[str, Any]) -> GroupOrderRequest:
    return GroupOrderRequest(
        product_code=order["product_code"],
        departure_date=date.fromisoformat(order["departure_date"]),
        travellers=tuple(Traveller(**t) for t in order["travellers"]),
        options=tuple(order["options"]),
        model=order["group_model"],
        contact_name=order["contact"].get("name", ""),
        contact_mobile=order["contact"].get("mobile", ""),
        contact_email=order["contact"].get("email", ""),
    )


def load_order(order_no: str) -> dict[str, Any]:
    """The order as plain JSON-safe values, with money paid and refunded so far."""
    with session_scope() as s:
        o = s.get(GroupOrder, order_no)
        if o is None:
            raise InvalidInput("order_no", order_no, "no such group order")
        paid, refunded = money_moved(s, order_no)
        return {
            "order_no": o.order_no,
            "product_code": o.product_code,
            "departure_date": o.departure_date.isoformat(),
            "group_model": o.group_model,
            "party_size": o.party_size,
            "travellers": list(o.travellers),
            "options": list(o.options),
            "contact": dict(o.contact),
            "company": o.company,
            "currency": o.currency,
            "status": o.status,
            "light": o.light,
            "light_reasons": list(o.light_reasons),
            "quote_id": o.quote_id,
            "confirmed_quote_id": o.confirmed_quote_id,
            "deposit_paid_at": _iso(o.deposit_paid_at),
            "deadline_at": _iso(o.deadline_at),
            "balance_due_on": o.balance_due_on.isoformat() if o.balance_due_on else None,
            "flow_run_id": o.flow_run_id,
            "paid_minor": paid,
            "refunded_minor": refunded,
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def money_moved(s: Any, order_no: str) -> tuple[int, int]:
    rows = s.execute(
        select(GroupPayment.kind, func.sum(GroupPayment.amount_minor))
        .where(GroupPayment.order_no == order_no, GroupPayment.status.in_(["paid", "refunded"]))
        .group_by(GroupPayment.kind)
    ).all()
    sums = {kind: int(total or 0) for kind, total in rows}
    return sums.get("deposit", 0) + sums.get("balance", 0), sums.get("refund", 0)


def set_status(
    order_no: str,
    to_status: str,
    *,
    actor: str = "system",
    reason: str = "",
    values: dict[str, Any] | None = None,
    allowed_from: list[str] | None = None,
    idempotent: bool = False,
) -> bool:
    """CAS the order to `to_status` (audited); False when another actor got there first.
    `idempotent`: already at `to_status` is no refusal (a second report of the same event)."""
    with session_scope() as s:
        if allowed_from:
            return transition(
                s,
                GroupOrder,
                order_no,
                to_status,
                allowed_from=allowed_from,
                actor=actor,
                reason=reason,
                values=values,
                idempotent=idempotent,
            )
        return transition(
            s,
            GroupOrder,
            order_no,
            to_status,
            machine=ORDER_STATES,
            actor=actor,
            reason=reason,
            values=values,
            idempotent=idempotent,
        )


def attach_flow_run(order_no: str, flow_run_id: str) -> None:
    with session_scope() as s:
        o = s.get(GroupOrder, order_no)
        if o is not None and o.flow_run_id is None:
            o.flow_run_id = flow_run_id


def deposit_money(order: dict[str, Any]) -> Money:
    return Money(load_quote(order["quote_id"]).deposit_minor, order["currency"])


def vouchers_of(order_no: str) -> list[dict[str, Any]]:
    with session_scope() as s:
        rows = s.scalars(
            select(GiftVoucher).where(GiftVoucher.order_no == order_no).order_by(GiftVoucher.id)
        ).all()
        return [
            {
                "traveller_index": v.traveller_index,
                "mobile": v.mobile,
                "status": v.status,
                "trigger": v.trigger,
                "amount_minor": v.amount_minor,
                "provider_ref": v.provider_ref,
            }
            for v in rows
        ]


def utc_now() -> datetime:
    return datetime.now(UTC)


def sla_delta(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def refused_decisions(order_no: str) -> int:
    """How many ops decisions on this order were refused as invalid (each asks for a new form)."""
    with session_scope() as s:
        return int(
            s.scalar(
                select(func.count()).where(
                    StatusTransition.entity_type == "group_orders",
                    StatusTransition.entity_key == order_no,
                    StatusTransition.reason.like("invalid ops decision #%"),
                )
            )
            or 0
        )


def refuse_decision(order_no: str, attempt: int, actor: str, to_status: str, why: str) -> None:
    """Record a refused ops decision once per attempt (a replayed run records nothing new)."""
    reason = f"invalid ops decision #{attempt}: {why}"[:500]
    with session_scope() as s:
        seen = s.scalar(
            select(func.count()).where(
                StatusTransition.entity_key == order_no,
                StatusTransition.reason.like(f"invalid ops decision #{attempt}:%"),
            )
        )
        if not seen:
            current = s.get(GroupOrder, order_no)
            record_transition(
                s,
                entity_type="group_orders",
                entity_key=order_no,
                from_status=current.status if current else None,
                to_status=to_status,
                actor=actor,
                reason=reason,
                accepted=False,
            )


def refuse_late_decision(order_no: str, actor: str, to_status: str, deadline: str) -> None:
    with session_scope() as s:
        current = s.get(GroupOrder, order_no)
        record_transition(
            s,
            entity_type="group_orders",
            entity_key=order_no,
            from_status=current.status if current else None,
            to_status=to_status,
            actor=actor,
            reason=f"refused: SLA deadline {deadline} passed",
            accepted=False,
        )
