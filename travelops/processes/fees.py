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
BENCHMARKS: dict[str, list[str]] = {"fees": ["fees", "--trips", "20000", "--recorded", "500"]}


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


def bench_fees(
    trips: Annotated[int, typer.Option(help="Trips charged by the pure engine")] = 20000,
    recorded: Annotated[int, typer.Option(help="Events stored through record_fee_events")] = 500,
) -> None:
    """Fee engine throughput (trips/s) and record_fee_events on a scratch SQLite (events/s)."""
    import os
    import random
    import tempfile
    import time

    from domain.fees import FeeEvent, charge, parse_schedule
    from travelops.settings_fees import fees_settings

    doc = json.loads((fees_settings().data_dir / "schedule.json").read_text(encoding="utf-8"))
    tmc = parse_schedule(doc)
    rng = random.Random(2)
    kinds = ["air", "hotel", "rail", "car"]
    samples = [
        [
            FeeEvent(
                rng.choice(["booking", "booking", "modify", "cancel", "agent_contact"]),
                booking_type=rng.choice(kinds),
                agent_assisted=rng.random() < 0.3,
            )
            for _ in range(6)
        ]
        for _ in range(200)
    ]
    started = time.perf_counter()
    lines = 0
    for i in range(trips):
        schedule = tmc.for_company("HANBIT" if i % 3 == 0 else None)
        lines += len(charge(schedule, samples[i % len(samples)], vip=i % 7 == 0)[0])
    engine_s = time.perf_counter() - started

    scratch = tempfile.mkdtemp(prefix="travelops-bench-fees-")
    url = f"sqlite:///{scratch}/bench.db"
    os.environ["TRAVELOPS_DATABASE_URL"] = url
    from db.migrate import upgrade
    from db.session import reset_engines
    from tasks.fees import record_fee_events
    from travelops.settings import core_settings

    core_settings.cache_clear()
    reset_engines()
    upgrade(url)
    record_fee_events(
        None, "warm-up", [{"event_key": "warm", "type": "agent_contact"}], source="bench"
    )
    started = time.perf_counter()
    for i in range(recorded):
        event = samples[i % len(samples)][i % 6]
        record_fee_events(
            "DAEHAN",
            f"BENCH-{i // 6}",
            [
                {
                    "event_key": f"bench:{i}",
                    "type": event.type,
                    "booking_type": event.booking_type,
                    "agent_assisted": event.agent_assisted,
                }
            ],
            source="bench",
        )
    record_s = time.perf_counter() - started
    typer.echo(
        json.dumps(
            {
                "benchmark": "fees",
                "trips": trips,
                "events": trips * 6,
                "fee_lines": lines,
                "engine_seconds": round(engine_s, 3),
                "engine_trips_per_second": round(trips / engine_s),
                "recorded_events": recorded,
                "record_seconds": round(record_s, 3),
                "record_events_per_second": round(recorded / record_s, 1),
            }
        )
    )


def register_cli(app: typer.Typer) -> None:
    """Add this process's commands to `travelops`."""
    from travelops.cli import bench_app

    app.command("fees")(fees_command)
    bench_app.command("fees")(bench_fees)
