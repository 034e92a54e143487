"""E-mail: `SmtpMailer` sends, `ImapMailbox` reads; plain SMTP and IMAP4rev1, no vendor APIs."""

from __future__ import annotations

import email
import email.policy
import email.utils
import imaplib
import re
import smtplib
import ssl
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Literal

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from domain.errors import AmbiguousOutcome, InvalidInput, ProviderUnavailable

Security = Literal["none", "starttls", "ssl"]


@dataclass(frozen=True)
class FetchedMessage:
    uid: int
    raw: bytes
    #: When the message landed in the mailbox (the server's INTERNALDATE), if it said.
    received_at: datetime | None = None

    def parsed(self) -> EmailMessage:
        msg = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        return msg


class ImapMailbox(Block):
    """An IMAP mailbox the product reads (hotel replies, FX e-mails) or checks (Sent folder)."""

    _block_type_name = "IMAP Mailbox"
    _block_type_slug = "travelops-imap-mailbox"
    _description = "Reads an IMAP4rev1 mailbox: search, fetch, move to folders, find by Message-ID."

    host: str = Field(description="IMAP server host.")
    port: int = Field(default=993)
    security: Security = Field(default="ssl")
    username: str = Field(description="Login; usually the mailbox's address.")
    password: SecretStr
    folder: str = Field(default="INBOX", description="Folder the product reads.")
    timeout_seconds: float = Field(default=30.0)

    @property
    def address(self) -> str:
        return self.username

    @contextmanager
    def connect(self, folder: str | None = None, readonly: bool = False) -> Iterator[imaplib.IMAP4]:
        """A logged-in connection with `folder` selected (created if missing)."""
        try:
            if self.security == "ssl":
                conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    self.host,
                    self.port,
                    ssl_context=ssl.create_default_context(),
                    timeout=self.timeout_seconds,
                )
            else:
                conn = imaplib.IMAP4(self.host, self.port, timeout=self.timeout_seconds)
                if self.security == "starttls":
                    conn.starttls(ssl.create_default_context())
            conn.login(self.username, self.password.get_secret_value())
        except (OSError, imaplib.IMAP4.error) as exc:
            raise ProviderUnavailable(f"IMAP {self.host}:{self.port}: {exc}") from exc
        try:
            name = folder or self.folder
            typ, _ = conn.select(_quote(name), readonly=readonly)
            if typ != "OK":
                conn.create(_quote(name))
                typ, data = conn.select(_quote(name), readonly=readonly)
                if typ != "OK":
                    raise ProviderUnavailable(f"IMAP cannot select {name!r}: {data!r}")
            yield conn
        except (OSError, imaplib.IMAP4.abort) as exc:
            raise ProviderUnavailable(f"IMAP {self.host}:{self.port}: {exc}") from exc
        finally:
            with suppress(OSError, imaplib.IMAP4.error):
                conn.logout()

    def search(self, *criteria: str, folder: str | None = None) -> list[int]:
        """UIDs matching IMAP SEARCH criteria, e.g. ("UNSEEN",) or ("HEADER", "Message-ID", id)."""
        with self.connect(folder, readonly=True) as conn:
            return _search(conn, criteria)

    def fetch(self, uids: Sequence[int], folder: str | None = None) -> list[FetchedMessage]:
        """Whole messages (BODY.PEEK: fetching does not mark them seen)."""
        if not uids:
            return []
        with self.connect(folder, readonly=True) as conn:
            return _fetch(conn, uids)

    def fetch_unseen(self, limit: int = 200, folder: str | None = None) -> list[FetchedMessage]:
        with self.connect(folder, readonly=True) as conn:
            return _fetch(conn, _search(conn, ("UNSEEN",))[:limit])

    def mark_seen(self, uids: Sequence[int], folder: str | None = None) -> None:
        if not uids:
            return
        with self.connect(folder) as conn:
            conn.uid("STORE", _uid_set(uids), "+FLAGS.SILENT", r"(\Seen)")

    def move(self, uids: Sequence[int], to_folder: str, folder: str | None = None) -> None:
        """Move messages to another folder (created if missing): COPY + \\Deleted + EXPUNGE."""
        if not uids:
            return
        with self.connect(folder) as conn:
            _typ, listed = conn.list('""', _quote(to_folder))
            if not [entry for entry in listed if entry]:
                conn.create(_quote(to_folder))
            typ, data = conn.uid("COPY", _uid_set(uids), _quote(to_folder))
            if typ != "OK":
                raise ProviderUnavailable(f"IMAP COPY to {to_folder!r} failed: {data!r}")
            conn.uid("STORE", _uid_set(uids), "+FLAGS.SILENT", r"(\Deleted)")
            conn.expunge()

    def append(self, raw: bytes, folder: str | None = None) -> None:
        with self.connect(folder) as conn:
            typ, data = conn.append(_quote(folder or self.folder), r"(\Seen)", None, raw)
            if typ != "OK":
                raise ProviderUnavailable(f"IMAP APPEND failed: {data!r}")

    def find_message_id(self, message_id: str, folder: str | None = None) -> bool:
        """Whether a message with this Message-ID is in the folder."""
        return bool(self.search("HEADER", "Message-ID", _quote(message_id), folder=folder))

    def list_folders(self) -> list[str]:
        with self.connect() as conn:
            _typ, data = conn.list()
        names = []
        for line in data or []:
            if isinstance(line, bytes):
                m = re.match(rb'\(.*?\) "(.*?)" "?(.*?)"?$', line)
                if m:
                    names.append(m.group(2).decode())
        return names


class SmtpMailer(Block):
    """Sends e-mail over SMTP; can confirm a send by finding the Message-ID in the Sent folder."""

    _block_type_name = "SMTP Mailer"
    _block_type_slug = "travelops-smtp-mailer"
    _description = "Sends e-mail through an SMTP relay (STARTTLS, SSL or plain on loopback)."

    host: str
    port: int = Field(default=587)
    security: Security = Field(default="starttls")
    username: str | None = None
    password: SecretStr | None = None
    from_address: str = Field(description="Envelope and header sender.")
    from_name: str = Field(default="travelops")
    timeout_seconds: float = Field(default=30.0)
    sent_mailbox: ImapMailbox | None = Field(
        default=None,
        description="The sender's mailbox; its Sent folder proves whether an uncertain send left.",
    )
    sent_folder: str = Field(default="Sent")

    def send(self, message: EmailMessage) -> str:
        """Send and return the Message-ID.

        Raises `ProviderUnavailable` when nothing was sent (connect, auth, 4xx before DATA),
        `AmbiguousOutcome` when the message may have been accepted (the connection broke during
        or after DATA), `InvalidInput` when the server refuses a recipient for good (5xx).
        """
        if not message.get("Message-ID"):
            raise InvalidInput("Message-ID", None, "set a Message-ID derived from the business key")
        if not message.get("From"):
            message["From"] = email.utils.formataddr((self.from_name, self.from_address))
        message_id = str(message["Message-ID"])
        recipients = [
            addr
            for _, addr in email.utils.getaddresses(
                [str(v) for k in ("To", "Cc", "Bcc") for v in message.get_all(k, [])]
            )
            if addr
        ]
        if not recipients:
            raise InvalidInput("To", None, "a message needs at least one recipient")
        del message["Bcc"]
        try:
            client = self._connect()
        except (OSError, smtplib.SMTPException) as exc:
            raise ProviderUnavailable(f"SMTP {self.host}:{self.port}: {exc}") from exc
        try:
            refused = client.send_message(message, from_addr=self.from_address, to_addrs=recipients)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = {code for code, _ in exc.recipients.values()}
            if all(c >= 500 for c in codes):
                raise InvalidInput(
                    "To", sorted(exc.recipients), "refused by the mail server"
                ) from exc
            raise ProviderUnavailable(f"SMTP recipients deferred: {exc.recipients}") from exc
        except smtplib.SMTPDataError as exc:
            if exc.smtp_code >= 500:
                raise InvalidInput("message", message_id, f"refused: {exc.smtp_error!r}") from exc
            raise ProviderUnavailable(f"SMTP deferred: {exc.smtp_code} {exc.smtp_error!r}") from exc
        except (TimeoutError, smtplib.SMTPServerDisconnected, OSError) as exc:
            raise AmbiguousOutcome(f"SMTP connection lost while sending {message_id}") from exc
        finally:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()
        if refused:
            raise InvalidInput("To", sorted(refused), "some recipients were refused")
        return message_id

    def was_sent(self, message_id: str) -> bool | None:
        """True/False from the Sent folder; None when no Sent mailbox is configured to ask."""
        if self.sent_mailbox is None:
            return None
        return self.sent_mailbox.find_message_id(message_id, folder=self.sent_folder)

    def _connect(self) -> smtplib.SMTP:
        if self.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host,
                self.port,
                timeout=self.timeout_seconds,
                context=ssl.create_default_context(),
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout_seconds)
            if self.security == "starttls":
                client.starttls(context=ssl.create_default_context())
        if self.username and self.password is not None:
            client.login(self.username, self.password.get_secret_value())
        return client


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _uid_set(uids: Sequence[int]) -> str:
    return ",".join(str(u) for u in uids)


def _search(conn: imaplib.IMAP4, criteria: Sequence[str]) -> list[int]:
    typ, data = conn.uid("SEARCH", None, *criteria)  # type: ignore[arg-type]
    if typ != "OK":
        raise ProviderUnavailable(f"IMAP SEARCH failed: {data!r}")
    return [int(x) for x in (data[0] or b"").split()]


def _fetch(conn: imaplib.IMAP4, uids: Sequence[int]) -> list[FetchedMessage]:
    if not uids:
        return []
    typ, data = conn.uid("FETCH", _uid_set(uids), "(UID INTERNALDATE BODY.PEEK[])")
    if typ != "OK":
        raise ProviderUnavailable(f"IMAP FETCH failed: {data!r}")
    out = []
    for item in data:
        if isinstance(item, tuple):
            m = re.search(rb"UID (\d+)", item[0])
            if m:
                out.append(FetchedMessage(int(m.group(1)), item[1], _internal_date(item[0])))
    return out


def _internal_date(fetch_line: bytes) -> datetime | None:
    """The INTERNALDATE of a FETCH response line, as an aware UTC datetime."""
    stamp = imaplib.Internaldate2tuple(fetch_line)  # local time tuple, or None
    if stamp is None:
        return None
    return datetime.fromtimestamp(time.mktime(stamp), UTC)
