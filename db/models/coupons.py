"""Coupons (lifecycle), downloads and uses; package reservations that carry agency cost shares."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base
from db.types import UtcDateTime, utcnow


class Coupon(Base):
    __tablename__ = "coupons"

    serial: Mapped[str] = mapped_column(String(10), primary_key=True)  # CP + 8 digits
    name: Mapped[str] = mapped_column(String(13))
    vendor: Mapped[str] = mapped_column(String(40))
    scope: Mapped[str] = mapped_column(String(20))  # all_facilities | facilities
    facilities: Mapped[list[Any]] = mapped_column(default=list)
    audience: Mapped[str] = mapped_column(String(20))  # everyone | channel_friends
    discount_kind: Mapped[str] = mapped_column(String(10))  # fixed | percent
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    rate_pct: Mapped[str | None] = mapped_column(String(12))  # decimal string for percent coupons
    currency: Mapped[str] = mapped_column(String(3), default="KRW")
    min_order_minor: Mapped[int | None] = mapped_column(BigInteger)
    issue_limit: Mapped[int | None] = mapped_column(Integer)  # None = unlimited
    issued_count: Mapped[int] = mapped_column(Integer, default=0)
    used_count: Mapped[int] = mapped_column(Integer, default=0)
    issue_start: Mapped[datetime] = mapped_column(UtcDateTime)
    issue_end: Mapped[datetime] = mapped_column(UtcDateTime)
    validity_days: Mapped[int | None] = mapped_column(Integer)
    valid_from: Mapped[datetime | None] = mapped_column(UtcDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    seller_borne: Mapped[bool] = mapped_column(default=False)
    agency_share_pct_old: Mapped[str | None] = mapped_column(String(8))  # "0.4" (CP0…)
    agency_share_pct_new: Mapped[int | None] = mapped_column(Integer)  # 0–50 (CP1…)
    state: Mapped[str] = mapped_column(String(20), default="waiting")
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CouponDownload(Base):
    """A customer's copy of a coupon; usable until `valid_until` even after issuing stops."""

    __tablename__ = "coupon_downloads"
    __table_args__ = (UniqueConstraint("serial", "customer_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    serial: Mapped[str] = mapped_column(ForeignKey("coupons.serial"))
    customer_id: Mapped[str] = mapped_column(String(40))
    downloaded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    valid_until: Mapped[datetime] = mapped_column(UtcDateTime)
    state: Mapped[str] = mapped_column(String(20), default="available")  # available|used


class CouponUse(Base):
    """A coupon applied to an order; the amount is fixed at first use; cancellations kept."""

    __tablename__ = "coupon_uses"
    __table_args__ = (Index("ix_coupon_uses_completed", "usage_completed_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    download_id: Mapped[int | None] = mapped_column(ForeignKey("coupon_downloads.id"))
    serial: Mapped[str] = mapped_column(String(10))
    order_id: Mapped[str] = mapped_column(String(40))
    order_amount_minor: Mapped[int] = mapped_column(BigInteger)
    discount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="KRW")
    seller_borne: Mapped[bool] = mapped_column(default=False)
    used_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    usage_completed_on: Mapped[date | None] = mapped_column(Date)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class PackageReservation(Base):
    """A package sale by a sales agency: the inputs of the commission and cost-share formulas."""

    __tablename__ = "package_reservations"
    __table_args__ = (Index("ix_package_reservations_changed", "settle_on"),)

    reservation_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    agency: Mapped[str] = mapped_column(String(40))
    contract_type: Mapped[str] = mapped_column(String(3))  # 003 official centre, 014 brand mall…
    channel: Mapped[str] = mapped_column(String(20))  # SCO | SCF | partner_portal | …
    transaction_type: Mapped[str] = mapped_column(String(1))  # T | R | W
    sale_price_minor: Mapped[int] = mapped_column(BigInteger)
    variable_price_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    base_pct: Mapped[str] = mapped_column(String(12))
    over_pct: Mapped[str] = mapped_column(String(12), default="0")
    grade_pct: Mapped[str] = mapped_column(String(12), default="0")
    coupon_serial: Mapped[str | None] = mapped_column(String(10))
    coupon_amount_minor: Mapped[int | None] = mapped_column(BigInteger)  # fixed at first use
    agency_share_pct: Mapped[str | None] = mapped_column(String(12))
    currency: Mapped[str] = mapped_column(String(3), default="KRW")
    status: Mapped[str] = mapped_column(String(20), default="booked")  # booked|completed|cancelled
    settle_on: Mapped[date | None] = mapped_column(Date)  # business day it is next settled
    travellers: Mapped[list[Any]] = mapped_column(default=list)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class SettlementRun(Base):
    """One settlement per business day; the unique day makes concurrent runs post once."""

    __tablename__ = "settlement_runs"
    __table_args__ = (UniqueConstraint("book", "business_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    book: Mapped[str] = mapped_column(String(40))
    business_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="running")
    flow_run_id: Mapped[str | None] = mapped_column(String(40))
    totals: Mapped[dict[str, Any] | None]
    rejected: Mapped[list[Any] | None]
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    notes: Mapped[str] = mapped_column(Text, default="")
