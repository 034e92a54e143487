"""The hotel desk mailbox watcher's steps: read replies, chase hotels, poll charges, wake runs.

Each step records what it learned in the database first and resumes suspended runs second, so
a resume that is lost (the run was not suspended yet, the API was down) is simply retried on
the next pass: the booking's record, not the resume call, is the source of truth.
"""

from __future__ import annotations

import email.utils
import logging
import re
from datetime import date, datetime
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import StateType
from prefect.exceptions import MissingContextError
from sqlalchemy import select

from db.models.hotels import HotelFxRate, VirtualCard
from db.session import read_scope, session_scope
from db.types import utcnow
from domain import hotels as dom
from domain.errors import ProviderUnavailable
from domain.money import parse_decimal
from tasks.hotels import (
    _booking,
    _update_details,
    booking_rows,
    load_hotels,
    load_issuer,
    send_hotel_mail,
    today_kst,
)
from tasks.hotels_voucher import hotel_voucher_path
from tasks.mail import compose, deliver_once, load_mailbox, load_mailer
from tasks.retry import retry_delays, retry_on_infrastructure
from tasks.scheduling import read_runs, restart_run, resume_runs
from travelops.settings_hotels import hotel_settings

_FX_RE = re.compile(r"USD\s*/\s*VND\s*[=:]\s*([\d,]+(?:\.\d+)?)", re.I)
_DATE_RE = re.compile(r"(\d{4}-\d{2}-\d{2})")


def _body(msg: Any) -> str:
    part = msg.get_body(("plain",)) or msg.get_body(("html",))
    if part is None:
        return ""
    text = part.get_content()
    if part.get_content_type() == "text/html":
        text = re.sub(r"<[^>]+>", " ", text)
    return str(text)


@task(
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=retry_delays(5, 30),
    retry_condition_fn=retry_on_infrastructure,
)
def read_replies(limit: int = 500) -> dict[str, Any]:
    """One pass over the hotel desk's inbox: FX e-mails, replies matched to bookings, quarantine.

    The messages are read first, then recorded in one transaction: one wait for the database's
    write lock per pass, not one per reply behind every run writing meanwhile.
    """
    settings = hotel_settings()
    box = load_mailbox(settings.mailbox)
    uids = box.search("ALL")[:limit]
    fetched = box.fetch(uids)
    hotels = load_hotels()
    fx_senders = {h.fx_email.lower(): h.code for h in hotels.values() if h.fx_email}
    open_rows = {r["booking_no"]: r for r in booking_rows()}
    processed: list[int] = []
    quarantined: list[dict[str, Any]] = []
    fx: list[dict[str, Any]] = []
    fx_ids: list[str] = []
    replies: list[tuple[dom.ReplyReading, str, datetime | None]] = []
    for item in fetched:
        msg = item.parsed()
        subject = str(msg.get("Subject", ""))
        sender = email.utils.parseaddr(str(msg.get("From", "")))[1].lower()
        message_id = str(msg.get("Message-ID", "")).strip()
        if sender == box.address.lower():
            continue  # our own mail (a probe, a copy): not a hotel's reply, left where it is
        body = _body(msg)
        if sender in fx_senders and (m := _FX_RE.search(body)):
            day_m = _DATE_RE.search(subject) or _DATE_RE.search(body)
            day = date.fromisoformat(day_m.group(1)) if day_m else today_kst()
            rate = str(parse_decimal(m.group(1), "USD/VND"))
            fx.append({"hotel": fx_senders[sender], "date": day.isoformat(), "rate": rate})
            fx_ids.append(message_id)
            processed.append(item.uid)
            continue
        reading = dom.read_reply(subject, body, open_rows)
        if reading.booking_no is None or reading.kind == "unclear":
            quarantined.append(
                {
                    "uid": item.uid,
                    "subject": subject,
                    "from": sender,
                    "reason": reading.reason or "unclear",
                }
            )
            continue
        if reading.kind == "confirmed":
            _keep_voucher(reading.booking_no, msg)
        replies.append((reading, message_id, item.received_at))
        processed.append(item.uid)
    matched: list[dict[str, Any]] = []
    with session_scope() as s:
        for rate, message_id in zip(fx, fx_ids, strict=True):
            _store_fx(s, rate["hotel"], date.fromisoformat(rate["date"]), rate["rate"], message_id)
        for reading, message_id, received_at in replies:
            note = _record_reply(s, reading, message_id, received_at, hotels)
            matched.append(
                {
                    "booking_no": reading.booking_no,
                    "kind": reading.kind,
                    "note": note,
                    "confirmation_no": reading.confirmation_no,
                }
            )
    _move(box, processed, settings.processed_folder)
    _move(box, [q["uid"] for q in quarantined], settings.quarantine_folder)
    logger = _logger()
    for q in quarantined:
        logger.warning("quarantined reply %r from %s: %s", q["subject"], q["from"], q["reason"])
    return {"read": len(fetched), "matched": matched, "fx": fx, "quarantined": quarantined}


def _logger() -> Any:
    try:
        return get_run_logger()
    except MissingContextError:  # called outside a run (tests, the benchmark driver)
        return logging.getLogger("travelops.hotels")


def _move(box: Any, uids: list[int], folder: str) -> None:
    """Move messages into an existing-or-new folder (no CREATE on a folder that exists)."""
    if not uids:
        return
    box.search("ALL", folder=folder)  # selects the folder, creating it only when missing
    with box.connect() as conn:
        uid_set = ",".join(str(u) for u in uids)
        typ, data = conn.uid("COPY", uid_set, f'"{folder}"')
        if typ != "OK":
            raise ProviderUnavailable(f"IMAP COPY to {folder!r} failed: {data!r}")
        conn.uid("STORE", uid_set, "+FLAGS.SILENT", r"(\Deleted)")
        conn.expunge()


def _keep_voucher(booking_no: str | None, msg: Any) -> None:
    """Keep the hotel's voucher PDF from the confirmation (the flow stamps and redacts it)."""
    for part in msg.iter_attachments():
        name = (part.get_filename() or "").lower()
        if part.get_content_type() == "application/pdf" or name.endswith(".pdf"):
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                path = hotel_voucher_path(str(booking_no))
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(payload)
            return


def _store_fx(s: Any, hotel_code: str, day: date, rate: str, message_id: str) -> None:
    exists = s.scalar(
        select(HotelFxRate.id).where(HotelFxRate.hotel_code == hotel_code, HotelFxRate.as_of == day)
    )
    if exists is None:
        s.add(
            HotelFxRate(
                hotel_code=hotel_code,
                as_of=day,
                base="USD",
                quote="VND",
                rate=rate,
                message_id=message_id,
                received_at=utcnow(),
            )
        )


def _record_reply(
    s: Any,
    reading: dom.ReplyReading,
    message_id: str,
    received_at: datetime | None,
    hotels: dict[str, dom.HotelConfig],
) -> str:
    """Record a matched reply; `reply_at` is when it landed in the desk mailbox (else now)."""
    assert reading.booking_no is not None
    b = _booking(s, reading.booking_no)
    details = dict(b.details or {})
    hotel = hotels[b.hotel_code]
    wants_inquiry = hotel.inquiry_first and not details.get("inquiry") and not b.sheet_sent_at
    if wants_inquiry:
        answer = "declined" if reading.kind == "declined" else "available"
        _update_details(b, inquiry={"answer": answer, "message_id": message_id})
        return f"inquiry: {answer}"
    if details.get("reply"):
        return "duplicate reply kept in Processed"
    now = utcnow()
    _update_details(
        b,
        reply={
            "kind": reading.kind,
            "confirmation_no": reading.confirmation_no,
            "message_id": message_id,
            "reason": reading.reason,
            "at": now.isoformat(),
        },
    )
    b.reply_at = min(received_at, now) if received_at else now
    return reading.kind


@task(
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=retry_delays(5, 30),
    retry_condition_fn=retry_on_infrastructure,
)
def chase_hotels(now: datetime | None = None) -> dict[str, Any]:
    """Reminder at half the hotel's reply limit; at the limit, ops are told and the run wakes."""
    settings = hotel_settings()
    now = now or utcnow()
    reminded, escalated = [], []
    for r in booking_rows(frozenset({dom.CONFIRMING})):
        details = r["details"]
        if r["waiting_for"] != "hotel_reply" or details.get("reply") or not r["sheet_sent_at"]:
            continue
        rnd = r["round"]
        d = dom.reply_deadlines(r["sheet_sent_at"], r["reply_limit_days"], settings.day)
        if now >= d.reminder_at and details.get("reminded_round") != rnd:
            send_hotel_mail.fn(r["booking_no"], "reminder", rnd)
            with session_scope() as s:
                _update_details(_booking(s, r["booking_no"]), reminded_round=rnd)
            reminded.append(r["booking_no"])
        if now >= d.escalate_at and details.get("timed_out_round") != rnd:
            key = f"hotel-vcc:{r['booking_no']}:escalation:{rnd}"
            text = (
                f"{r['booking_no']} ({r['hotel_code']}): no reply from the hotel within "
                f"{r['reply_limit_days']} days (round {rnd}).\nDecide in the Prefect UI on the run "
                f"{r['booking_no']} (state AwaitingOpsDecision): resend / mark confirmed / cancel."
            )
            msg = compose(
                key=key,
                to=[settings.ops_email],
                text=text,
                subject=f"[travelops] 호텔 미회신 {r['booking_no']}",
            )
            deliver_once(load_mailer(), key, msg)
            with session_scope() as s:
                _update_details(_booking(s, r["booking_no"]), timed_out_round=rnd)
            escalated.append(r["booking_no"])
    return {"reminded": reminded, "escalated": escalated}


@task(
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=retry_delays(5, 30),
    retry_condition_fn=retry_on_infrastructure,
)
def poll_charges(today: date | None = None) -> dict[str, Any]:
    """Authorizations of every card awaiting its charge; uncharged past end date + grace expire."""
    settings = hotel_settings()
    today = today or today_kst()
    rows = [
        r for r in booking_rows() if r["waiting_for"] == "charge" and not r["details"].get("charge")
    ]
    if not rows:
        return {"charged": [], "expired": []}
    issuer = load_issuer()
    with read_scope() as s:
        cards = {
            c.booking_no: (c.issuer_card_id, c.valid_until)
            for c in s.scalars(
                select(VirtualCard).where(
                    VirtualCard.booking_no.in_([r["booking_no"] for r in rows])
                )
            )
        }
    charged, expired = [], []
    charges: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r["booking_no"] not in cards:
            continue
        card_id, valid_until = cards[r["booking_no"]]
        auths = issuer.authorizations(card_id)
        approved = [
            {"amount": a.amount.amount_str(), "currency": a.amount.currency, "id": a.auth_id}
            for a in auths
            if a.status == "approved"
        ]
        declined = [a.reason for a in auths if a.status == "declined"]
        charge: dict[str, Any] | None = None
        if approved:
            charge = {"approved": approved, "declined": declined}
            charged.append(r["booking_no"])
        elif dom.card_expired(valid_until, today, settings.card_grace_days):
            issuer.close_card(card_id, "not charged by end date + grace")
            charge = {"expired": True, "declined": declined}
            expired.append(r["booking_no"])
        if charge is not None:
            charges[r["booking_no"]] = charge
    with session_scope() as s:  # one wait for the write lock, not one per card
        for booking_no, charge in charges.items():
            _update_details(_booking(s, booking_no), charge=charge)
    return {"charged": charged, "expired": expired}


def _ready(row: dict[str, Any], fx_today: set[str]) -> bool:
    details = row["details"]
    waiting = row["waiting_for"]
    if waiting == "hotel_fx":
        return row["hotel_code"] in fx_today
    if waiting == "inquiry":
        return bool(details.get("inquiry"))
    if waiting == "hotel_reply":
        return bool(details.get("reply")) or details.get("timed_out_round") == row["round"]
    if waiting == "charge":
        return bool(details.get("charge"))
    if waiting == "ops":  # a late reply settles what ops were asked to decide
        return bool(details.get("reply"))
    return False


#: The state a run waits in for each `waiting_for`: a run is resumed only from that state.
WAIT_STATES = {
    "hotel_fx": "AwaitingHotelFx",
    "inquiry": "AwaitingHotelReply",
    "hotel_reply": "AwaitingHotelReply",
    "ops": "AwaitingOpsDecision",
    "charge": "AwaitingCharge",
}


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=retry_delays(2, 10))
def wake_runs() -> dict[str, Any]:
    """Resume every suspended run whose awaited event is now on record; run again the runs that
    crashed or failed while their booking is open.

    Only from the state it waits in for that event: the booking rows are read first, and a run
    another pass resumed meanwhile may already wait for something else (a resume from the wrong
    wait would take it past that wait with nothing arrived)."""
    with read_scope() as s:
        fx_today = set(
            s.scalars(select(HotelFxRate.hotel_code).where(HotelFxRate.as_of == today_kst()))
        )
    rows = [r for r in booking_rows() if r["flow_run_id"]]
    ready = [r for r in rows if _ready(r, fx_today)]
    runs = read_runs(r["flow_run_id"] for r in ready)
    paused = {i: r.state.name for i, r in runs.items() if r.state and r.state.is_paused()}
    late_reply = {"action": "resend", "note": "the hotel replied before ops decided"}
    waiting = {  # not suspended yet, or already resumed: not woken
        r["flow_run_id"]: late_reply if r["waiting_for"] == "ops" else None
        for r in ready
        if paused.get(r["flow_run_id"]) == WAIT_STATES[r["waiting_for"]]
    }
    resumed = set(resume_runs(waiting))
    woken = [r["booking_no"] for r in ready if r["flow_run_id"] in resumed]
    not_waiting = [r["booking_no"] for r in ready if r["flow_run_id"] not in resumed]
    return {"woken": woken, "not_waiting": not_waiting, **rerun_broken_runs(rows)}


#: How often a booking's run that crashed or failed is run again before it is left to ops.
RERUN_LIMIT = 3


def rerun_broken_runs(rows: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Open bookings whose run ended Crashed or Failed (a worker killed mid-run, the database
    locked for a minute) run again from the top, at most `RERUN_LIMIT` times each: every step
    the run had done comes back from the database or the provider's idempotency key, nothing is
    done twice. Past the limit the booking is listed for ops (`broken`), who can retry the run
    in the UI once its cause is mended."""
    by_run = {r["flow_run_id"]: r for r in rows}
    broken = read_runs(by_run, state_types=(StateType.CRASHED, StateType.FAILED))
    rerun, given_up = [], []
    for run_id, run in broken.items():
        row = by_run[run_id]
        attempts = int(row["details"].get("reruns", 0))
        if attempts >= RERUN_LIMIT:
            given_up.append(row["booking_no"])
            continue
        with session_scope() as s:  # counted before the rerun: a crash here cannot loop for ever
            _update_details(_booking(s, row["booking_no"]), reruns=attempts + 1)
        if restart_run(run_id):
            rerun.append(row["booking_no"])
            _logger().warning(
                "%s: its run ended %s (%s); run again (%d of %d)",
                row["booking_no"],
                run.state.name if run.state else "?",
                (run.state.message or "") if run.state else "",
                attempts + 1,
                RERUN_LIMIT,
            )
    return {"rerun": rerun, "broken": given_up}


@task(
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=retry_delays(5, 30),
    retry_condition_fn=retry_on_infrastructure,
)
def list_quarantine() -> list[dict[str, str]]:
    """Replies no booking claimed, kept in the Quarantine folder for ops."""
    settings = hotel_settings()
    box = load_mailbox(settings.mailbox)
    folder = settings.quarantine_folder
    out = []
    for item in box.fetch(box.search("ALL", folder=folder), folder=folder):
        msg = item.parsed()
        out.append(
            {
                "from": str(msg.get("From", "")),
                "subject": str(msg.get("Subject", "")),
                "date": str(msg.get("Date", "")),
            }
        )
    return out
