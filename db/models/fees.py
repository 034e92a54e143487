"""TMC fee schedules (data), payment-method settings, fee lines and delayed invoices."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base
from db.types import UtcDateTime, utcnow


class FeeSchedule(Base):
    """A whole schedule document (tmc-fees.md shape); owner 'TMC' or a company code."""

    __tablename__ = "fee_schedules"
    __table_args__ = (UniqueConstraint("owner", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer, default=1)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    document: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class FeePaymentSetting(Base):
    """How a company (or one legal entity) pays TMC fees, and whether travellers see them."""

    __tablename__ = "fee_payment_settings"
    __table_args__ = (UniqueConstraint("company", "legal_entity"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    company: Mapped[str] = mapped_column(String(40))
    legal_entity: Mapped[str] = mapped_column(String(80), default="")  # "" = company default
    method: Mapped[str] = mapped_column(String(20))  # same_card | central_card | delayed_invoice
    central_card_name: Mapped[str | None] = mapped_column(String(80))
    terms: Mapped[str | None] = mapped_column(String(10))  # NET30 | NET60
    show_to_traveller: Mapped[bool] = mapped_column(Boolean, default=True)
    invoice_email: Mapped[str | None] = mapped_column(String(200))
    customer_name: Mapped[str | None] = mapped_column(String(200))  # as printed on invoices
    set_by_role: Mapped[str] = mapped_column(String(20), default="tmc_admin")


class FeeLine(Base):
    """One fee charged for one event; `line_key` makes it once per event whatever retries."""

    __tablename__ = "fee_lines"
    __table_args__ = (
        UniqueConstraint("line_key"),
        Index("ix_fee_lines_invoice", "payment_method", "invoice_no", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    line_key: Mapped[str] = mapped_column(String(200))
    company: Mapped[str] = mapped_column(String(40))
    legal_entity: Mapped[str] = mapped_column(String(80), default="")
    trip_key: Mapped[str] = mapped_column(String(80))  # booking no, order no…
    event_key: Mapped[str | None] = mapped_column(String(200), index=True)
    event_index: Mapped[int] = mapped_column(Integer)
    event_type: Mapped[str] = mapped_column(String(30))
    kind: Mapped[str] = mapped_column(String(20))  # trip | transaction | service
    rule: Mapped[str] = mapped_column(String(120))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    payment_method: Mapped[str] = mapped_column(String(20))
    waived: Mapped[bool] = mapped_column(Boolean, default=False)
    waiver_code: Mapped[str | None] = mapped_column(String(40))
    waiver_text: Mapped[str | None] = mapped_column(Text)
    waived_by: Mapped[str | None] = mapped_column(String(120))
    invoice_no: Mapped[str | None] = mapped_column(ForeignKey("fee_invoices.invoice_no"))
    source: Mapped[str] = mapped_column(String(30))  # hotel_vcc | group | manual
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class FeeTrip(Base):
    """A trip's fee state: what its earlier events left, so the next event is charged right.

    Recording an event locks this row, so concurrent events of one trip are charged in turn.
    """

    __tablename__ = "fee_trips"

    trip_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    company: Mapped[str] = mapped_column(String(40), default="")
    legal_entity: Mapped[str] = mapped_column(String(80), default="")
    vip: Mapped[bool] = mapped_column(Boolean, default=False)
    currency: Mapped[str] = mapped_column(String(3))
    booking_seen: Mapped[bool] = mapped_column(Boolean, default=False)
    trip_charged_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    highest_trip_minor: Mapped[int | None] = mapped_column(BigInteger)
    highest_trip_rule: Mapped[str | None] = mapped_column(String(120))
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class FeeEventRecord(Base):
    """One business event of a trip, once per `event_key` (its fee lines point back to it)."""

    __tablename__ = "fee_events"
    __table_args__ = (Index("ix_fee_events_trip", "trip_key", "event_index"),)

    event_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    trip_key: Mapped[str] = mapped_column(ForeignKey("fee_trips.trip_key"))
    event_index: Mapped[int] = mapped_column(Integer)
    event_type: Mapped[str] = mapped_column(String(30))
    payload: Mapped[dict[str, Any]]
    source: Mapped[str] = mapped_column(String(30))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class FeeInvoice(Base):
    __tablename__ = "fee_invoices"
    __table_args__ = (UniqueConstraint("company", "legal_entity", "period"),)

    invoice_no: Mapped[str] = mapped_column(String(40), primary_key=True)
    company: Mapped[str] = mapped_column(String(40))
    legal_entity: Mapped[str] = mapped_column(String(80), default="")
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    currency: Mapped[str] = mapped_column(String(3))
    total_minor: Mapped[int] = mapped_column(BigInteger)
    waived_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    terms: Mapped[str] = mapped_column(String(10))
    issued_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    recipient: Mapped[str | None] = mapped_column(String(200))
    line_count: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="issued")  # issued | sent
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    notes: Mapped[str] = mapped_column(Text, default="")
