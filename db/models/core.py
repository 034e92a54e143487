"""Cross-process records: audit trail, side-effect claims and the append-only money ledger."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base
from db.types import UtcDateTime, utcnow


class StatusTransition(Base):
    """Every status change of every business object: who, when, from, to, why; refusals too."""

    __tablename__ = "status_transitions"
    __table_args__ = (Index("ix_status_transitions_entity", "entity_type", "entity_key", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_key: Mapped[str] = mapped_column(String(80))
    from_status: Mapped[str | None] = mapped_column(String(40))
    to_status: Mapped[str] = mapped_column(String(40))
    accepted: Mapped[bool] = mapped_column(Boolean, default=True)
    actor: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(Text, default="")
    flow_run_id: Mapped[str | None] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class SideEffect(Base):
    """One external side effect per idempotency key: recorded before the call and after it."""

    __tablename__ = "side_effects"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20))  # pending | succeeded | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    owner: Mapped[str | None] = mapped_column(String(80))  # who holds the pending claim
    provider_ref: Mapped[str | None] = mapped_column(String(200))
    result: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class LedgerEntry(Base):
    """Append-only money ledger; a change after posting is a new adjustment entry, never an update.

    UPDATE and DELETE are refused by database triggers (see the core migration).
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("entry_key", name="uq_ledger_entries_entry_key"),
        Index("ix_ledger_entries_book_date", "book", "business_date"),
        Index("ix_ledger_entries_book_key", "book", "business_key"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    entry_key: Mapped[str] = mapped_column(String(200))  # idempotency: one entry per key, ever
    book: Mapped[str] = mapped_column(String(40))  # e.g. coupon_settlement, group_payments
    business_key: Mapped[str] = mapped_column(String(80))  # reservation, order, booking…
    business_date: Mapped[date] = mapped_column(Date)
    account: Mapped[str] = mapped_column(String(60))  # e.g. commission, agency_cost_share
    counterparty: Mapped[str | None] = mapped_column(String(80))  # agency, hotel, partner…
    kind: Mapped[str] = mapped_column(String(20))  # posting | adjustment | reversal
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    attributes: Mapped[dict[str, Any] | None]
    memo: Mapped[str] = mapped_column(Text, default="")
    posted_by: Mapped[str] = mapped_column(String(120))
    posted_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
