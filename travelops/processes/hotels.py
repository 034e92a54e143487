"""Direct-contract hotels paid by virtual card (spec/hotel-vcc.md): its registry entries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer
    from prefect.blocks.core import Block

    from sandbox.runner import Service
    from travelops.demo import Scenario

SERVICES: list[Service] = []
BLOCK_TYPES: list[type[Block]] = []
SANDBOX_DOCUMENTS: list[Any] = []
SCENARIOS: list[Scenario] = []
BENCHMARKS: dict[str, list[str]] = {}


def register_cli(app: typer.Typer) -> None:
    """Add this process's commands to `travelops`."""
