"""Simulated direct-contract hotels: they read their sandbox mailboxes and answer like hotels do.

Booking sheet → after a delay, a confirmation (number + voucher PDF with a price area) or a
decline, or nothing at all;
room inquiry → "yes, available" or "fully booked"; reminder → the slow
hotels answer then; card e-mail → the hotel charges the card at the issuer. Wording varies by hotel
(English, Korean, short, quoted, forwarded). Behaviour comes from data/hotels_sandbox.json and
can be changed per hotel address or per booking number over HTTP:

- `POST /behaviour` {"key": address-or-booking-no, "mode": "confirm"|"decline"|"silent"|"slow",
  "delay_seconds": 2, "style": "ko", "price_area": true, "voucher": "pdf"|"broken",
  "charge": "exact"|"none"|"over", "charge_delay_seconds": 1}
- `POST /fx-email` {"hotel_code": "DAD-LTS", "rate": "25410.5", "date": "2026-11-23"}
- `GET /log`: what the hotels received and did.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import email.utils
import json
import re
import secrets
import time
from contextlib import AsyncExitStack, suppress
from datetime import UTC, datetime
from decimal import Decimal
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from pydantic import BaseModel

from domain.hotels import BOOKING_NO_RE
from sandbox.http import start_http
from sandbox.runner import SandboxContext
from travelops.settings import PROJECT_ROOT

HOTELS_FILE = PROJECT_ROOT / "data" / "hotels.json"
BEHAVIOUR_FILE = PROJECT_ROOT / "data" / "hotels_sandbox.json"

_CARD_RE = re.compile(r"(?:card number|카드\s*번호)\s*:\s*([\d ]{13,23})", re.I)
_EXP_RE = re.compile(r"(?:expiry|유효\s*기간)\s*:\s*(\d{2}/\d{2})", re.I)
_CVC_RE = re.compile(r"\bcvc\s*:\s*(\d{3,4})", re.I)
_AMOUNT_RE = re.compile(r"(?:amount|total|금액)\s*:\s*([A-Z]{3})\s*([\d,]+(?:\.\d+)?)", re.I)


class Behaviour(BaseModel):
    key: str
    mode: str | None = None
    delay_seconds: float | None = None
    style: str | None = None
    price_area: bool | None = None
    voucher: str | None = None
    charge: str | None = None
    charge_delay_seconds: float | None = None


class FxEmail(BaseModel):
    hotel_code: str
    rate: str
    date: dt.date | None = None
    to: str = "hoteldesk@travelops.example.com"


def voucher_pdf(
    hotel: str, booking_no: str, guest: str, stay: str, total: str, price_area: bool
) -> bytes:
    """The hotel's own voucher: guest and stay details, and (usually) a price area."""
    import pymupdf

    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    y = 72.0

    def line(text: str, size: float = 11) -> None:
        nonlocal y
        page.insert_text((72, y), text, fontsize=size, fontname="helv")
        y += size * 1.8

    line(hotel, 18)
    line("HOTEL VOUCHER / RESERVATION CONFIRMATION", 13)
    line(f"Booking reference: {booking_no}")
    line(f"Guest: {guest}")
    line(f"Stay: {stay}")
    line("Confirmation No: ")
    y += 20
    if price_area:
        line("RATE DETAILS", 12)
        line(f"Room rate and extras: {total}")
        line(f"Total amount: {total}")
        line("Taxes and service charges included.")
    y += 20
    line("Please present this voucher at check-in. Breakfast per booking sheet.")
    data = bytes(doc.tobytes())
    doc.close()
    return data


class HotelSimulator:
    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx
        doc = json.loads(HOTELS_FILE.read_text())
        self.hotels: dict[str, dict[str, Any]] = {}
        for h in doc["hotels"]:
            for addr in (h["reservation_email"], h.get("payments_email")):
                if addr:
                    self.hotels[addr.lower()] = h
        conf = json.loads(BEHAVIOUR_FILE.read_text())
        self.default: dict[str, Any] = conf["default"]
        self.behaviour: dict[str, dict[str, Any]] = {
            k.lower(): v for k, v in conf["hotels"].items()
        }
        self.log: list[dict[str, Any]] = []
        self.pending: list[tuple[float, dict[str, Any]]] = []
        self.replied: dict[str, EmailMessage] = {}  # booking → the sheet, for slow hotels

    def settings(self, address: str, booking_no: str | None) -> dict[str, Any]:
        out = dict(self.default)
        out.update(self.behaviour.get(address.lower(), {}))
        if booking_no:
            out.update(self.behaviour.get(booking_no.lower(), {}))
        return out

    # mail in -----------------------------------------------------------------------------------
    def scan(self) -> None:
        for address in list(self.hotels):
            for raw in self.ctx.store.take_new(address):
                msg = email.message_from_bytes(raw, policy=email.policy.default)
                assert isinstance(msg, EmailMessage)
                self.handle(address, msg)

    def handle(self, address: str, msg: EmailMessage) -> None:
        subject = str(msg.get("Subject", ""))
        body_part = msg.get_body(("plain",))
        body = body_part.get_content() if body_part is not None else ""  # type: ignore[attr-defined]
        m = BOOKING_NO_RE.search(subject) or BOOKING_NO_RE.search(body)
        booking_no = f"BK-{m.group(1)}-{m.group(2)}" if m else None
        cfg = self.settings(address, booking_no)
        kind = self.kind_of(subject)
        self.log.append({"to": address, "booking_no": booking_no, "kind": kind,
                         "subject": subject, "at": time.time()})  # fmt: skip
        due = time.monotonic() + float(cfg.get("delay_seconds", 1))
        job = {"address": address, "msg": msg, "body": body, "booking_no": booking_no,
               "cfg": cfg, "kind": kind}  # fmt: skip
        if kind == "card":
            if cfg.get("charge", "exact") != "none":
                due = time.monotonic() + float(cfg.get("charge_delay_seconds", 1))
                self.pending.append((due, job))
            return
        if kind == "details":
            return  # split delivery: the booking details need no answer
        mode = cfg.get("mode", "confirm")
        if kind == "reminder":
            if mode == "slow":
                job["kind"] = "sheet"
                self.pending.append((due, job))
            return
        if mode in ("silent", "slow"):
            return
        self.pending.append((due, job))

    @staticmethod
    def kind_of(subject: str) -> str:
        s = subject.lower()
        if "reminder" in s or "리마인더" in s or "재요청" in s:
            return "reminder"
        if "card" in s or "vcc" in s or "결제" in s:
            return "card"
        if "details" in s or "예약정보" in s:
            return "details"
        if "inquiry" in s or "문의" in s:
            return "inquiry"
        return "sheet"

    # mail out ----------------------------------------------------------------------------------
    def due(self) -> None:
        now = time.monotonic()
        ready = [job for t, job in self.pending if t <= now]
        self.pending = [(t, job) for t, job in self.pending if t > now]
        for job in ready:
            try:
                if job["kind"] == "card":
                    self.charge(job)
                else:
                    self.reply(job)
            except Exception as exc:  # a stand-in must not die on one odd message
                self.log.append({"error": f"{type(exc).__name__}: {exc}", "job": job["kind"]})

    def reply(self, job: dict[str, Any]) -> None:
        hotel = self.hotels[job["address"]]
        msg: EmailMessage = job["msg"]
        cfg = job["cfg"]
        booking_no = job["booking_no"] or "(no reference)"
        style = str(cfg.get("style", "en_formal"))
        korean = style.startswith("ko")
        subject = str(msg.get("Subject", ""))
        quoted = "\n".join("> " + ln for ln in job["body"].splitlines())
        sent = email.utils.format_datetime(datetime.now(UTC))
        attach: bytes | None = None
        mode = cfg.get("mode", "confirm")
        if job["kind"] == "inquiry":
            text = (
                "안녕하세요. 문의하신 일자에 객실 있습니다. 예약 가능합니다. 부킹시트 보내주세요."
                if korean
                else "Yes, rooms are available for the dates requested. Please send the sheet."
            )
            if mode == "decline":
                text = (
                    "죄송합니다. 해당 일자는 만실입니다."
                    if korean
                    else "Sorry, we are fully booked on those dates."
                )
        elif mode == "decline":
            text = (
                "안녕하세요.\n죄송합니다. 요청하신 일자는 만실로 예약이 불가합니다.\n감사합니다."
                if korean
                else "Dear Hotel Desk,\n\nWe regret to inform you that we are fully booked on "
                "the requested dates and cannot confirm this reservation.\n\nKind regards"
            )
        else:
            conf = f"{hotel['code'][:3]}{secrets.randbelow(10**6):06d}"
            texts = {
                "en_formal": "Dear Hotel Desk,\n\nThank you for your reservation. We are pleased "
                f"to confirm it.\nConfirmation No: {conf}\n\nThe voucher is attached.\n\n"
                "Best regards,\nReservations",
                "en_short": f"Confirmed. Conf# {conf}\nVoucher attached.",
                "en_quoted": f"Hi, the booking is confirmed, confirmation number is {conf}.\n"
                "Voucher attached.",
                "ko": f"안녕하세요, {hotel['name']}입니다.\n요청하신 예약이 확정되었습니다.\n"
                f"확인번호: {conf}\n바우처 첨부드립니다.\n감사합니다.",
                "ko_quoted": f"예약 확정되었습니다. 컨펌번호 {conf} 입니다.\n바우처 첨부합니다.",
                "en_forwarded": "Please see the confirmation below.\n\n"
                "---------- Forwarded message ---------\n"
                f"From: {job['address']}\nSubject: Re: {subject}\n\n"
                f"Booking {booking_no} is confirmed. Confirmation number is {conf}.",
            }
            text = texts.get(style, texts["en_formal"])
            am = _AMOUNT_RE.search(job["body"])
            total = f"{am.group(1)} {am.group(2)}" if am else "USD 0.00"
            guest = re.search(r"(?:guest|lead guest|투숙객)\s*:\s*(.+)", job["body"], re.I)
            stay = re.search(r"(?:stay|숙박)\s*:\s*(.+)", job["body"], re.I)
            if cfg.get("voucher") == "broken":
                attach = b"%PDF-1.4\n% truncated by the hotel's mail system\n"
            else:
                attach = voucher_pdf(
                    hotel["name"], booking_no, guest.group(1).strip() if guest else "",
                    stay.group(1).strip() if stay else "", total, bool(cfg.get("price_area", True)),
                )  # fmt: skip
        if style.endswith("quoted") or style == "en_formal":
            text += f"\n\nOn {sent}, {msg.get('From')} wrote:\n{quoted}"
        out = EmailMessage()
        out["From"] = job["address"]
        out["To"] = str(msg.get("Reply-To") or msg.get("From"))
        out["Subject"] = (
            f"Fwd: Reservation confirmed - {hotel['name']}"
            if style == "en_forwarded" and mode != "decline" and job["kind"] != "inquiry"
            else ("회신: " if korean else "Re: ") + subject
        )
        out["Date"] = sent
        out["Message-ID"] = email.utils.make_msgid(domain=job["address"].split("@")[1])
        if msg.get("Message-ID"):
            out["In-Reply-To"] = str(msg["Message-ID"])
        out.set_content(text)
        if attach is not None:
            out.add_attachment(attach, maintype="application", subtype="pdf",
                               filename=f"voucher-{booking_no}.pdf")  # fmt: skip
        to = email.utils.parseaddr(str(out["To"]))[1]
        self.ctx.store.deliver(to, out.as_bytes())
        self.log.append({"from": job["address"], "booking_no": job["booking_no"],
                         "replied": job["kind"], "mode": mode, "at": time.time()})  # fmt: skip

    def charge(self, job: dict[str, Any]) -> None:
        from sandbox.hotels_issuer import ChargeRequest, Issuer

        issuer: Issuer = self.ctx.options["_issuer"]
        body = job["body"]
        pan, exp, cvc, am = (r.search(body) for r in (_CARD_RE, _EXP_RE, _CVC_RE, _AMOUNT_RE))
        if not (pan and exp and cvc and am):
            self.log.append({"booking_no": job["booking_no"], "charge": "card data not found"})
            return
        amount = Decimal(am.group(2).replace(",", ""))
        if job["cfg"].get("charge") == "over":
            amount = amount * Decimal("1.1")
        auth = issuer.charge(
            ChargeRequest(card_number=pan.group(1), expiry=exp.group(1), cvc=cvc.group(1),
                          amount=amount.quantize(Decimal("0.01")) if am.group(1) != "VND"
                          else amount.quantize(Decimal(1)),
                          currency_code=am.group(1), merchant=job["address"])
        )  # fmt: skip
        self.log.append({"booking_no": job["booking_no"], "charge": auth["status"],
                         "reason": auth["reason"], "at": time.time()})  # fmt: skip

    def fx_email(self, req: FxEmail) -> dict[str, Any]:
        hotel = next(h for h in self.hotels.values() if h["code"] == req.hotel_code)
        # the desk's day: the e-mail comes in 11:00–12:00 KST and is for that Korean date
        day = req.date or datetime.now(ZoneInfo("Asia/Seoul")).date()
        out = EmailMessage()
        sender = hotel.get("fx_email") or hotel["reservation_email"]
        out["From"] = sender
        out["To"] = req.to
        out["Subject"] = f"[{hotel['name']}] Daily exchange rate {day.isoformat()}"
        out["Date"] = email.utils.format_datetime(datetime.now(UTC))
        out["Message-ID"] = email.utils.make_msgid(domain=sender.split("@")[1])
        out.set_content(
            f"Dear partners,\n\nExchange rate for {day.isoformat()}:\n"
            f"USD/VND = {req.rate}\n\nRates in USD will be charged in VND at this rate.\n"
        )
        self.ctx.store.deliver(req.to, out.as_bytes())
        return {"sent": True, "from": sender, "date": day.isoformat()}

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            with suppress(Exception):
                await loop.run_in_executor(None, self.scan)
                await loop.run_in_executor(None, self.due)
            await asyncio.sleep(0.3)


def build_app(sim: HotelSimulator) -> FastAPI:
    app = FastAPI(title="sandbox hotels")

    @app.post("/behaviour")
    def behaviour(req: Behaviour) -> dict[str, Any]:
        current = sim.behaviour.setdefault(req.key.lower(), {})
        current.update(req.model_dump(exclude_none=True, exclude={"key"}))
        return {"key": req.key, **current}

    @app.post("/fx-email")
    def fx(req: FxEmail) -> dict[str, Any]:
        return sim.fx_email(req)

    @app.get("/log")
    def log(booking_no: str | None = None) -> list[dict[str, Any]]:
        return [e for e in sim.log if booking_no is None or e.get("booking_no") == booking_no]

    return app


async def start_hotels(ctx: SandboxContext, stack: AsyncExitStack, port: int) -> dict[str, Any]:
    sim = HotelSimulator(ctx)
    for desk in ("hoteldesk@travelops.example.com", "ops@travelops.example.com"):
        ctx.store.ensure_user(desk)  # the company's mailboxes exist before the first mail
        for folder in ("Processed", "Quarantine", "Sent"):
            ctx.store.maildir(desk, folder)
    task = asyncio.create_task(sim.run())
    stack.callback(task.cancel)
    bound = await start_http(stack, build_app(sim), ctx.host, port)
    return {"port": bound, "url": f"http://{ctx.host}:{bound}"}
