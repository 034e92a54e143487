"""Direct-contract hotels, their contract rates and room charts, bookings and virtual cards."""

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
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.models.base import Base
from db.types import UtcDateTime, utcnow


class Hotel(Base):
    __tablename__ = "hotels"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(40))
    timezone: Mapped[str] = mapped_column(String(40))
    currency: Mapped[str] = mapped_column(String(3))  # contract currency (USD, VND…)
    reservation_email: Mapped[str] = mapped_column(String(200))
    payments_email: Mapped[str | None] = mapped_column(String(200))
    cc_emails: Mapped[list[Any]] = mapped_column(default=list)
    room_chart: Mapped[bool] = mapped_column(Boolean, default=False)
    vnd: Mapped[bool] = mapped_column(Boolean, default=False)
    inquiry_first: Mapped[bool] = mapped_column(Boolean, default=False)
    split_delivery: Mapped[bool] = mapped_column(Boolean, default=False)
    reply_limit_days: Mapped[int] = mapped_column(Integer, default=2)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    cc_required: Mapped[int | None] = mapped_column(Integer)  # exactly this many CCs, if set


class HotelRate(Base):
    """A contract rate for one room type over one season (dates inclusive)."""

    __tablename__ = "hotel_rates"
    __table_args__ = (Index("ix_hotel_rates_lookup", "hotel_code", "room_type", "season_start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hotel_code: Mapped[str] = mapped_column(ForeignKey("hotels.code"))
    room_type: Mapped[str] = mapped_column(String(40))
    season_start: Mapped[date] = mapped_column(Date)
    season_end: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    nightly_minor: Mapped[int] = mapped_column(BigInteger)
    extra_person_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # per person per night
    breakfast_minor: Mapped[int] = mapped_column(BigInteger, default=0)  # per person per night
    base_occupancy: Mapped[int] = mapped_column(Integer, default=2)
    max_occupancy: Mapped[int] = mapped_column(Integer, default=3)
    breakfast_included: Mapped[bool] = mapped_column(Boolean, default=False)


class RoomChartDay(Base):
    """Availability of a room type on one night, for hotels flagged `room_chart`."""

    __tablename__ = "room_chart_days"
    __table_args__ = (UniqueConstraint("hotel_code", "room_type", "night"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hotel_code: Mapped[str] = mapped_column(ForeignKey("hotels.code"))
    room_type: Mapped[str] = mapped_column(String(40))
    night: Mapped[date] = mapped_column(Date)
    rooms_left: Mapped[int] = mapped_column(Integer)
    stop_sell: Mapped[bool] = mapped_column(Boolean, default=False)


class HotelBooking(Base):
    """One traveller booking at a direct-contract hotel; `status` follows hotel-vcc.md."""

    __tablename__ = "hotel_bookings"
    __table_args__ = (Index("ix_hotel_bookings_status", "status"),)

    booking_no: Mapped[str] = mapped_column(String(40), primary_key=True)
    hotel_code: Mapped[str] = mapped_column(ForeignKey("hotels.code"))
    room_type: Mapped[str] = mapped_column(String(40))
    check_in: Mapped[date] = mapped_column(Date)
    check_out: Mapped[date] = mapped_column(Date)
    guests: Mapped[list[Any]] = mapped_column(default=list)  # [{"name": …, "age_class": …}]
    company: Mapped[str | None] = mapped_column(String(40))  # for TMC fee lines
    paid_amount_minor: Mapped[int] = mapped_column(BigInteger)
    paid_currency: Mapped[str] = mapped_column(String(3))
    paid_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: the traveller's payment at the gateway (KRW); a cancellation refunds it there
    payment_key: Mapped[str | None] = mapped_column(String(80))
    total_minor: Mapped[int | None] = mapped_column(BigInteger)  # hotel currency
    currency: Mapped[str | None] = mapped_column(String(3))
    supply_cost_krw: Mapped[int | None] = mapped_column(BigInteger)
    fx_rate: Mapped[str | None] = mapped_column(String(40))  # decimal string, with its date below
    fx_rate_date: Mapped[date | None] = mapped_column(Date)
    confirmation_no: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(30), default="received")
    status_reason: Mapped[str] = mapped_column(Text, default="")
    flow_run_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    breakfast: Mapped[bool] = mapped_column(Boolean, default=False)
    #: what the run waits for while suspended: hotel_fx | inquiry | hotel_reply | ops | charge
    waiting_for: Mapped[str | None] = mapped_column(String(30))
    sheet_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reply_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # reply landed in the mailbox
    card_emailed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    details: Mapped[dict[str, Any] | None]  # quote lines, reply reading, voucher result…


class HotelFxRate(Base):
    """A VND hotel's daily USD/VND rate, read from the hotel's FX e-mail."""

    __tablename__ = "hotel_fx_rates"
    __table_args__ = (UniqueConstraint("hotel_code", "as_of"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hotel_code: Mapped[str] = mapped_column(ForeignKey("hotels.code"))
    as_of: Mapped[date] = mapped_column(Date)
    base: Mapped[str] = mapped_column(String(3))
    quote: Mapped[str] = mapped_column(String(3))
    rate: Mapped[str] = mapped_column(String(40))  # decimal string
    message_id: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class VirtualCard(Base):
    """The single-use card issued for a booking. PAN, expiry and CVC only ever stored encrypted."""

    __tablename__ = "virtual_cards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    booking_no: Mapped[str] = mapped_column(ForeignKey("hotel_bookings.booking_no"), unique=True)
    issuer_card_id: Mapped[str] = mapped_column(String(80), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    pan_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    expiry_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    cvc_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    masked_pan: Mapped[str] = mapped_column(String(40))  # "5412 •••• •••• 1234"
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    valid_until: Mapped[date] = mapped_column(Date)
    max_transactions: Mapped[int] = mapped_column(Integer, default=3)
    status: Mapped[str] = mapped_column(String(20), default="active")  # active|charged|closed
    charged_minor: Mapped[int | None] = mapped_column(BigInteger)
    charged_currency: Mapped[str | None] = mapped_column(String(3))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
