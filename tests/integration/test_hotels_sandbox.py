"""The hotel desk's stand-ins over loopback: card issuer limits, chat files, simulated hotels."""

from __future__ import annotations

import time
import uuid
from datetime import date, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from blocks.hotels import CardIssuer, ChatApi
from blocks.http import ProviderRefused
from blocks.mail import ImapMailbox, SmtpMailer
from domain.cards import luhn_valid
from domain.errors import AmbiguousOutcome
from domain.hotels import read_reply
from domain.money import Money


def _issuer(sandbox: dict[str, Any]) -> CardIssuer:
    ep = sandbox["services"]["card-issuer"]
    return CardIssuer(
        base_url=ep["url"], api_key=SecretStr(ep["api_key"]), supplier_id="SUP-1", timeout_seconds=2
    )


def _card(issuer: CardIssuer, key: str, amount: str = "843.00") -> Any:
    return issuer.request_card(
        idempotency_key=key,
        amount=Money.of_exact(amount, "USD"),
        end_date=date(2027, 3, 13),
        guest_name="KIM MINJI",
        booking_no=key,
        check_in=date(2027, 3, 10),
    )


def _charge(sandbox: dict[str, Any], card: Any, amount: str, **kw: Any) -> dict[str, Any]:
    r = httpx.post(
        f"{sandbox['services']['card-issuer']['url']}/v1/authorizations",
        json={"card_number": card.pan, "expiry": card.expiry, "cvc": card.cvc,
              "amount": amount, "currency_code": kw.pop("currency", "USD"), **kw},
    )  # fmt: skip
    r.raise_for_status()
    return dict(r.json())


def test_issuer_gives_one_card_per_idempotency_key_and_enforces_limits(
    sandbox: dict[str, Any],
) -> None:
    issuer = _issuer(sandbox)
    key = f"hotel-vcc:BK-{uuid.uuid4().hex[:6]}"
    card = _card(issuer, key)
    assert luhn_valid(card.pan)
    assert card.pan not in repr(card)
    again = _card(issuer, key)
    assert again.card_id == card.card_id
    with pytest.raises(ProviderRefused):
        _card(issuer, key, "900.00")  # same key, other request
    assert issuer.find_card(key).card_id == card.card_id  # type: ignore[union-attr]
    assert issuer.find_card("hotel-vcc:none") is None

    assert _charge(sandbox, card, "900.00")["reason"] == "above the maximum transaction amount"
    assert _charge(sandbox, card, "800.00")["reason"] == "below the minimum transaction amount"
    late = _charge(sandbox, card, "843.00", transaction_date="2027-03-14")
    assert late["reason"] == "card past its end date"
    assert _charge(sandbox, card, "843.00")["status"] == "declined"  # 3 transactions used up
    auths = issuer.authorizations(card.card_id)
    assert [a.status for a in auths] == ["declined"] * 4

    card2 = _card(issuer, key + "-b")
    assert _charge(sandbox, card2, "843.00", currency="KRW")["reason"].startswith("currency")
    assert _charge(sandbox, card2, "843.00")["status"] == "approved"
    assert _charge(sandbox, card2, "843.00")["reason"] == "cumulative limit exceeded"
    assert issuer.close_card(card2.card_id, "test") == "closed"


def test_issuer_timeout_after_processing_is_ambiguous_and_found_by_key(
    sandbox: dict[str, Any],
) -> None:
    issuer = _issuer(sandbox)
    url = sandbox["services"]["card-issuer"]["url"]
    httpx.post(f"{url}/_sandbox/faults", json={"mode": "delay_after", "path_prefix": "/v1/cards",
                                                "seconds": 3}).raise_for_status()  # fmt: skip
    key = f"hotel-vcc:BK-{uuid.uuid4().hex[:6]}"
    with pytest.raises(AmbiguousOutcome):
        _card(issuer, key)
    found = issuer.find_card(key)
    assert found is not None
    cards = httpx.get(f"{url}/_sandbox/cards", params={"booking_reference": key}).json()
    assert len(cards) == 1


def test_chat_file_message_to_a_channel(sandbox: dict[str, Any]) -> None:
    ep = sandbox["services"]["chat"]
    chat = ChatApi(base_url=ep["url"], api_token=SecretStr(ep["api_token"]))
    channel = f"booking-{uuid.uuid4().hex[:6]}"
    chat.ensure_channel(channel, "traveller-1")
    chat.ensure_channel(channel, "traveller-1")  # exists: fine
    msg = chat.send_file(channel, "voucher.pdf", b"%PDF-1.4 test", "바우처입니다", "voucher:X")
    assert msg["type"] == "FILE"
    assert chat.find_message(channel, "voucher:X")["message_id"] == msg["message_id"]  # type: ignore[index]
    assert chat.find_message(channel, "voucher:Y") is None


def test_simulated_hotel_confirms_with_a_voucher(sandbox: dict[str, Any]) -> None:
    host, pw = sandbox["host"], SecretStr(sandbox["password"])
    desk = f"desk-{uuid.uuid4().hex[:6]}@travelops.example.com"
    mailer = SmtpMailer(host=host, port=sandbox["services"]["smtp"]["port"], security="none",
                        username=desk, password=pw, from_address=desk)  # fmt: skip
    box = ImapMailbox(host=host, port=sandbox["services"]["imap"]["port"], security="none",
                      username=desk, password=pw)  # fmt: skip
    booking_no = f"BK-20261123-{uuid.uuid4().int % 10000:04d}"
    hotels = sandbox["services"]["hotels"]["url"]
    httpx.post(f"{hotels}/behaviour", json={"key": booking_no, "delay_seconds": 0.2,
                                            "style": "ko"}).raise_for_status()  # fmt: skip
    msg = EmailMessage()
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@travelops.example.com>"
    msg["To"] = "reservations@harborplaza-guam.example.com"
    msg["Subject"] = f"[travelops] Booking sheet {booking_no}"
    msg.set_content("Lead guest: KIM MINJI\nStay: 2027-03-10 to 2027-03-13\nTotal: USD 843.00")
    mailer.send(msg)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        uids = box.search("ALL")
        if uids:
            break
        time.sleep(0.3)
    [fetched] = box.fetch(uids)
    reply = fetched.parsed()
    body = reply.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    reading = read_reply(str(reply["Subject"]), body, [booking_no])
    assert reading.kind == "confirmed"
    assert reading.confirmation_no
    [pdf] = [p for p in reply.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert pdf.get_content().startswith(b"%PDF")
    assert timedelta(seconds=0) < timedelta(seconds=20)


def test_simulated_hotels_take_each_message_once_and_keep_it_listed(tmp_path: Any) -> None:
    import mailbox

    from sandbox.mailstore import MailStore

    store = MailStore(tmp_path, "pw")
    hotel = "reservations@example.com"
    for n in (1, 2):
        store.deliver(hotel, f"Subject: sheet {n}\r\n\r\nbody\r\n".encode())
    taken = store.take_new(hotel)
    assert sorted(raw.split(b"\r\n", 1)[0] for raw in taken) == [
        b"Subject: sheet 1",
        b"Subject: sheet 2",
    ]
    assert store.take_new(hotel) == []  # read: not taken again
    store.deliver(hotel, b"Subject: sheet 3\r\n\r\nbody\r\n")
    assert len(store.take_new(hotel)) == 1
    box = mailbox.Maildir(tmp_path / hotel)
    assert len(box) == 3  # still in the mailbox, as read mail (what IMAP and the admin API see)
    assert all("S" in message.get_flags() for message in box)
