"""The hotel's voucher: stamp the confirmation number, redact the price area, send it to the chat.

Redaction removes the text under the price area from the PDF's content (PyMuPDF redaction
annotations, applied), so no amount is visible or extractable; the result is checked by
extracting its text again with PyMuPDF and pypdf. A voucher whose price area cannot be found, or
that still shows an amount, or that is not a readable PDF goes to `needs_review`, never to the
traveller.
"""

from __future__ import annotations

import io
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from blocks.hotels import ChatApi
from db.audit import transition
from db.models.hotels import HotelBooking
from db.session import session_scope
from domain import hotels as dom
from tasks.hotels import ACTOR, _booking, _update_details
from tasks.mail import load_mailbox
from tasks.once import Outcome, perform_once
from tasks.retry import retry_delays, retry_on_infrastructure
from travelops.settings import core_settings
from travelops.settings_hotels import hotel_settings


class VoucherProblem(Exception):
    """The voucher cannot go to the traveller as it is."""


def extract_text(pdf: bytes) -> str:
    """The text of a PDF as two independent extractors see it."""
    import pymupdf
    import pypdf

    with pymupdf.open(stream=pdf, filetype="pdf") as doc:
        first = "\n".join(page.get_text() for page in doc)
    second = "\n".join(page.extract_text() or "" for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    return first + "\n" + second


def redact_and_stamp(pdf: bytes, confirmation_no: str) -> bytes:
    """Remove every line showing a price, stamp the confirmation number; VoucherProblem if not."""
    import pymupdf

    try:
        doc = pymupdf.open(stream=pdf, filetype="pdf")
    except Exception as exc:  # pymupdf raises its own FileDataError / RuntimeError
        raise VoucherProblem(f"not a readable PDF: {exc}") from exc
    try:
        if doc.page_count == 0:
            raise VoucherProblem("the PDF has no pages")
        found = 0
        for page in doc:
            for block in page.get_text("dict")["blocks"]:
                for line in block.get("lines", []):
                    text = "".join(span["text"] for span in line["spans"])
                    if dom.is_price_text(text):
                        page.add_redact_annot(pymupdf.Rect(line["bbox"]), fill=(1, 1, 1))
                        found += 1
            page.apply_redactions(images=pymupdf.PDF_REDACT_IMAGE_PIXELS)
        if found == 0:
            raise VoucherProblem("price area not found on the voucher")
        first = doc[0]
        spots = first.search_for("Confirmation No")
        stamp = f"Confirmation No: {confirmation_no}"
        if spots:
            r = spots[0]
            first.add_redact_annot(pymupdf.Rect(r.x0, r.y0, r.x0 + 300, r.y1), fill=(1, 1, 1))
            first.apply_redactions(images=pymupdf.PDF_REDACT_IMAGE_NONE)
            first.insert_text(
                (r.x0, r.y1 - 2), stamp, fontsize=12, fontname="hebo", color=(0.7, 0, 0)
            )
        else:
            first.insert_text((360, 40), stamp, fontsize=12, fontname="hebo", color=(0.7, 0, 0))
        for page in doc:
            page.clean_contents()
        doc.set_metadata({})
        out = bytes(doc.tobytes(garbage=4, deflate=True))
    finally:
        doc.close()
    text = extract_text(out)
    if dom.contains_amount(text):
        raise VoucherProblem("an amount is still extractable after redaction")
    if confirmation_no not in text.replace(" ", "") and confirmation_no not in text:
        raise VoucherProblem("the confirmation number could not be stamped")
    return out


def hotel_voucher_path(booking_no: str) -> Path:
    """Where the watcher keeps the hotel's original voucher (never sent to the traveller)."""
    return core_settings().home / "vouchers" / "from-hotels" / f"{booking_no}.pdf"


def _voucher_attachment(message_id: str) -> bytes | None:
    box = load_mailbox(hotel_settings().mailbox)
    folder = hotel_settings().processed_folder
    uids = box.search("HEADER", "Message-ID", f'"{message_id}"', folder=folder)
    if not uids:
        return None
    msg: EmailMessage = box.fetch(uids[:1], folder=folder)[0].parsed()
    for part in msg.iter_attachments():
        name = (part.get_filename() or "").lower()
        if part.get_content_type() == "application/pdf" or name.endswith(".pdf"):
            payload = part.get_payload(decode=True)
            return payload if isinstance(payload, bytes) else None
    return None


def prepare_voucher(booking_no: str, flow_run_id: str | None = None) -> dict[str, Any]:
    """Step 12a: the hotel's PDF, stamped and without its price area; problems → needs_review."""
    with session_scope() as s:
        b = _booking(s, booking_no)
        done = (b.details or {}).get("voucher")
        if done and done.get("ok"):
            return dict(done)
        reply = (b.details or {}).get("reply") or {}
        confirmation_no = b.confirmation_no or ""
    path = core_settings().home / "exports" / "vouchers" / f"{booking_no}.pdf"
    result: dict[str, Any]
    kept = hotel_voucher_path(booking_no)
    pdf = kept.read_bytes() if kept.exists() else None
    if pdf is None and reply.get("message_id"):
        pdf = _voucher_attachment(reply["message_id"])
    try:
        if pdf is None:
            raise VoucherProblem("no voucher PDF attached to the hotel's confirmation")
        clean = redact_and_stamp(pdf, confirmation_no)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(clean)
        result = {"ok": True, "path": str(path), "bytes": len(clean)}
    except VoucherProblem as exc:
        result = {"ok": False, "reason": f"voucher: {exc}"}
    with session_scope() as s:
        b = _booking(s, booking_no)
        _update_details(b, voucher=result)
        if not result["ok"]:
            transition(
                s,
                HotelBooking,
                booking_no,
                dom.NEEDS_REVIEW,
                machine=dom.BOOKING_MACHINE,
                actor=ACTOR,
                reason=result["reason"],
                flow_run_id=flow_run_id,
                values={"status_reason": result["reason"]},
            )
    return result


def load_chat() -> ChatApi:
    return ChatApi.load(hotel_settings().chat, _sync=True)  # type: ignore[no-any-return, call-overload]


def deliver_voucher(booking_no: str) -> dict[str, Any]:
    """Step 12b: the clean voucher to the traveller's chat channel, once."""
    with session_scope() as s:
        b = _booking(s, booking_no)
        voucher = (b.details or {}).get("voucher") or {}
        guest = b.guests[0]["name"]
    if not voucher.get("ok"):
        raise VoucherProblem(f"{booking_no}: no clean voucher to deliver")
    chat = load_chat()
    channel = f"hotel-{booking_no.lower()}"
    key = f"hotel-vcc:{booking_no}:voucher"
    content = open(voucher["path"], "rb").read()  # noqa: SIM115 - one small file

    def call(k: str) -> Outcome:
        chat.ensure_channel(channel, f"traveller-{booking_no.lower()}")
        msg = chat.send_file(
            channel,
            f"voucher-{booking_no}.pdf",
            content,
            f"{guest}님, 호텔 바우처를 보내드립니다.",
            k,
        )
        return Outcome(
            str(msg["message_id"]), {"channel": channel, "message_id": msg["message_id"]}
        )

    def lookup(k: str) -> Outcome | None:
        found = chat.find_message(channel, k)
        return (
            Outcome(
                str(found["message_id"]), {"channel": channel, "message_id": found["message_id"]}
            )
            if found
            else None
        )

    outcome = perform_once(key, "chat_file", call, lookup)
    return dict(outcome.result)


@task(
    cache_policy=NO_CACHE,
    retries=3,
    retry_delay_seconds=retry_delays(2, 10, 30),
    retry_condition_fn=retry_on_infrastructure,
)
def send_voucher(booking_no: str, flow_run_id: str | None = None) -> dict[str, Any]:
    """Step 12: prepare the clean voucher, and deliver it when it is clean (each step once: a
    retry finds the prepared voucher and the delivered message recorded)."""
    voucher = prepare_voucher(booking_no, flow_run_id)
    if not voucher["ok"]:
        return {"voucher": voucher, "delivered": None}
    return {"voucher": voucher, "delivered": deliver_voucher(booking_no)}
