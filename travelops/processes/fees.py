"""TMC fees (spec/tmc-fees.md): its registry entries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from prefect.blocks.core import Block

    from sandbox.runner import Service
    from travelops.demo import Scenario

#: The billing desk that sends the delayed-invoice e-mails.
BILLING_ADDRESS = "billing@travelops.example.com"
BILLING_MAILER = "fees-billing"


def _billing_documents(sandbox: dict[str, Any]) -> list[tuple[str, Block]]:
    """The fees-billing mailer (SMTP block) and its mailbox, pointing at the sandbox."""
    from pydantic import SecretStr

    from blocks.mail import ImapMailbox, SmtpMailer

    host, password = sandbox["host"], SecretStr(sandbox["password"])
    mailbox = ImapMailbox(
        host=host,
        port=sandbox["services"]["imap"]["port"],
        security="none",
        username=BILLING_ADDRESS,
        password=password,
    )
    mailer = SmtpMailer(
        host=host,
        port=sandbox["services"]["smtp"]["port"],
        security="none",
        username=BILLING_ADDRESS,
        password=password,
        from_address=BILLING_ADDRESS,
        from_name="travelops 정산팀 (billing)",
        sent_mailbox=mailbox,
    )
    return [("fees-billing-mailbox", mailbox), (BILLING_MAILER, mailer)]


SERVICES: list[Service] = []
BLOCK_TYPES: list[type[Block]] = []
SANDBOX_DOCUMENTS: list[Any] = [_billing_documents]


def _scenarios() -> list[Scenario]:
    from travelops.demo.scenarios.fees import SCENARIO

    return [SCENARIO]


SCENARIOS: list[Scenario] = _scenarios()
BENCHMARKS: dict[str, list[str]] = {}


def _read_json(path: Path, option: str) -> Any:
    from domain.errors import InvalidInput

    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(option, str(path), "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(option, str(path), f"cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(option, str(path), f"not valid JSON ({exc})") from None


def fees_command(
    schedule: Annotated[Path, typer.Option("--schedule", help="SCHEDULE.json (tmc-fees.md)")],
    trip: Annotated[Path, typer.Option("--trip", help="TRIP.json: company, vip, events, waivers")],
) -> None:
    """Compute a trip's TMC fee lines from a fee schedule; prints JSON (exit 2 on bad input)."""
    from domain.fees import calculate

    result = calculate(_read_json(schedule, "--schedule"), _read_json(trip, "--trip"))
    typer.echo(json.dumps(result, ensure_ascii=False, indent=2))


def register_cli(app: typer.Typer) -> None:
    """Add this process's commands to `travelops`."""
    app.command("fees")(fees_command)
