"""Direct-contract hotels paid by virtual card: rates, sale check, statuses, reply reading.

Everything a finance person or the hotel desk could dispute is decided here, without I/O:
the stay's price from the contract rate table, the traveller's payment against the supply cost,
which status may follow which, which booking an e-mail reply belongs to and what it says.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from domain.errors import BusinessRuleError, InvalidInput
from domain.fx import FxRate, convert
from domain.money import Money, Rounding, parse_decimal, total
from domain.states import StateMachine

# --- statuses ---------------------------------------------------------------------------------

RECEIVED = "received"
CONFIRMING = "confirming"
AWAITING_CHARGE = "awaiting_charge"
COMPLETED = "completed"
CANCELLED = "cancelled"
SOLD_OUT = "sold_out"
NEEDS_REVIEW = "needs_review"

#: The labels the hotel desk uses (spec/hotel-vcc.md "Statuses").
STATUS_LABELS: dict[str, str] = {
    RECEIVED: "접수",
    CONFIRMING: "컨펌중",
    AWAITING_CHARGE: "VCC중",
    COMPLETED: "완료",
    CANCELLED: "취소",
    SOLD_OUT: "예약마감",
    NEEDS_REVIEW: "검토필요",
}

OPEN_STATUSES = frozenset({RECEIVED, CONFIRMING, AWAITING_CHARGE, NEEDS_REVIEW})

BOOKING_MACHINE = StateMachine.build(
    "hotel_booking",
    initial=RECEIVED,
    edges={
        RECEIVED: {CONFIRMING, SOLD_OUT, CANCELLED, NEEDS_REVIEW},
        CONFIRMING: {AWAITING_CHARGE, SOLD_OUT, CANCELLED, NEEDS_REVIEW},
        AWAITING_CHARGE: {COMPLETED, CANCELLED, NEEDS_REVIEW},
        # → received: ops accepted a sale that did not match; the booking goes on from step 4
        NEEDS_REVIEW: {RECEIVED, CONFIRMING, AWAITING_CHARGE, COMPLETED, CANCELLED, SOLD_OUT},
    },
    terminal={COMPLETED, CANCELLED, SOLD_OUT},
)


def status_label(status: str) -> str:
    """ "confirming" → "컨펌중 (confirming)"."""
    return f"{STATUS_LABELS.get(status, status)} ({status})"


@dataclass(frozen=True, slots=True)
class ChartDay:
    night: date
    rooms_left: int
    stop_sell: bool = False
    room_type: str = ""


# --- reference data -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContractRate:
    """One room type over one season (both ends inclusive), in the contract currency."""

    room_type: str
    season_start: date
    season_end: date
    currency: str
    nightly: Money
    extra_person: Money  # per person over base occupancy, per night
    breakfast: Money  # per person per night
    base_occupancy: int = 2
    max_occupancy: int = 3
    breakfast_included: bool = False

    def covers(self, night: date) -> bool:
        return self.season_start <= night <= self.season_end


@dataclass(frozen=True, slots=True)
class HotelConfig:
    """A direct-contract hotel as the hotel desk configures it (data/hotels.json)."""

    code: str
    name: str
    region: str
    timezone: str
    currency: str  # contract (rate table) currency
    reservation_email: str
    payments_email: str | None = None
    cc_emails: tuple[str, ...] = ()
    cc_required: int | None = None  # the hotel insists on exactly this many CC addresses
    room_chart: bool = False
    vnd: bool = False  # USD contract rates, paid in VND at the hotel's daily rate
    inquiry_first: bool = False
    split_delivery: bool = False
    reply_limit_days: int = 2
    reply_language: str = "en"
    fx_email: str | None = None  # VND hotels: who sends the daily USD/VND rate
    room_chart_default_rooms: int = 0
    room_chart_days: tuple[ChartDay, ...] = ()
    rates: tuple[ContractRate, ...] = ()

    @property
    def card_currency(self) -> str:
        return "VND" if self.vnd else self.currency


def _d(value: Any, fld: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(fld, value, "not an ISO date (YYYY-MM-DD)") from None


def parse_hotel(doc: Mapping[str, Any]) -> HotelConfig:
    """One hotel of data/hotels.json; errors name the hotel and field."""
    code = str(doc.get("code") or "")
    if not code:
        raise InvalidInput("hotels[].code", doc.get("code"), "every hotel needs a code")
    currency = str(doc.get("currency") or "")
    rates = []
    for i, r in enumerate(doc.get("rates") or []):
        where = f"hotels[{code}].rates[{i}]"
        cur = str(r.get("currency") or currency)
        rates.append(
            ContractRate(
                room_type=str(r["room_type"]),
                season_start=_d(r["season_start"], f"{where}.season_start"),
                season_end=_d(r["season_end"], f"{where}.season_end"),
                currency=cur,
                nightly=Money.of_exact(str(r["nightly"]), cur, f"{where}.nightly"),
                extra_person=Money.of_exact(
                    str(r.get("extra_person", "0")), cur, f"{where}.extra_person"
                ),
                breakfast=Money.of_exact(str(r.get("breakfast", "0")), cur, f"{where}.breakfast"),
                base_occupancy=int(r.get("base_occupancy", 2)),
                max_occupancy=int(r.get("max_occupancy", 3)),
                breakfast_included=bool(r.get("breakfast_included", False)),
            )
        )
    cc = tuple(doc.get("cc_emails") or ())
    hotel = HotelConfig(
        code=code,
        name=str(doc["name"]),
        region=str(doc.get("region", "")),
        timezone=str(doc.get("timezone", "UTC")),
        currency=currency,
        reservation_email=str(doc["reservation_email"]),
        payments_email=doc.get("payments_email"),
        cc_emails=cc,
        cc_required=doc.get("cc_required"),
        room_chart=bool(doc.get("room_chart", False)),
        vnd=bool(doc.get("vnd", False)),
        inquiry_first=bool(doc.get("inquiry_first", False)),
        split_delivery=bool(doc.get("split_delivery", False)),
        reply_limit_days=int(doc.get("reply_limit_days", 2)),
        reply_language=str(doc.get("reply_language", "en")),
        fx_email=doc.get("fx_email"),
        room_chart_default_rooms=int(doc.get("room_chart_default_rooms", 0)),
        room_chart_days=tuple(
            ChartDay(
                _d(d["night"], f"hotels[{code}].room_chart_days.night"),
                int(d.get("rooms_left", 0)),
                bool(d.get("stop_sell", False)),
                str(d.get("room_type", "")),
            )
            for d in doc.get("room_chart_days") or []
        ),
        rates=tuple(rates),
    )
    check_cc_rule(hotel)
    if hotel.split_delivery and not hotel.payments_email:
        raise InvalidInput(f"hotels[{code}].payments_email", None, "split delivery needs one")
    if hotel.vnd and hotel.currency != "USD":
        raise InvalidInput(f"hotels[{code}].currency", currency, "VND hotels contract in USD")
    return hotel


def parse_hotels(doc: Mapping[str, Any]) -> dict[str, HotelConfig]:
    """The whole hotel list; duplicate codes are refused."""
    out: dict[str, HotelConfig] = {}
    for h in doc.get("hotels") or []:
        hotel = parse_hotel(h)
        if hotel.code in out:
            raise InvalidInput("hotels[].code", hotel.code, "listed twice")
        out[hotel.code] = hotel
    return out


def check_cc_rule(hotel: HotelConfig) -> None:
    """A hotel that requires exactly N CC addresses gets exactly N, or nothing is sent."""
    if hotel.cc_required is not None and len(hotel.cc_emails) != hotel.cc_required:
        raise InvalidInput(
            f"hotels[{hotel.code}].cc_emails",
            list(hotel.cc_emails),
            f"this hotel requires exactly {hotel.cc_required} CC addresses",
        )


def mail_recipients(hotel: HotelConfig, purpose: str) -> tuple[list[str], list[str]]:
    """(to, cc) of a message to the hotel for `purpose` (sheet, inquiry, reminder, card…)."""
    check_cc_rule(hotel)
    if purpose == "card":  # card data: one recipient, never copied
        if hotel.split_delivery:
            assert hotel.payments_email is not None
            return [hotel.payments_email], []
        return [hotel.reservation_email], []
    return [hotel.reservation_email], list(hotel.cc_emails)


# --- intake ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Guest:
    name: str
    age_class: str = "adult"  # adult | child


@dataclass(frozen=True, slots=True)
class BookingRequest:
    """A traveller's paid booking as it arrives from the sales system."""

    booking_no: str
    hotel_code: str
    room_type: str
    check_in: date
    check_out: date
    guests: tuple[Guest, ...]
    paid: Money
    paid_at: datetime
    breakfast: bool = False
    company: str | None = None
    payment_key: str | None = None  # the traveller's payment at the gateway, if paid through it

    @property
    def nights(self) -> list[date]:
        return [
            self.check_in + timedelta(days=i) for i in range((self.check_out - self.check_in).days)
        ]

    @property
    def lead_guest(self) -> str:
        return self.guests[0].name


BOOKING_NO_RE = re.compile(r"(?<![A-Za-z0-9])BK[-_ ]?(\d{8})[-_ ]?(\d{3,6})(?!\d)", re.IGNORECASE)


def normalize_booking_no(text: str) -> str | None:
    m = BOOKING_NO_RE.fullmatch(text.strip())
    return f"BK-{m.group(1)}-{m.group(2)}" if m else None


def parse_booking(doc: Mapping[str, Any], hotels: Mapping[str, HotelConfig]) -> BookingRequest:
    """Validate a booking intake; every refusal names its field."""
    raw_no = str(doc.get("booking_no") or "")
    booking_no = normalize_booking_no(raw_no)
    if booking_no is None:
        raise InvalidInput("booking_no", raw_no, "expected BK-YYYYMMDD-NNNN")
    code = str(doc.get("hotel_code") or "")
    if code not in hotels:
        raise InvalidInput("hotel_code", code, "unknown hotel (not in the contract list)")
    hotel = hotels[code]
    check_in = _d(doc.get("check_in"), "check_in")
    check_out = _d(doc.get("check_out"), "check_out")
    if check_out <= check_in:
        raise InvalidInput("check_out", check_out.isoformat(), "must be after check_in")
    room_type = str(doc.get("room_type") or "")
    if not any(r.room_type == room_type for r in hotel.rates):
        raise InvalidInput("room_type", room_type, f"{code} has no contract rate for this room")
    guests_doc = doc.get("guests") or []
    if not guests_doc:
        raise InvalidInput("guests", guests_doc, "at least one guest with a name")
    guests = []
    for i, g in enumerate(guests_doc):
        name = str((g.get("name") if isinstance(g, Mapping) else g) or "").strip()
        if not name:
            raise InvalidInput(f"guests[{i}].name", name, "every guest needs a name")
        age = str(g.get("age_class", "adult")) if isinstance(g, Mapping) else "adult"
        guests.append(Guest(name, age))
    currency = str(doc.get("paid_currency") or "")
    paid = Money.of_exact(str(doc.get("paid_amount", "")), currency, "paid_amount")
    if paid.amount_minor <= 0:
        raise InvalidInput("paid_amount", doc.get("paid_amount"), "must be positive")
    paid_at_raw = doc.get("paid_at")
    try:
        paid_at = (
            paid_at_raw
            if isinstance(paid_at_raw, datetime)
            else datetime.fromisoformat(str(paid_at_raw))
        )
    except ValueError:
        raise InvalidInput("paid_at", paid_at_raw, "not an ISO datetime") from None
    if paid_at.tzinfo is None:
        raise InvalidInput("paid_at", paid_at_raw, "needs a UTC offset")
    payment_key = doc.get("payment_key")
    if payment_key is not None:
        if not isinstance(payment_key, str) or not 6 <= len(payment_key.strip()) <= 80:
            raise InvalidInput("payment_key", payment_key, "the gateway's payment key (6–80 chars)")
        if paid.currency != "KRW":
            raise InvalidInput("paid_currency", currency, "a gateway payment is in KRW")
        payment_key = payment_key.strip()
    return BookingRequest(
        booking_no=booking_no,
        hotel_code=code,
        room_type=room_type,
        check_in=check_in,
        check_out=check_out,
        guests=tuple(guests),
        paid=paid,
        paid_at=paid_at,
        breakfast=bool(doc.get("breakfast", False)),
        company=doc.get("company"),
        payment_key=payment_key,
    )


# --- rate -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NightLine:
    night: date
    room: Money
    extra_persons: Money
    breakfast: Money

    @property
    def total(self) -> Money:
        return self.room + self.extra_persons + self.breakfast


@dataclass(frozen=True, slots=True)
class StayQuote:
    """The stay's price from the contract rate table, night by night."""

    lines: tuple[NightLine, ...]
    total: Money
    guests: int
    extra_persons: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "nights": len(self.lines),
            "guests": self.guests,
            "extra_persons": self.extra_persons,
            "total_minor": self.total.amount_minor,
            "currency": self.total.currency,
            "lines": [
                {
                    "night": ln.night.isoformat(),
                    "room": ln.room.amount_str(),
                    "extra_persons": ln.extra_persons.amount_str(),
                    "breakfast": ln.breakfast.amount_str(),
                    "total": ln.total.amount_str(),
                }
                for ln in self.lines
            ],
        }


def rate_for_night(hotel: HotelConfig, room_type: str, night: date) -> ContractRate:
    for rate in hotel.rates:
        if rate.room_type == room_type and rate.covers(night):
            return rate
    raise InvalidInput(
        "check_in", night.isoformat(), f"{hotel.code} {room_type}: no contract rate for this night"
    )


def quote_stay(hotel: HotelConfig, booking: BookingRequest) -> StayQuote:
    """Nightly rate + extra persons over base occupancy + breakfast per person, every night."""
    guests = len(booking.guests)
    lines = []
    extra = 0
    for night in booking.nights:
        rate = rate_for_night(hotel, booking.room_type, night)
        if guests > rate.max_occupancy:
            raise InvalidInput(
                "guests", guests, f"{booking.room_type} sleeps at most {rate.max_occupancy}"
            )
        extra = max(0, guests - rate.base_occupancy)
        wants_breakfast = booking.breakfast and not rate.breakfast_included
        lines.append(
            NightLine(
                night=night,
                room=rate.nightly,
                extra_persons=rate.extra_person * extra,
                breakfast=rate.breakfast * guests if wants_breakfast else Money.zero(rate.currency),
            )
        )
    currencies = {ln.room.currency for ln in lines}
    if len(currencies) != 1:
        raise InvalidInput("rates", sorted(currencies), "one stay cannot mix rate currencies")
    return StayQuote(
        lines=tuple(lines),
        total=total((ln.total for ln in lines), currencies.pop()),
        guests=guests,
        extra_persons=extra,
    )


def card_amount(hotel: HotelConfig, quote: StayQuote, vnd_rate: FxRate | None) -> Money:
    """What the card is issued for: the quote, or for VND hotels the quote in VND (floor)."""
    if not hotel.vnd:
        return quote.total
    if vnd_rate is None:
        raise MissingHotelFx(f"{hotel.code}: today's USD/VND rate from the hotel is not in yet")
    if (vnd_rate.base, vnd_rate.quote) != ("USD", "VND"):
        raise InvalidInput("vnd_rate", f"{vnd_rate.base}/{vnd_rate.quote}", "must be USD/VND")
    return convert(quote.total, vnd_rate, Rounding.FLOOR)


class MissingHotelFx(BusinessRuleError):
    """A VND hotel's daily rate e-mail has not arrived yet: wait for it."""


# --- sale reconciliation ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SaleCheck:
    """The traveller's payment against the hotel's total, both in KRW at payment time."""

    ok: bool
    supply_cost_krw: Money
    paid_krw: Money
    difference_krw: Money  # paid − supply cost
    tolerance_krw: Money
    fx_rate: FxRate | None
    reason: str = ""


def reconcile_sale(
    quote_total: Money,
    paid: Money,
    fx_at_payment: FxRate | None,
    tolerance_percent: str = "1",
    tolerance_min_krw: int = 1000,
) -> SaleCheck:
    """Supply cost in KRW = total × FX at payment time (floor); refuse a gap beyond tolerance.

    The traveller pays in KRW or in the hotel's currency. Paying in a third currency is refused
    (`paid_currency`). Tolerance is the larger of `tolerance_percent` of the supply cost and
    `tolerance_min_krw`, both ways.
    """
    if quote_total.currency == "KRW":
        supply = quote_total
        rate = None
    else:
        if fx_at_payment is None:
            raise InvalidInput("fx_rate", None, f"no {quote_total.currency}/KRW rate at payment")
        if (fx_at_payment.base, fx_at_payment.quote) != (quote_total.currency, "KRW"):
            raise InvalidInput(
                "fx_rate",
                f"{fx_at_payment.base}/{fx_at_payment.quote}",
                f"need {quote_total.currency}/KRW",
            )
        supply = convert(quote_total, fx_at_payment, Rounding.FLOOR)
        rate = fx_at_payment
    if paid.currency == "KRW":
        paid_krw = paid
    elif paid.currency == quote_total.currency:
        paid_krw = paid if rate is None else convert(paid, rate, Rounding.FLOOR)
    else:
        raise InvalidInput(
            "paid_currency",
            paid.currency,
            f"currency mismatch: traveller paid {paid.currency}, hotel contract is "
            f"{quote_total.currency} (KRW or {quote_total.currency} expected)",
        )
    pct = parse_decimal(tolerance_percent, "tolerance_percent")
    tolerance = Money(
        max(supply.percent(pct, Rounding.FLOOR).amount_minor, tolerance_min_krw), "KRW"
    )
    diff = paid_krw - supply
    ok = abs(diff.amount_minor) <= tolerance.amount_minor
    reason = (
        ""
        if ok
        else (
            f"amount mismatch: paid {paid_krw} vs supply cost {supply} "
            f"(difference {diff}, tolerance {tolerance})"
        )
    )
    return SaleCheck(ok, supply, paid_krw, diff, tolerance, rate, reason)


# --- room chart -----------------------------------------------------------------------------


def check_room_chart(
    nights: Sequence[date], chart: Mapping[date, ChartDay], default_rooms: int = 0
) -> tuple[bool, str]:
    """(available, reason): every night needs a room left and no stop-sell.

    The chart lists the nights the hotel has told us about; other nights have `default_rooms`.
    """
    for night in nights:
        day = chart.get(night) or ChartDay(night, default_rooms)
        if day.stop_sell:
            return False, f"stop-sell on {night.isoformat()}"
        if day.rooms_left <= 0:
            return False, f"no rooms left on {night.isoformat()}"
    return True, ""


# --- waiting for the hotel ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReplyDeadlines:
    reminder_at: datetime
    escalate_at: datetime


def reply_deadlines(sent_at: datetime, reply_limit_days: int, day: timedelta) -> ReplyDeadlines:
    """Reminder at half the hotel's reply limit, ops escalation at the limit.

    `day` is the length of a "day" (a setting: 24 h in production, seconds in tests).
    """
    if reply_limit_days <= 0:
        raise InvalidInput("reply_limit_days", reply_limit_days, "must be at least 1")
    limit = day * reply_limit_days
    return ReplyDeadlines(sent_at + limit / 2, sent_at + limit)


def card_expired(
    valid_until: date, today: date, grace_days: int = 3, charged: bool = False
) -> bool:
    """An uncharged card is closed once its end date plus grace has passed."""
    return not charged and today > valid_until + timedelta(days=grace_days)


@dataclass(frozen=True, slots=True)
class ChargeCheck:
    ok: bool
    reason: str = ""


def reconcile_charge(card: Money, charges: Iterable[Money]) -> ChargeCheck:
    """The hotel's charges on the card against the card's amount (currency and sum)."""
    items = list(charges)
    if not items:
        return ChargeCheck(False, "no charge yet")
    if any(c.currency != card.currency for c in items):
        cur = sorted({c.currency for c in items})
        return ChargeCheck(False, f"currency mismatch: charged in {cur}, card is {card.currency}")
    charged = total(items, card.currency)
    if charged != card:
        return ChargeCheck(False, f"amount mismatch: charged {charged}, card is {card}")
    return ChargeCheck(True)


# --- reading hotel replies ----------------------------------------------------------------------

_QUOTE_HEADERS = re.compile(
    r"^(?:-{2,}\s*(?:original message|forwarded message|원본 메시지|전달된 메시지)\s*-{2,}"
    r"|on .{0,200}wrote:|.{0,80}\d{4}.{0,80}(?:작성|wrote):?"
    r"|from:\s.*|보낸 사람:\s.*|begin forwarded message:?)\s*$",
    re.IGNORECASE | re.MULTILINE,
)

_CONF_RE = re.compile(
    r"(?:confirmation|conf(?:irm)?\.?|confirm(?:ed)?)\s*(?:no\.?|number|num|#|code|id)?"
    r"\s*(?:is|:|#|=|-)?\s*(?:#\s*)?((?=[A-Z-]*\d)[A-Z0-9][A-Z0-9-]{3,24})"
    r"|(?:확인\s*번호|컨펌\s*번호|예약\s*확인\s*번호|확정\s*번호)\s*(?:는|은)?\s*[:#=\-]?\s*"
    r"((?=[A-Z-]*\d)[A-Z0-9][A-Z0-9-]{3,24})",
    re.IGNORECASE,
)

_DECLINE_RE = re.compile(
    r"fully booked|sold[ -]?out|no rooms?\b|no availability|not available|unavailable|"
    r"unable to (?:confirm|accommodate|accept)|cannot (?:confirm|accommodate|accept)|"
    r"can ?not (?:confirm|accommodate)|regret to inform|decline|"
    r"만실|예약\s*마감|마감되었|객실이\s*없|객실\s*없음|예약(?:이)?\s*불가|수용\s*불가|어렵습니다",
    re.IGNORECASE,
)
_AVAILABLE_RE = re.compile(
    r"\b(?:yes|available|we can (?:accept|accommodate|confirm)|rooms? (?:is|are) available)\b|"
    r"가능합니다|가능해요|예약\s*가능|객실\s*있습니다",
    re.IGNORECASE,
)


def split_quoted(body: str) -> tuple[str, str]:
    """(new text, quoted or forwarded text) of a reply body."""
    lines = body.splitlines()
    for i, line in enumerate(lines):
        if line.lstrip().startswith(">") or _QUOTE_HEADERS.match(line.strip()):
            return "\n".join(lines[:i]), "\n".join(lines[i:])
    return body, ""


def unquote(text: str) -> str:
    return "\n".join(re.sub(r"^\s*(?:>\s?)+", "", ln) for ln in text.splitlines())


def find_booking_numbers(subject: str, body: str) -> list[str]:
    """Booking numbers mentioned, subject first, then the new text, then quoted text."""
    new, quoted = split_quoted(body)
    seen: list[str] = []
    for part in (subject, new, unquote(quoted)):
        for m in BOOKING_NO_RE.finditer(part):
            no = f"BK-{m.group(1)}-{m.group(2)}"
            if no not in seen:
                seen.append(no)
    return seen


@dataclass(frozen=True, slots=True)
class ReplyReading:
    """What a hotel's e-mail says about one booking."""

    kind: str  # confirmed | declined | available | unclear
    booking_no: str | None
    confirmation_no: str | None = None
    candidates: tuple[str, ...] = ()
    reason: str = ""


def extract_confirmation_number(text: str, booking_no: str | None = None) -> str | None:
    """The hotel's confirmation number: "Confirmation No: H12345", "확인번호: 88812"…"""
    for m in _CONF_RE.finditer(text):
        value = (m.group(1) or m.group(2) or "").strip("-").upper()
        if not value or not any(ch.isdigit() for ch in value):
            continue  # "Confirmation of booking" and other words
        if booking_no and normalize_booking_no(value) == booking_no:
            continue  # our own number, quoted back
        if BOOKING_NO_RE.fullmatch(value):
            continue
        return value
    return None


def read_reply(subject: str, body: str, open_bookings: Iterable[str] | None = None) -> ReplyReading:
    """Match a reply to one booking and classify it (confirmed with a number / declined / …).

    The new text is read first; forwarded or quoted text only when the new text says nothing
    (a colleague forwarding the hotel's answer). A reply naming several open bookings, or none,
    is left `unclear` for ops (quarantine).
    """
    found = find_booking_numbers(subject, body)
    if open_bookings is not None:
        known = set(open_bookings)
        matched = [b for b in found if b in known]
    else:
        matched = found
    if not matched:
        return ReplyReading("unclear", None, candidates=tuple(found), reason="no open booking")
    if len(matched) > 1:
        return ReplyReading(
            "unclear", None, candidates=tuple(matched), reason="several bookings named"
        )
    booking_no = matched[0]
    new, quoted = split_quoted(body)
    for part in (f"{subject}\n{new}", unquote(quoted)):
        if not part.strip():
            continue
        declined = _DECLINE_RE.search(part)
        if declined:
            return ReplyReading("declined", booking_no, reason=declined.group(0))
        conf = extract_confirmation_number(part, booking_no)
        if conf:
            return ReplyReading("confirmed", booking_no, confirmation_no=conf)
        if _AVAILABLE_RE.search(part):
            return ReplyReading("available", booking_no)
    return ReplyReading("unclear", booking_no, reason="no confirmation number or decline found")


# --- vouchers -------------------------------------------------------------------------------

#: Labels of the price area on hotel vouchers (EN/KR).
PRICE_LABEL_RE = re.compile(
    r"\b(?:total|amount|rate|price|room charge|grand total|balance|tax(?:es)?)\b|"
    r"금액|요금|합계|총액|결제",
    re.IGNORECASE,
)
#: Amounts: "USD 1,234.00", "$ 250", "1,250,000 VND", "₩120,000".
AMOUNT_RE = re.compile(
    r"(?:USD|VND|KRW|US\$|\$|₩|₫)\s?\d[\d,]*(?:\.\d{1,2})?|\d[\d,]*(?:\.\d{1,2})?\s?(?:USD|VND|KRW|원|₫)",
    re.IGNORECASE,
)


def is_price_text(text: str) -> bool:
    """Whether a line of a voucher shows a price (a labelled line or an amount with currency)."""
    return bool(AMOUNT_RE.search(text) or PRICE_LABEL_RE.search(text))


def contains_amount(text: str) -> bool:
    return bool(AMOUNT_RE.search(text))


# --- dashboard ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenBookingRow:
    booking_no: str
    hotel_code: str
    status: str
    since: datetime
    reply_limit_days: int
    age_days: Decimal = field(default=Decimal(0))
    overdue: bool = False


def open_bookings_table(
    rows: Iterable[Mapping[str, Any]], now: datetime, day: timedelta = timedelta(days=1)
) -> list[OpenBookingRow]:
    """Open bookings by status and age (oldest first); a hotel past its reply limit is overdue."""
    out = []
    for r in rows:
        if r["status"] not in OPEN_STATUSES:
            continue
        age = now - r["since"]
        days = Decimal(age.total_seconds()) / Decimal(day.total_seconds())
        limit = int(r.get("reply_limit_days") or 2)
        overdue = r["status"] == CONFIRMING and age > day * limit
        out.append(
            OpenBookingRow(
                booking_no=r["booking_no"],
                hotel_code=r["hotel_code"],
                status=r["status"],
                since=r["since"],
                reply_limit_days=limit,
                age_days=days.quantize(Decimal("0.1")),
                overdue=overdue or r["status"] == NEEDS_REVIEW,
            )
        )
    out.sort(key=lambda x: (not x.overdue, x.since))
    return out


def render_open_bookings(rows: Sequence[OpenBookingRow], as_of: datetime) -> str:
    """Markdown table for the daily artifact; overdue rows are marked so they stand out."""
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.status] = counts.get(r.status, 0) + 1
    head = " · ".join(f"{status_label(s)}: {n}" for s, n in sorted(counts.items())) or "none"
    lines = [
        f"### Open hotel bookings — {as_of.strftime('%Y-%m-%d %H:%M')} KST",
        "",
        f"**{len(rows)} open** ({head}); **{sum(r.overdue for r in rows)} overdue** 🔴",
        "",
        "| | booking | hotel | status | age (days) | reply limit |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        mark = "🔴 **OVERDUE**" if r.overdue else ""
        lines.append(
            f"| {mark} | {r.booking_no} | {r.hotel_code} | {status_label(r.status)} "
            f"| {r.age_days} | {r.reply_limit_days} d |"
        )
    return "\n".join(lines) + "\n"
