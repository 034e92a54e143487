"""Coupons and their nightly settlement (spec/coupons.md): its registry entries."""

from __future__ import annotations

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


def _scenarios() -> list[Scenario]:
    from travelops.demo.scenarios.coupons import SCENARIO

    return [SCENARIO]


SCENARIOS: list[Scenario] = _scenarios()
BENCHMARKS: dict[str, list[str]] = {"settlement": ["settlement", "--rows", "1000000"]}


def register_cli(app: typer.Typer) -> None:
    """Add this process's commands to `travelops`."""

    @app.command("cost-share")
    def cost_share(
        input_path: Annotated[Path, typer.Option("--input", help="IN.csv (see spec/coupons.md)")],
        output_path: Annotated[Path, typer.Option("--output", help="OUT.csv to write")],
    ) -> None:
        """Commission and agency cost share per reservation. Exit 0 all valid, 1 some rejected,
        2 the file itself is unusable."""
        from tasks.coupons_io import cost_share_file

        rows, rejected = cost_share_file(input_path, output_path)
        if rejected:
            typer.echo(f"{rejected} of {rows} row(s) rejected; see the error column", err=True)
            raise typer.Exit(1)
        typer.echo(f"{rows} row(s) written to {output_path}", err=True)

    from travelops.cli import bench_app

    @bench_app.command("settlement")
    def bench_settlement(
        rows: Annotated[int, typer.Option(help="Generated reservations to settle")] = 1_000_000,
        naive: Annotated[
            bool, typer.Option(help="Also time the per-row calculator and check it equal")
        ] = True,
    ) -> None:
        """Nightly coupon settlement end to end on SQLite; one JSON line."""
        from travelops.bench_coupons import main

        main(rows, naive)
