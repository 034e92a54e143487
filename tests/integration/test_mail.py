"""SmtpMailer and ImapMailbox against the sandbox's real SMTP and IMAP servers."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from blocks.mail import ImapMailbox, SmtpMailer
from domain.errors import AmbiguousOutcome, ProviderUnavailable
from tasks.mail import Attachment, compose, deliver_once


def _mailbox(sandbox: dict[str, Any], address: str) -> ImapMailbox:
    return ImapMailbox(
        host=sandbox["host"],
        port=sandbox["services"]["imap"]["port"],
        security="none",
        username=address,
        password=SecretStr(sandbox["password"]),
    )


def _mailer(sandbox: dict[str, Any], sender: str) -> SmtpMailer:
    return SmtpMailer(
        host=sandbox["host"],
        port=sandbox["services"]["smtp"]["port"],
        security="none",
        username=sender,
        password=SecretStr(sandbox["password"]),
        from_address=sender,
        sent_mailbox=_mailbox(sandbox, sender),
    )


def _wait(box: ImapMailbox, *criteria: str, n: int = 1, timeout: float = 10) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        uids = box.search(*criteria)
        if len(uids) >= n or time.monotonic() > deadline:
            return uids
        time.sleep(0.1)


def _faults(sandbox: dict[str, Any], **faults: int) -> None:
    httpx.post(f"{sandbox['services']['admin']['url']}/smtp/faults", json=faults).raise_for_status()


def test_korean_mail_with_attachment_round_trips(sandbox: dict[str, Any], sqlite_url: str) -> None:
    sender, hotel = f"desk-{uuid.uuid4().hex[:6]}@travelops.example.com", "resv@hotel-a.example.com"
    msg = compose(
        key=f"sheet:{uuid.uuid4()}",
        to=[hotel],
        cc=["cc1@hotel-a.example.com"],
        subject="[부킹시트] BK-20261122-0001 홍길동",
        text="예약 확인 부탁드립니다.",
        attachments=[Attachment("booking-sheet.pdf", b"%PDF-1.7 fake", "application/pdf")],
    )
    sent_at = datetime.now(UTC)
    _mailer(sandbox, sender).send(msg)
    box = _mailbox(sandbox, hotel)
    uids = _wait(box, "HEADER", "Message-ID", f'"{msg["Message-ID"]}"')
    [fetched] = box.fetch(uids)
    assert fetched.received_at is not None  # when it landed (INTERNALDATE, whole seconds)
    assert abs((fetched.received_at - sent_at).total_seconds()) < 5
    got = fetched.parsed()
    assert str(got["Subject"]) == "[부킹시트] BK-20261122-0001 홍길동"
    assert "예약 확인" in got.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    [att] = list(got.iter_attachments())
    assert att.get_filename() == "booking-sheet.pdf"
    assert _wait(_mailbox(sandbox, "cc1@hotel-a.example.com"), "ALL")


def test_uncertain_send_is_confirmed_from_sent_folder_not_resent(
    sandbox: dict[str, Any], sqlite_url: str
) -> None:
    sender, hotel = (
        f"desk-{uuid.uuid4().hex[:6]}@travelops.example.com",
        f"h-{uuid.uuid4().hex[:6]}@example.com",
    )
    mailer, key = _mailer(sandbox, sender), f"card:{uuid.uuid4()}"
    msg = compose(key=key, to=[hotel], subject="card", text="body")
    _faults(sandbox, drop_after_data=1)  # delivered, but the client never hears "250"
    with pytest.raises(AmbiguousOutcome):
        deliver_once(mailer, key, msg)
    outcome = deliver_once(mailer, key, compose(key=key, to=[hotel], subject="card", text="body"))
    assert outcome.provider_ref == msg["Message-ID"]
    assert not outcome.replayed
    time.sleep(0.5)
    assert len(_mailbox(sandbox, hotel).search("ALL")) == 1  # exactly one e-mail arrived
    assert deliver_once(mailer, key, msg).replayed


def test_temporary_rejection_is_retryable(sandbox: dict[str, Any], sqlite_url: str) -> None:
    sender = f"desk-{uuid.uuid4().hex[:6]}@travelops.example.com"
    mailer, key = _mailer(sandbox, sender), f"x:{uuid.uuid4()}"
    _faults(sandbox, reject_temporarily=1)
    with pytest.raises(ProviderUnavailable):
        deliver_once(mailer, key, compose(key=key, to=["a@example.com"], subject="s", text="t"))
    assert not deliver_once(
        mailer, key, compose(key=key, to=["a@example.com"], subject="s", text="t")
    ).replayed


def test_imap_moves_to_folders_and_unseen_tracking(sandbox: dict[str, Any]) -> None:
    address = f"watch-{uuid.uuid4().hex[:6]}@travelops.example.com"
    mailer = _mailer(sandbox, "desk@travelops.example.com")
    for i in range(3):
        mailer.send(compose(key=f"m{i}-{address}", to=[address], subject=f"reply {i}", text="t"))
    box = _mailbox(sandbox, address)
    unseen = [m.uid for m in box.fetch_unseen()] or _wait(box, "UNSEEN", n=3)
    assert len(_wait(box, "UNSEEN", n=3)) == 3
    box.mark_seen(unseen[:1])
    box.move(unseen[1:2], "Quarantine")
    assert len(box.search("UNSEEN")) == 1
    assert len(box.search("ALL", folder="Quarantine")) == 1
    box.move(unseen[2:3], "Quarantine")  # into the folder that now exists
    assert len(box.search("UNSEEN")) == 0
    assert len(box.search("ALL", folder="Quarantine")) == 2
    assert "Quarantine" in box.list_folders()


def test_unreachable_server_is_provider_unavailable() -> None:
    mailer = SmtpMailer(host="127.0.0.1", port=1, security="none", from_address="a@example.com")
    with pytest.raises(ProviderUnavailable):
        mailer.send(compose(key="k", to=["b@example.com"], subject="s", text="t"))
    box = ImapMailbox(
        host="127.0.0.1", port=1, security="none", username="a", password=SecretStr("x")
    )
    with pytest.raises(ProviderUnavailable):
        box.search("ALL")
