"""A real SMTP server (aiosmtpd) that delivers into the sandbox's Maildirs, like a mail provider.

Authenticated senders get a copy in their own "Sent" folder (as Gmail does), which is how the
product checks, after an ambiguous send, whether a message really left.
"""

from __future__ import annotations

import asyncio
import email.utils
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from sandbox.mailstore import MailStore


@dataclass
class SmtpFaults:
    """Faults to inject on the next messages (set through the sandbox's admin API)."""

    drop_after_data: int = 0  # deliver, then drop the connection before answering 250
    reject_temporarily: int = 0  # answer 451 without delivering
    log: list[dict[str, Any]] = field(default_factory=list)


class _Handler:
    def __init__(self, store: MailStore, faults: SmtpFaults) -> None:
        self.store = store
        self.faults = faults

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        try:
            MailStore.normalize(address)
        except ValueError:
            return "553 5.1.3 mailbox name not allowed"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.faults.reject_temporarily > 0:
            self.faults.reject_temporarily -= 1
            return "451 4.3.0 sandbox: temporary failure injected"
        raw = envelope.original_content or b""
        stamp = (
            f"Received: from {session.host_name or 'unknown'} by travelops-sandbox; "
            f"{email.utils.formatdate(localtime=False)}\r\n"
        ).encode()
        loop = asyncio.get_running_loop()
        for rcpt in envelope.rcpt_tos:
            await loop.run_in_executor(None, self.store.deliver, rcpt, stamp + raw, None)
        if session.authenticated and isinstance(session.auth_data, bytes):
            sender = session.auth_data.decode()
            await loop.run_in_executor(None, self.store.deliver, sender, raw, "Sent")
        self.faults.log.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos)})
        if self.faults.drop_after_data > 0:
            self.faults.drop_after_data -= 1
            assert server.transport is not None
            server.transport.abort()  # delivered, but the client never hears 250
            return "421 4.4.2 connection dropped"
        return "250 2.0.0 OK: queued"


class _Authenticator:
    def __init__(self, store: MailStore) -> None:
        self.store = store

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        if auth_data.password.decode() != self.store.password:
            return AuthResult(success=False, handled=False)
        self.store.ensure_user(auth_data.login.decode())
        return AuthResult(success=True, auth_data=auth_data.login)


async def start_smtp(
    stack: AsyncExitStack, store: MailStore, faults: SmtpFaults, host: str, port: int
) -> int:
    """Accept mail on host:port (0 = any) and deliver it into `store`; returns the bound port."""
    handler = _Handler(store, faults)
    authenticator = _Authenticator(store)

    def factory() -> SMTP:
        return SMTP(
            handler,
            hostname="travelops-sandbox",
            authenticator=authenticator,
            auth_require_tls=False,  # loopback only; production mailers use STARTTLS or SSL
            data_size_limit=50 * 1024 * 1024,
            enable_SMTPUTF8=True,
        )

    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, host=host, port=port)
    stack.push_async_callback(server.wait_closed)
    stack.callback(server.close)
    return int(server.sockets[0].getsockname()[1])
