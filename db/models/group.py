"""Group orders (5+ travellers), their immutable quotes, payments and gift vouchers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base
from db.types import UtcDateTime, utcnow


class GroupOrder(Base):
    __tablename__ = "group_orders"
    __table_args__ = (Index("ix_group_orders_status", "status"),)

    order_no: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_code: Mapped[str] = mapped_column(String(40))
    departure_date: Mapped[date] = mapped_column(Date)
    group_model: Mapped[str] = mapped_column(String(1))  # A | B | C
    party_size: Mapped[int] = mapped_column(Integer)
    travellers: Mapped[list[Any]] = mapped_column(default=list)  # [{"name", "mobile", "type"}]
    options: Mapped[list[Any]] = mapped_column(default=list)
    contact: Mapped[dict[str, Any]] = mapped_column(default=dict)
    company: Mapped[str | None] = mapped_column(String(40))  # for TMC fee lines
    currency: Mapped[str] = mapped_column(String(3), default="KRW")
    status: Mapped[str] = mapped_column(String(30), default="quoted")
    light: Mapped[str | None] = mapped_column(String(10))  # red | yellow | green
    light_reasons: Mapped[list[Any]] = mapped_column(default=list)
    quote_id: Mapped[str | None] = mapped_column(String(40))
    confirmed_quote_id: Mapped[str | None] = mapped_column(String(40))
    deposit_paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    deadline_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    balance_due_on: Mapped[date | None] = mapped_column(Date)
    flow_run_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class GroupQuote(Base):
    """A quote as given: items with their price versions. Never updated after it is stored."""

    __tablename__ = "group_quotes"

    quote_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    order_no: Mapped[str] = mapped_column(ForeignKey("group_orders.order_no"))
    items: Mapped[list[Any]] = mapped_column(default=list)
    currency: Mapped[str] = mapped_column(String(3))
    low_minor: Mapped[int] = mapped_column(BigInteger)
    high_minor: Mapped[int | None] = mapped_column(BigInteger)  # None: some item has no price yet
    confirmed: Mapped[bool] = mapped_column(default=False)  # every item v1
    deposit_minor: Mapped[int] = mapped_column(BigInteger)
    notices: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class GroupPayment(Base):
    """Deposit, balance or refund through the payment gateway, one per idempotency key."""

    __tablename__ = "group_payments"
    __table_args__ = (UniqueConstraint("idempotency_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_no: Mapped[str] = mapped_column(ForeignKey("group_orders.order_no"))
    kind: Mapped[str] = mapped_column(String(10))  # deposit | balance | refund
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    idempotency_key: Mapped[str] = mapped_column(String(120))
    gateway_payment_key: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(20), default="requested")
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    settled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class GiftVoucher(Base):
    """One mobile gift voucher per traveller per order, sent at most once."""

    __tablename__ = "gift_vouchers"
    __table_args__ = (UniqueConstraint("order_no", "traveller_index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_no: Mapped[str] = mapped_column(ForeignKey("group_orders.order_no"))
    traveller_index: Mapped[int] = mapped_column(Integer)
    mobile: Mapped[str] = mapped_column(String(20))
    trigger: Mapped[str] = mapped_column(String(20))  # confirmation | departure | event_end
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="KRW")
    message: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="pending")
    provider_ref: Mapped[str | None] = mapped_column(String(80))
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
