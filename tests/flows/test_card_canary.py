"""A canary card goes through a flow that handles it carelessly; it must surface nowhere in clear.

Places checked: Prefect logs (API and console), flow-run parameters, persisted task results,
artifacts, the travelops database and the Prefect server's own database. Allowed: the e-mail to
the hotel's payment address (and the sender's Sent copy of it).
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.settings import PREFECT_HOME, PREFECT_SERVER_DATABASE_CONNECTION_URL
from sqlalchemy import text

from db.models.hotels import Hotel, HotelBooking, VirtualCard
from db.session import session_scope
from domain.cards import mask_pan
from tasks.mail import compose, deliver_once, load_mailer
from tests import runs
from travelops.cardsafety import card_vault

CANARY_PAN = "5412759988776656"  # Luhn-valid, used nowhere else
CANARY_CVC = "737"
CANARY_EXPIRY = "12/29"
FORMS = [CANARY_PAN, "5412 7599 8877 6656", "5412-7599-8877-6656"]


def _luhn_ok() -> bool:
    from domain.cards import luhn_valid

    return luhn_valid(CANARY_PAN)


@task
def receive_and_store_card(booking_no: str) -> dict[str, Any]:
    """Stands where a card issuer's answer lands: the card must be stored and shown masked."""
    logger = get_run_logger()
    vault = card_vault()
    with session_scope() as s:
        s.merge(
            Hotel(
                code="CANARY",
                name="Canary Hotel",
                region="Guam",
                timezone="Pacific/Guam",
                currency="USD",
                reservation_email="resv@canary-hotel.example.com",
                payments_email="pay@canary-hotel.example.com",
            )
        )
        s.flush()
        s.add(
            HotelBooking(
                booking_no=booking_no,
                hotel_code="CANARY",
                room_type="DLX",
                check_in=date(2027, 1, 10),
                check_out=date(2027, 1, 12),
                paid_amount_minor=50000,
                paid_currency="USD",
                paid_at=datetime.now(UTC),
            )
        )
        s.flush()
        s.add(
            VirtualCard(
                booking_no=booking_no,
                issuer_card_id=f"ic-{booking_no}",
                idempotency_key=f"vcc:{booking_no}",
                pan_encrypted=vault.encrypt(CANARY_PAN),
                expiry_encrypted=vault.encrypt(CANARY_EXPIRY),
                cvc_encrypted=vault.encrypt(CANARY_CVC),
                masked_pan=mask_pan(CANARY_PAN),
                amount_minor=50000,
                currency="USD",
                valid_until=date(2027, 1, 12),
            )
        )
    # Careless code paths a filter has to catch:
    logger.info("issued card %s exp %s cvc %s", CANARY_PAN, CANARY_EXPIRY, CANARY_CVC)
    logger.warning(f"card number 5412 7599 8877 6656, CVC: {CANARY_CVC}")
    print(f"debug print of {CANARY_PAN}")  # noqa: T201 - log_prints routes prints to the logger
    logging.getLogger("travelops.canary").warning("stdlib logger saw %s", CANARY_PAN)
    try:
        raise ValueError(f"issuer said: card {CANARY_PAN} declined, cvv={CANARY_CVC}")
    except ValueError:
        logger.exception("handled issuer error")
    return {"booking_no": booking_no, "card": mask_pan(CANARY_PAN)}


@task
def email_card_to_hotel(booking_no: str) -> str:
    """The one allowed place for the clear card: the e-mail to the hotel's payment desk."""
    with session_scope() as s:
        card = s.query(VirtualCard).filter_by(booking_no=booking_no).one()
        pan = card_vault().decrypt(card.pan_encrypted)
        cvc = card_vault().decrypt(card.cvc_encrypted)
    key = f"vcc-mail:{booking_no}"
    msg = compose(
        key=key,
        to=["pay@canary-hotel.example.com"],
        subject=f"VCC {booking_no}",
        text=f"Card {pan} exp {CANARY_EXPIRY} CVC {cvc}",
    )
    return str(deliver_once(load_mailer(), key, msg).provider_ref)


@flow(name="card-canary", log_prints=True)
def card_canary(booking_no: str) -> dict[str, Any]:
    stored = receive_and_store_card(booking_no)
    email_card_to_hotel(booking_no)
    create_markdown_artifact(
        key="card-canary", markdown=f"card for {booking_no}: `{stored['card']}`"
    )
    return stored


def _contains(blob: bytes | str) -> list[str]:
    data = blob.encode() if isinstance(blob, str) else blob
    return [form for form in FORMS if form.encode() in data]


@pytest.mark.slow
def test_canary_card_appears_nowhere_in_clear(
    prefect_api: str, capfd: pytest.CaptureFixture[str]
) -> None:
    assert _luhn_ok()
    booking_no = f"BK-CANARY-{uuid.uuid4().hex[:6]}"
    state = card_canary(booking_no, return_state=True)
    assert state.is_completed()
    run_id = state.state_details.flow_run_id

    messages = runs.logs(run_id)
    assert any("5412 •••• •••• 6656" in m for m in messages), messages
    assert any("cvc •••" in m for m in messages)
    leaks = {m for m in messages if _contains(m)}
    assert not leaks, leaks

    out, err = capfd.readouterr()
    assert not _contains(out + err)

    run = runs.flow_run(run_id)
    assert not _contains(repr(run.parameters))
    assert not _contains(repr(run.state))
    for artifact in runs.artifacts(run_id):
        assert not _contains(repr(artifact))

    storage = Path(PREFECT_HOME.value()) / "storage"
    results = [p for p in storage.rglob("*") if p.is_file()]
    assert results, "results should be persisted for this check to mean something"
    assert not [p for p in results if _contains(p.read_bytes())]

    with session_scope() as s:
        rows = s.execute(text("SELECT * FROM virtual_cards")).all()
        assert rows
        assert not _contains(repr(rows))
        assert not _contains(repr(s.execute(text("SELECT * FROM side_effects")).all()))
        card = s.query(VirtualCard).filter_by(booking_no=booking_no).one()
        assert card_vault().decrypt(card.cvc_encrypted) == CANARY_CVC  # stored, but encrypted
        assert card.masked_pan == "5412 •••• •••• 6656"

    db_files = [Path(str(PREFECT_SERVER_DATABASE_CONNECTION_URL.value()).split("///", 1)[1])]
    travelops_db = Path(str(s.get_bind().url.database))
    for path in [*db_files, travelops_db]:
        for f in path.parent.glob(path.name + "*"):  # the file and its -wal / -shm
            assert not _contains(f.read_bytes()), f

    from blocks.mail import ImapMailbox  # the hotel's own mailbox does get the card: by design

    hotel_box = load_mailer().sent_mailbox
    assert isinstance(hotel_box, ImapMailbox)
    [sent] = hotel_box.fetch(
        hotel_box.search("SUBJECT", f'"VCC {booking_no}"', folder="Sent"), folder="Sent"
    )
    assert CANARY_PAN in sent.parsed().get_body(("plain",)).get_content()  # type: ignore[union-attr]
