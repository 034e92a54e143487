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

SERVICES: list[Service] = []
BLOCK_TYPES: list[type[Block]] = []
SANDBOX_DOCUMENTS: list[Any] = []
SCENARIOS: list[Scenario] = []
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
