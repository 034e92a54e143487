"""Sending and reading e-mail as tasks: each send happens once per business key."""

from __future__ import annotations

import email.utils
import hashlib
import mimetypes
import time
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage

from prefect import task

from blocks.mail import FetchedMessage, ImapMailbox, SmtpMailer
from domain.errors import ProviderUnavailable
from tasks.once import Outcome, perform_once
from tasks.retry import retry_delays, retry_on_infrastructure
from travelops.settings import core_settings


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mimetype: str | None = None


def message_id_for(key: str, domain: str = "travelops.example.com") -> str:
    """A Message-ID derived from the idempotency key: the same send always carries the same id."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def compose(
    *,
    key: str,
    to: Sequence[str],
    subject: str,
    text: str,
    html: str | None = None,
    cc: Sequence[str] = (),
    reply_to: str | None = None,
    attachments: Sequence[Attachment] = (),
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    msg = EmailMessage()
    msg["Message-ID"] = message_id_for(key)
    msg["Date"] = email.utils.formatdate(localtime=False)
    msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["Subject"] = subject
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    for att in attachments:
        mimetype = (
            att.mimetype or mimetypes.guess_type(att.filename)[0] or "application/octet-stream"
        )
        maintype, subtype = mimetype.split("/", 1)
        msg.add_attachment(att.content, maintype=maintype, subtype=subtype, filename=att.filename)
    return msg


def load_mailer(name: str | None = None) -> SmtpMailer:
    return SmtpMailer.load(name or core_settings().block_document, _sync=True)  # type: ignore[no-any-return, call-overload]


def load_mailbox(name: str) -> ImapMailbox:
    return ImapMailbox.load(name, _sync=True)  # type: ignore[no-any-return, call-overload]


def deliver_once(mailer: SmtpMailer, key: str, message: EmailMessage) -> Outcome:
    """Send `message` once for `key`; on an uncertain earlier attempt, look in the Sent folder."""
    message_id = str(message["Message-ID"])

    def call(_: str) -> Outcome:
        mailer.send(message)
        return Outcome(message_id, {"message_id": message_id, "to": str(message["To"])})

    def lookup(_: str) -> Outcome | None:
        if mailer.was_sent(message_id):
            return Outcome(message_id, {"message_id": message_id, "to": str(message["To"])})
        return None

    return perform_once(f"mail:{key}", "email", call, lookup)


@task(
    retries=4,
    retry_delay_seconds=retry_delays(2, 10, 30, 60),
    retry_condition_fn=retry_on_infrastructure,
)
def send_email(
    key: str,
    to: list[str],
    subject: str,
    text: str,
    html: str | None = None,
    cc: list[str] | None = None,
    attachments: list[Attachment] | None = None,
    mailer: str | None = None,
) -> dict[str, object]:
    """Send one e-mail at most once per `key` (the business key and the purpose)."""
    message = compose(
        key=key,
        to=to,
        subject=subject,
        text=text,
        html=html,
        cc=cc or (),
        attachments=attachments or (),
    )
    outcome = deliver_once(load_mailer(mailer), key, message)
    return {"message_id": outcome.provider_ref, "replayed": outcome.replayed}


@task(retries=2, retry_delay_seconds=retry_delays(2, 5), retry_condition_fn=retry_on_infrastructure)
def wait_for_message(
    mailbox: str, message_id: str, timeout_seconds: float = 60.0, poll_seconds: float = 0.5
) -> dict[str, object]:
    """Poll an IMAP mailbox until the message with `message_id` is there; its subject and delay."""
    box = load_mailbox(mailbox)
    started = time.monotonic()
    while True:
        uids = box.search("HEADER", "Message-ID", f'"{message_id}"')
        if uids:
            fetched: list[FetchedMessage] = box.fetch(uids[:1])
            parsed = fetched[0].parsed()
            return {
                "uid": fetched[0].uid,
                "subject": str(parsed["Subject"]),
                "seconds": round(time.monotonic() - started, 3),
            }
        if time.monotonic() - started > timeout_seconds:
            raise ProviderUnavailable(f"{message_id} not in {box.address} after {timeout_seconds}s")
        time.sleep(poll_seconds)
