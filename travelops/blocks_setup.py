"""Register travelops' block types and save block documents that point at the sandbox."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prefect.blocks.core import Block
from prefect.blocks.system import Secret
from pydantic import SecretStr

from blocks.mail import ImapMailbox, SmtpMailer
from travelops.cardsafety import CardVault
from travelops.processes import collect
from travelops.settings import core_settings

#: Every block type the product uses (processes add theirs in travelops/processes/).
BLOCK_TYPES: list[type[Block]] = [SmtpMailer, ImapMailbox]

#: The company's own mailboxes in the sandbox.
HOTEL_DESK = "hoteldesk@travelops.example.com"
OPS_DESK = "ops@travelops.example.com"

SandboxDocs = Callable[[dict[str, Any]], list[tuple[str, Block]]]


def _mail_documents(sandbox: dict[str, Any]) -> list[tuple[str, Block]]:
    host, password = sandbox["host"], SecretStr(sandbox["password"])
    imap_port = sandbox["services"]["imap"]["port"]
    smtp_port = sandbox["services"]["smtp"]["port"]

    def mailbox(address: str) -> ImapMailbox:
        return ImapMailbox(
            host=host, port=imap_port, security="none", username=address, password=password
        )

    hotel_desk = mailbox(HOTEL_DESK)
    mailer = SmtpMailer(
        host=host,
        port=smtp_port,
        security="none",
        username=HOTEL_DESK,
        password=password,
        from_address=HOTEL_DESK,
        from_name="travelops 호텔데스크",
        sent_mailbox=hotel_desk,
    )
    return [
        ("hotel-desk", hotel_desk),
        ("ops-desk", mailbox(OPS_DESK)),
        (core_settings().block_document, mailer),
    ]


#: Functions giving (document name, block) pairs for a running sandbox (plus travelops/processes/).
SANDBOX_DOCUMENTS: list[SandboxDocs] = [_mail_documents]


def register_block_types() -> None:
    for block_type in [*BLOCK_TYPES, *collect("BLOCK_TYPES")]:
        block_type.register_type_and_schema()  # type: ignore[call-arg]


def save_sandbox_documents(sandbox: dict[str, Any]) -> list[str]:
    """Point every block document at the running sandbox (overwriting earlier ones)."""
    saved = []
    for docs in [*SANDBOX_DOCUMENTS, *collect("SANDBOX_DOCUMENTS")]:
        for name, block in docs(sandbox):
            block.save(name, overwrite=True)  # type: ignore[call-arg]
            saved.append(f"{block.get_block_type_slug()}/{name}")
    return saved


def ensure_card_key() -> str:
    """Create the card-data key as a Prefect Secret block unless one exists; returns its name."""
    name = core_settings().card_key_block
    try:
        Secret.load(name, _sync=True)  # type: ignore[call-overload]
    except ValueError:
        Secret(value=CardVault.generate_key()).save(name)  # type: ignore[call-arg]
    return name
