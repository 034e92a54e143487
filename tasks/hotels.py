"""Hotel VCC tasks: one side effect or one business step each, safe to run again after a resume.

Reads and bookkeeping the flow branches on (`read_booking`, `set_waiting`, `set_status`…) are
plain functions: a task run each would cost the Prefect server more than the work itself.

The flow re-executes from the top every time it is resumed, so every task here either reads the
booking's current state or does its effect at most once per business key (`perform_once`,
`deliver_once`, guarded status transitions).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import select

from blocks.group_pg import PaymentGateway
from blocks.hotels import CardIssuer, IssuedCard
from db.audit import transition
from db.ledger import post_entries
from db.models.hotels import Hotel, HotelBooking, HotelFxRate, RoomChartDay, VirtualCard
from db.session import read_scope, session_scope
from db.types import utcnow
from domain import hotels as dom
from domain.errors import BusinessRuleError, InvalidInput
from domain.fx import FxRate, RateTable
from domain.money import Money
from tasks.mail import Attachment, compose, deliver_once, load_mailbox, load_mailer
from tasks.once import Outcome, perform_once
from tasks.payments import gateway, refund_once
from tasks.retry import retry_delays, retry_on_infrastructure
from travelops.cardsafety import card_vault
from travelops.settings import PROJECT_ROOT, core_settings
from travelops.settings_hotels import hotel_settings

KST = ZoneInfo("Asia/Seoul")
ACTOR = "issue-hotel-vcc"


# --- reference data ---------------------------------------------------------------------------


def hotels_file() -> Path:
    configured = hotel_settings().hotels_file
    return Path(configured) if configured else PROJECT_ROOT / "data" / "hotels.json"


@lru_cache(maxsize=4)
def _hotels(path: str, mtime: float) -> dict[str, dom.HotelConfig]:
    return dom.parse_hotels(json.loads(Path(path).read_text()))


def load_hotels() -> dict[str, dom.HotelConfig]:
    path = hotels_file()
    return _hotels(str(path), path.stat().st_mtime)


def merchant() -> dict[str, str]:
    return dict(json.loads(hotels_file().read_text())["merchant"])


@lru_cache(maxsize=1)
def usd_krw_rates() -> RateTable:
    doc = json.loads((PROJECT_ROOT / "data" / "hotels_fx.json").read_text())
    return RateTable(
        FxRate.parse(r["base"], r["quote"], r["rate"], date.fromisoformat(r["as_of"]), "reference")
        for r in doc["rates"]
    )


def _sync_hotel(session: Any, hotel: dom.HotelConfig) -> None:
    session.merge(
        Hotel(
            code=hotel.code,
            name=hotel.name,
            region=hotel.region,
            timezone=hotel.timezone,
            currency=hotel.currency,
            reservation_email=hotel.reservation_email,
            payments_email=hotel.payments_email,
            cc_emails=list(hotel.cc_emails),
            cc_required=hotel.cc_required,
            room_chart=hotel.room_chart,
            vnd=hotel.vnd,
            inquiry_first=hotel.inquiry_first,
            split_delivery=hotel.split_delivery,
            reply_limit_days=hotel.reply_limit_days,
            active=True,
        )
    )
    session.flush()
    for day in hotel.room_chart_days:
        exists = session.scalar(
            select(RoomChartDay.id).where(
                RoomChartDay.hotel_code == hotel.code,
                RoomChartDay.room_type == day.room_type,
                RoomChartDay.night == day.night,
            )
        )
        if exists is None:
            session.add(
                RoomChartDay(
                    hotel_code=hotel.code,
                    room_type=day.room_type,
                    night=day.night,
                    rooms_left=day.rooms_left,
                    stop_sell=day.stop_sell,
                )
            )
    session.flush()


def today_kst() -> date:
    return datetime.now(KST).date()


# --- the booking's state ----------------------------------------------------------------------


def snapshot(b: HotelBooking) -> dict[str, Any]:
    """What the flow branches on: plain values, never card data."""
    hotel = load_hotels()[b.hotel_code]
    details = dict(b.details or {})
    return {
        "booking_no": b.booking_no,
        "hotel_code": b.hotel_code,
        "status": b.status,
        "status_reason": b.status_reason,
        "waiting_for": b.waiting_for,
        "flow_run_id": b.flow_run_id,
        "confirmation_no": b.confirmation_no,
        "room_chart": hotel.room_chart,
        "vnd": hotel.vnd,
        "inquiry_first": hotel.inquiry_first,
        "split_delivery": hotel.split_delivery,
        "round": int(details.get("round", 1)),
        "priced": b.total_minor is not None,
        "card_amount": details.get("card_amount"),
        "inquiry": details.get("inquiry"),
        "reply": details.get("reply"),
        "timed_out_round": details.get("timed_out_round"),
        "decisions": details.get("decisions", {}),
        "charge": details.get("charge"),
        "voucher": details.get("voucher"),
        "sheet_round": int(details.get("sheet_round", 0)),
        "inquiry_sent": bool(details.get("inquiry_sent_at")),
        "refund": details.get("refund"),
        "terminal": b.status in dom.BOOKING_MACHINE.terminal,
    }


def _booking(session: Any, booking_no: str) -> HotelBooking:
    b = session.get(HotelBooking, booking_no, populate_existing=True)
    if b is None:
        raise InvalidInput("booking_no", booking_no, "no such hotel booking")
    return b  # type: ignore[no-any-return]


def _update_details(b: HotelBooking, **values: Any) -> None:
    details = dict(b.details or {})
    details.update(values)
    b.details = details


def _reject(doc: dict[str, Any], exc: InvalidInput) -> None:
    """Keep a refused intake with its reason (nothing is lost)."""
    path = core_settings().home / "exports" / "hotel_rejected_bookings.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        record = {"at": utcnow().isoformat(), "field": exc.field, "reason": str(exc), "doc": doc}
        f.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")


@task(cache_policy=NO_CACHE)
def register_booking(doc: dict[str, Any], flow_run_id: str | None) -> dict[str, Any]:
    """Validate the intake and record the booking once; later calls return its current state."""
    hotels = load_hotels()
    try:
        req = dom.parse_booking(doc, hotels)
    except InvalidInput as exc:
        _reject(doc, exc)
        raise
    with session_scope() as s:
        _sync_hotel(s, hotels[req.hotel_code])
        b = s.get(HotelBooking, req.booking_no)
        if b is None:
            b = HotelBooking(
                booking_no=req.booking_no,
                hotel_code=req.hotel_code,
                room_type=req.room_type,
                check_in=req.check_in,
                check_out=req.check_out,
                guests=[{"name": g.name, "age_class": g.age_class} for g in req.guests],
                company=req.company,
                paid_amount_minor=req.paid.amount_minor,
                paid_currency=req.paid.currency,
                paid_at=req.paid_at.astimezone(UTC),
                payment_key=req.payment_key,
                breakfast=req.breakfast,
                status=dom.RECEIVED,
                status_reason="",
                flow_run_id=flow_run_id,
                details={"round": 1},
            )
            s.add(b)
            s.flush()
        elif b.flow_run_id is None:
            b.flow_run_id = flow_run_id
        return snapshot(b)


def read_booking(booking_no: str) -> dict[str, Any]:
    with read_scope() as s:
        return snapshot(_booking(s, booking_no))


def registered_booking(doc: dict[str, Any], flow_run_id: str | None) -> dict[str, Any] | None:
    """The booking of `doc` if its intake is recorded already for this run (a re-execution after
    a wait), else None: then `register_booking` validates and records it."""
    no = dom.normalize_booking_no(str(doc.get("booking_no") or ""))
    if no is None:
        return None
    with read_scope() as s:
        b = s.get(HotelBooking, no)
        return snapshot(b) if b is not None and b.flow_run_id == flow_run_id else None


def _request(b: HotelBooking) -> dom.BookingRequest:
    return dom.BookingRequest(
        booking_no=b.booking_no,
        hotel_code=b.hotel_code,
        room_type=b.room_type,
        check_in=b.check_in,
        check_out=b.check_out,
        guests=tuple(dom.Guest(g["name"], g.get("age_class", "adult")) for g in b.guests),
        paid=Money(b.paid_amount_minor, b.paid_currency),
        paid_at=b.paid_at,
        breakfast=b.breakfast,
        company=b.company,
    )


def set_status(
    booking_no: str, to_status: str, reason: str, flow_run_id: str | None = None
) -> bool:
    """Guarded status change with its audit row; False when the booking is elsewhere already."""
    with session_scope() as s:
        return transition(
            s,
            HotelBooking,
            booking_no,
            to_status,
            machine=dom.BOOKING_MACHINE,
            actor=ACTOR,
            reason=reason,
            flow_run_id=flow_run_id,
            values={"status_reason": reason, "waiting_for": None},
        )


def set_waiting(booking_no: str, what: str | None) -> None:
    with session_scope() as s:
        _booking(s, booking_no).waiting_for = what


def price_booking(booking_no: str, flow_run_id: str | None = None) -> dict[str, Any]:
    """Rate from the contract table and the sale check at payment-time FX (steps 2–3).

    Bookkeeping in this database only (a plain function, not a task run, like the reads)."""
    settings = hotel_settings()
    with session_scope() as s:
        b = _booking(s, booking_no)
        hotel = load_hotels()[b.hotel_code]
        quote = dom.quote_stay(hotel, _request(b))
        fx = None
        if quote.total.currency != "KRW":
            fx = usd_krw_rates().rate_on(quote.total.currency, "KRW", b.paid_at.date())
        check = dom.reconcile_sale(
            quote.total,
            Money(b.paid_amount_minor, b.paid_currency),
            fx,
            settings.sale_tolerance_percent,
            settings.sale_tolerance_min_krw,
        )
        b.total_minor = quote.total.amount_minor
        b.currency = quote.total.currency
        b.supply_cost_krw = check.supply_cost_krw.amount_minor
        b.fx_rate = str(fx.rate) if fx else None
        b.fx_rate_date = fx.as_of if fx else None
        _update_details(
            b, quote=quote.as_dict(), sale_difference_krw=check.difference_krw.amount_minor
        )
        accepted = ((b.details or {}).get("sale_review") or {}).get("action") == "proceed"
        result = {
            "ok": check.ok or accepted,
            "reason": check.reason,
            "paid": Money(b.paid_amount_minor, b.paid_currency).format(),
            "difference_krw": check.difference_krw.format(),
            "total": quote.total.format(),
            "supply_cost_krw": check.supply_cost_krw.format(),
        }
        if not result["ok"] and b.status != dom.NEEDS_REVIEW:
            transition(
                s,
                HotelBooking,
                booking_no,
                dom.NEEDS_REVIEW,
                machine=dom.BOOKING_MACHINE,
                actor=ACTOR,
                reason=check.reason,
                flow_run_id=flow_run_id,
                values={"status_reason": check.reason},
            )
        return result


@task(cache_policy=NO_CACHE)
def check_availability(booking_no: str) -> dict[str, Any]:
    """Room chart (hotels flagged room_chart): rooms left and no stop-sell on every night."""
    with session_scope() as s:
        b = _booking(s, booking_no)
        hotel = load_hotels()[b.hotel_code]
        req = _request(b)
        rows = s.scalars(
            select(RoomChartDay).where(
                RoomChartDay.hotel_code == b.hotel_code,
                RoomChartDay.room_type == b.room_type,
                RoomChartDay.night.in_(req.nights),
            )
        ).all()
        chart = {r.night: dom.ChartDay(r.night, r.rooms_left, r.stop_sell) for r in rows}
        ok, reason = dom.check_room_chart(req.nights, chart, hotel.room_chart_default_rooms)
        return {"available": ok, "reason": reason}


@task(
    cache_policy=NO_CACHE,
    retries=4,
    retry_delay_seconds=retry_delays(1, 5, 15, 30),
    retry_condition_fn=retry_on_infrastructure,
)
def close_booking(
    booking_no: str, to_status: str, reason: str, flow_run_id: str | None = None
) -> dict[str, Any]:
    """Cancel (sold out, declined, ops): status; the traveller's refund on the ledger, once, and
    through the gateway when the booking was paid there."""
    with session_scope() as s:
        b = _booking(s, booking_no)
        moved = transition(
            s,
            HotelBooking,
            booking_no,
            to_status,
            machine=dom.BOOKING_MACHINE,
            actor=ACTOR,
            reason=reason,
            flow_run_id=flow_run_id,
            values={"status_reason": reason, "waiting_for": None},
        )
        status = to_status if moved else b.status
        refund = {
            "amount_minor": b.paid_amount_minor,
            "currency": b.paid_currency,
            "payment_key": b.payment_key,
            "counterparty": b.guests[0]["name"] if b.guests else None,
        }
        memo = f"{dom.status_label(status)}: {reason}"
        post_entries(s, [_refund_entry(booking_no, "due", refund, memo)])
    if refund["payment_key"] is None:
        return {"status": status, "refund": "due"}  # paid outside the gateway: ops refund it
    return {"status": status, "refund": refund_traveller(booking_no, refund, status)}


def _refund_entry(booking_no: str, step: str, refund: dict[str, Any], memo: str) -> dict[str, Any]:
    """Ledger line of the traveller's refund: `due` when cancelled, `paid` (negative) once the
    gateway has refunded; the account nets to zero when both are there."""
    sign = 1 if step == "due" else -1
    return {
        "entry_key": f"hotel-vcc:{booking_no}:refund" + ("" if step == "due" else f":{step}"),
        "book": "hotel_refunds",
        "business_key": booking_no,
        "business_date": today_kst(),
        "account": "traveller_refund_due",
        "counterparty": refund["counterparty"],
        "kind": "posting",
        "amount_minor": sign * refund["amount_minor"],
        "currency": refund["currency"],
        "attributes": {k: v for k, v in refund.items() if k in ("payment_key", "transaction_key")},
        "memo": memo,
        "posted_by": ACTOR,
        "posted_at": utcnow(),
    }


def load_gateway() -> PaymentGateway:
    """The gateway the travellers paid through (refunds go back there)."""
    return gateway(hotel_settings().pg_block)


def refund_traveller(booking_no: str, refund: dict[str, Any], status: str) -> str:
    """Refund the traveller's payment in full through the gateway, once per booking."""
    reason = f"{dom.status_label(status)} {booking_no}"
    try:
        outcome = refund_once(
            load_gateway(),
            f"hotel-vcc:{booking_no}:refund",
            str(refund["payment_key"]),
            int(refund["amount_minor"]),
            reason,
        )
    except BusinessRuleError as exc:  # refused for good (e.g. already cancelled at the PG)
        with session_scope() as s:
            b = _booking(s, booking_no)
            if ((b.details or {}).get("refund") or {}).get("status") != "refused":  # said once
                b.status_reason = f"{b.status_reason}; refund refused by the gateway: {exc}"
                _update_details(b, refund={"status": "refused", "reason": str(exc)})
        return "refused"
    paid = {**refund, "transaction_key": outcome.provider_ref}
    with session_scope() as s:
        post_entries(s, [_refund_entry(booking_no, "paid", paid, reason)])
        _update_details(_booking(s, booking_no), refund={"status": "refunded",
                        "transaction_key": outcome.provider_ref})  # fmt: skip
    return "refunded"


# --- VND hotels -------------------------------------------------------------------------------


def vnd_rate_today(booking_no: str) -> str | None:
    """Today's USD/VND rate from the hotel's FX e-mail, if it has come in."""
    with session_scope() as s:
        b = _booking(s, booking_no)
        row = s.scalar(
            select(HotelFxRate).where(
                HotelFxRate.hotel_code == b.hotel_code, HotelFxRate.as_of == today_kst()
            )
        )
        return row.rate if row else None


def fix_card_amount(booking_no: str) -> dict[str, Any]:
    """The card's amount and currency: the quote, or for VND hotels the quote at today's rate."""
    with session_scope() as s:
        b = _booking(s, booking_no)
        details = dict(b.details or {})
        if details.get("card_amount"):
            return dict(details["card_amount"])
        hotel = load_hotels()[b.hotel_code]
        quote_total = Money(int(b.total_minor or 0), str(b.currency))
        rate = None
        if hotel.vnd:
            row = s.scalar(
                select(HotelFxRate).where(
                    HotelFxRate.hotel_code == b.hotel_code, HotelFxRate.as_of == today_kst()
                )
            )
            if row is not None:
                rate = FxRate.parse("USD", "VND", row.rate, row.as_of, "hotel e-mail")
        amount = dom.card_amount(hotel, _quote_stub(quote_total), rate)
        card = {
            "amount_minor": amount.amount_minor,
            "currency": amount.currency,
            "display": amount.format(),
            "vnd_rate": str(rate.rate) if rate else None,
        }
        _update_details(b, card_amount=card)
        return card


def _quote_stub(total: Money) -> dom.StayQuote:
    return dom.StayQuote(lines=(), total=total, guests=0, extra_persons=0)


# --- e-mail to the hotel -------------------------------------------------------------------------


def booking_sheet_pdf(b: HotelBooking, hotel: dom.HotelConfig, amount: str) -> bytes:
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    y = 60.0
    rows = [
        ("BOOKING SHEET", 16),
        (f"{hotel.name} ({hotel.code})", 12),
        (f"Booking number: {b.booking_no}", 11),
        (f"Lead guest: {b.guests[0]['name']}", 11),
        (f"Guests ({len(b.guests)}): {', '.join(g['name'] for g in b.guests)}", 11),
        (f"Room type: {b.room_type}", 11),
        (f"Stay: {b.check_in.isoformat()} to {b.check_out.isoformat()}", 11),
        (
            f"Nights: {(b.check_out - b.check_in).days}   "
            f"Breakfast: {'yes' if b.breakfast else 'no'}",
            11,
        ),
    ]
    for line in (b.details or {}).get("quote", {}).get("lines", []):
        rows.append(
            (
                f"  {line['night']}: room {line['room']} + extra {line['extra_persons']}"
                f" + breakfast {line['breakfast']} = {line['total']}",
                10,
            )
        )
    rows += [(f"Total: {amount}", 12), ("Payment: virtual card (sent after your confirmation)", 10)]
    for text, size in rows:
        page.insert_text((50, y), text, fontsize=size, fontname="helv")
        y += size * 1.9
    data = bytes(doc.tobytes())
    doc.close()
    return data


def _booking_text(b: HotelBooking, hotel: dom.HotelConfig, amount: str) -> str:
    guests = ", ".join(g["name"] for g in b.guests)
    return (
        f"Booking number: {b.booking_no}\nHotel: {hotel.name}\nLead guest: {b.guests[0]['name']}\n"
        f"Guests: {guests} ({len(b.guests)})\nRoom type: {b.room_type}\n"
        f"Stay: {b.check_in.isoformat()} to {b.check_out.isoformat()}\n"
        f"Breakfast: {'yes' if b.breakfast else 'no'}\nTotal: {amount}\n"
    )


def _mail_key(booking_no: str, purpose: str, round_no: int) -> str:
    return f"hotel-vcc:{booking_no}:{purpose}" + (f":{round_no}" if round_no > 1 else "")


@task(
    cache_policy=NO_CACHE,
    retries=4,
    retry_delay_seconds=retry_delays(2, 10, 30, 60),
    retry_condition_fn=retry_on_infrastructure,
)
def send_hotel_mail(
    booking_no: str, purpose: str, round_no: int = 1, flow_run_id: str | None = None
) -> dict[str, Any]:
    """inquiry | sheet | reminder | details | card — each once per booking (and round)."""
    with session_scope() as s:
        b = _booking(s, booking_no)
        hotel = load_hotels()[b.hotel_code]
        card_amount = (b.details or {}).get("card_amount")
        money = (
            Money(int(card_amount["amount_minor"]), str(card_amount["currency"]))
            if card_amount
            else Money(int(b.total_minor or 0), str(b.currency))
        )
        amount_line = f"{money.currency} {money.amount_str()}"
        to, cc = dom.mail_recipients(hotel, purpose)
        text = _booking_text(b, hotel, amount_line)
        attachments: list[Attachment] = []
        if purpose == "inquiry":
            subject = f"[travelops] Room inquiry {booking_no} / 객실 문의"
            text = (
                "Dear reservations team,\n\nDo you have a room for the stay below? Please "
                "reply with yes or no; we send the full booking sheet after your yes.\n\n" + text
            )
        elif purpose in ("sheet", "reminder"):
            subject = f"[travelops] Booking sheet {booking_no} / 부킹시트"
            if purpose == "reminder":
                subject = f"[travelops] Reminder: booking sheet {booking_no} / 리마인더"
                text = (
                    "Dear reservations team,\n\nWe have not received your confirmation yet. "
                    "Please confirm with your confirmation number.\n\n" + text
                )
            else:
                text = (
                    "Dear reservations team,\n\nPlease confirm the booking below and reply "
                    "with your confirmation number and voucher.\n\n" + text
                )
            attachments = [
                Attachment(
                    f"booking-sheet-{booking_no}.pdf",
                    booking_sheet_pdf(b, hotel, amount_line),
                    "application/pdf",
                )
            ]
        elif purpose == "details":
            subject = f"[travelops] Booking details {booking_no} (payment follows separately)"
            text = f"Confirmation number: {b.confirmation_no}\n" + text
        elif purpose == "card":
            card = s.scalar(select(VirtualCard).where(VirtualCard.booking_no == booking_no))
            if card is None:
                raise InvalidInput("booking_no", booking_no, "no virtual card recorded yet")
            vault = card_vault()
            subject = f"[travelops] Virtual card payment {booking_no}"
            pan = vault.decrypt(card.pan_encrypted)
            grouped = " ".join(pan[i : i + 4] for i in range(0, len(pan), 4))
            card_block = (
                f"Card number: {grouped}\nExpiry: {vault.decrypt(card.expiry_encrypted)}\n"
                f"CVC: {vault.decrypt(card.cvc_encrypted)}\nAmount: {amount_line}\n"
                f"Valid until: {card.valid_until.isoformat()} (max {card.max_transactions} "
                "transactions)\n"
            )
            if hotel.split_delivery:
                text = (
                    f"Payment for booking {booking_no} (confirmation {b.confirmation_no}).\n\n"
                    + card_block
                )
            else:
                text = f"Confirmation number: {b.confirmation_no}\n" + text + "\n" + card_block
        else:
            raise InvalidInput("purpose", purpose, "inquiry | sheet | reminder | details | card")
        key = _mail_key(booking_no, purpose, round_no)
        message = compose(
            key=key, to=to, cc=cc, subject=subject, text=text, attachments=attachments
        )
    outcome = deliver_once(load_mailer(), key, message)
    with session_scope() as s:
        b = _booking(s, booking_no)
        if purpose == "sheet":
            if b.sheet_sent_at is None or round_no > 1:
                b.sheet_sent_at = utcnow()
            if int((b.details or {}).get("sheet_round", 0)) < round_no:
                _update_details(b, sheet_round=round_no)
            if b.status == dom.RECEIVED:
                transition(
                    s,
                    HotelBooking,
                    booking_no,
                    dom.CONFIRMING,
                    machine=dom.BOOKING_MACHINE,
                    actor=ACTOR,
                    reason=f"booking sheet e-mailed to {hotel.reservation_email}",
                    flow_run_id=flow_run_id,
                    values={"status_reason": ""},
                )
        if purpose == "inquiry" and not (b.details or {}).get("inquiry_sent_at"):
            _update_details(b, inquiry_sent_at=utcnow().isoformat())
        if purpose == "card" and b.card_emailed_at is None:
            b.card_emailed_at = utcnow()
    return {
        "purpose": purpose,
        "message_id": outcome.provider_ref,
        "to": to,
        "cc": cc,
        "replayed": outcome.replayed,
    }


# --- the card -----------------------------------------------------------------------------------


def _store_card(booking_no: str, key: str, card: IssuedCard) -> None:
    """Encrypt and record; a second call for the same card is a no-op."""
    vault = card_vault()
    with session_scope() as s:
        if s.scalar(select(VirtualCard.id).where(VirtualCard.booking_no == booking_no)):
            return
        s.add(
            VirtualCard(
                booking_no=booking_no,
                issuer_card_id=card.card_id,
                idempotency_key=key,
                pan_encrypted=vault.encrypt(card.pan),
                expiry_encrypted=vault.encrypt(card.expiry),
                cvc_encrypted=vault.encrypt(card.cvc),
                masked_pan=card.masked,
                amount_minor=card.amount.amount_minor,
                currency=card.amount.currency,
                valid_until=card.end_date,
                max_transactions=card.max_transactions,
                status="active",
            )
        )


def load_issuer() -> CardIssuer:
    return CardIssuer.load(hotel_settings().issuer, _sync=True)  # type: ignore[no-any-return, call-overload]


def issue_card_once(booking_no: str, issuer: CardIssuer | None = None) -> dict[str, Any]:
    """Exactly one card per booking: idempotency key to the issuer, lookup on ambiguity."""
    key = f"hotel-vcc:{booking_no}"
    with session_scope() as s:
        b = _booking(s, booking_no)
        card_amount = (b.details or {}).get("card_amount")
        if not card_amount:
            raise InvalidInput("card_amount", None, f"{booking_no}: card amount not fixed yet")
        amount = Money(int(card_amount["amount_minor"]), str(card_amount["currency"]))
        args = {
            "amount": amount,
            "end_date": b.check_out,
            "guest_name": b.guests[0]["name"],
            "booking_no": booking_no,
            "check_in": b.check_in,
        }
    client = issuer or load_issuer()

    def record(card: IssuedCard) -> Outcome:
        _store_card(booking_no, key, card)
        return Outcome(card.card_id, {"card_id": card.card_id, "masked": card.masked})

    def call(k: str) -> Outcome:
        return record(client.request_card(idempotency_key=k, **args))

    def lookup(k: str) -> Outcome | None:
        found = client.find_card(k)
        return record(found) if found is not None else None

    outcome = perform_once(
        key,
        "virtual_card",
        call,
        lookup,
        lease=timedelta(seconds=hotel_settings().card_lease_seconds),
    )
    with session_scope() as s:
        card = s.scalar(select(VirtualCard).where(VirtualCard.booking_no == booking_no))
        if card is None:  # recorded at the issuer, lost here (crash after the outcome was saved)
            found = client.find_card(key)
            if found is None:
                raise InvalidInput("booking_no", booking_no, "issuer has no card for this key")
            _store_card(booking_no, key, found)
    return {
        "card_id": outcome.provider_ref,
        "masked": outcome.result.get("masked"),
        "replayed": outcome.replayed,
    }


@task(
    cache_policy=NO_CACHE,
    retries=4,
    retry_delay_seconds=retry_delays(1, 5, 15, 60),
    retry_condition_fn=retry_on_infrastructure,
)
def issue_card(booking_no: str) -> dict[str, Any]:
    """Step 9–10: request the single-use card, record it encrypted (masked result) and its
    TMC virtual-payment fee (each once per booking: a retry finds them recorded)."""
    result = issue_card_once(booking_no)
    record_card_fee(booking_no)
    get_run_logger().info("card %s for %s", result["masked"], booking_no)
    return result


def record_card_fee(booking_no: str) -> list[dict[str, Any]]:
    """The TMC virtual-payment service fee (cannot be waived), once per booking."""
    from tasks.fees import record_fee_events

    with session_scope() as s:
        company = _booking(s, booking_no).company
    return record_fee_events(
        company,
        booking_no,
        [
            {
                "event_key": f"hotel-vcc:{booking_no}:virtual_payment",
                "type": "service",
                "booking_type": "hotel",
                "agent_assisted": False,
                "service": "virtual_payment",
            }
        ],
        source="hotel-vcc",
    )


def record_confirmation(booking_no: str, confirmation_no: str, source: str) -> None:
    with session_scope() as s:
        b = _booking(s, booking_no)
        if not b.confirmation_no:
            b.confirmation_no = confirmation_no
            _update_details(b, confirmed_by=source)


@task(cache_policy=NO_CACHE)
def record_ops_decision(booking_no: str, round_no: int, decision: dict[str, Any]) -> dict[str, Any]:
    """Apply an ops decision once per round (a resume re-runs this; the first one counts)."""
    with session_scope() as s:
        b = _booking(s, booking_no)
        decisions = dict((b.details or {}).get("decisions", {}))
        key = str(round_no)
        if key not in decisions:
            decisions[key] = decision
            values: dict[str, Any] = {"decisions": decisions}
            if decision["action"] == "resend":
                values["round"] = round_no + 1
            _update_details(b, **values)
        return dict(decisions[key])


@task(cache_policy=NO_CACHE)
def record_sale_review(
    booking_no: str, decision: dict[str, Any], flow_run_id: str | None = None
) -> dict[str, Any]:
    """Apply ops' answer to a sale that did not match, once (a resume re-runs this; the first
    answer counts): `proceed` puts the booking back to `received` with the sale accepted."""
    with session_scope() as s:
        b = _booking(s, booking_no)
        applied = (b.details or {}).get("sale_review")
        if applied is None:
            applied = {**decision, "at": utcnow().isoformat()}
            _update_details(b, sale_review=applied)
            b.waiting_for = None
            if decision["action"] == "proceed":
                transition(
                    s,
                    HotelBooking,
                    booking_no,
                    dom.RECEIVED,
                    machine=dom.BOOKING_MACHINE,
                    actor="ops",
                    reason=f"ops accepted the sale: {decision.get('note') or 'no note'}",
                    flow_run_id=flow_run_id,
                    values={"status_reason": ""},
                )
        return dict(applied)


# --- charge -------------------------------------------------------------------------------------


@task(cache_policy=NO_CACHE)
def finish_charge(booking_no: str, flow_run_id: str | None = None) -> dict[str, Any]:
    """Step 13–14: the charge against the card → completed, or flagged (mismatch / expired)."""
    with session_scope() as s:
        b = _booking(s, booking_no)
        charge = (b.details or {}).get("charge") or {}
        card = s.scalar(select(VirtualCard).where(VirtualCard.booking_no == booking_no))
        assert card is not None
        if charge.get("expired"):
            card.status = "closed"
            reason = f"card {card.masked_pan} not charged by {card.valid_until} + grace: closed"
            transition(
                s,
                HotelBooking,
                booking_no,
                dom.NEEDS_REVIEW,
                machine=dom.BOOKING_MACHINE,
                actor=ACTOR,
                reason=reason,
                flow_run_id=flow_run_id,
                values={"status_reason": reason, "waiting_for": None},
            )
            return {"status": dom.NEEDS_REVIEW, "reason": reason}
        charges = [Money.of_exact(c["amount"], c["currency"]) for c in charge.get("approved", [])]
        check = dom.reconcile_charge(Money(card.amount_minor, card.currency), charges)
        if charges:
            card.charged_minor = sum(c.amount_minor for c in charges)
            card.charged_currency = charges[0].currency
            card.status = "charged"
        if b.status == dom.NEEDS_REVIEW:  # e.g. the voucher: ops still have to act
            b.waiting_for = None
            note = "charged as issued" if check.ok else check.reason
            b.status_reason = f"{b.status_reason} (charge: {note})"
            return {"status": b.status, "reason": b.status_reason}
        to = dom.COMPLETED if check.ok else dom.NEEDS_REVIEW
        reason = "charged as issued" if check.ok else check.reason
        transition(
            s,
            HotelBooking,
            booking_no,
            to,
            machine=dom.BOOKING_MACHINE,
            actor=ACTOR,
            reason=reason,
            flow_run_id=flow_run_id,
            values={"status_reason": "" if check.ok else reason, "waiting_for": None},
        )
        return {"status": to, "reason": reason}


def booking_rows(statuses: frozenset[str] = dom.OPEN_STATUSES) -> list[dict[str, Any]]:
    with read_scope() as s:
        rows = s.execute(
            select(HotelBooking, Hotel.reply_limit_days)
            .join(Hotel, Hotel.code == HotelBooking.hotel_code)
            .where(HotelBooking.status.in_(sorted(statuses)))
        ).all()
        return [
            {
                "booking_no": b.booking_no,
                "hotel_code": b.hotel_code,
                "status": b.status,
                "since": b.sheet_sent_at or b.created_at,
                "reply_limit_days": limit,
                "waiting_for": b.waiting_for,
                "flow_run_id": b.flow_run_id,
                "details": dict(b.details or {}),
                "sheet_sent_at": b.sheet_sent_at,
                "round": int((b.details or {}).get("round", 1)),
            }
            for b, limit in rows
        ]


__all__ = ["load_mailbox"]
