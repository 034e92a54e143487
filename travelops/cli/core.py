"""Core commands: db, sandbox, blocks, serve, demo."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer

from domain.errors import InvalidInput
from travelops.cli import app, bench_app, blocks_app, db_app
from travelops.settings import PROJECT_ROOT, core_settings


def _pairs(values: list[str] | None, option: str) -> dict[str, str]:
    out = {}
    for item in values or []:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise InvalidInput(option, item, "expected NAME=VALUE")
        out[name] = value
    return out


@db_app.command("upgrade")
def db_upgrade(
    url: Annotated[
        str | None, typer.Option(help="Database URL (default: TRAVELOPS_DATABASE_URL)")
    ] = None,
) -> None:
    """Apply every migration (all branches) to the database."""
    from db.migrate import upgrade

    heads = upgrade(url)
    typer.echo(f"database at {', '.join(heads)}")


@db_app.command("current")
def db_current(url: Annotated[str | None, typer.Option()] = None) -> None:
    """Show the revisions the database is at, and whether it is up to date."""
    from db.migrate import current_heads, expected_heads

    heads, expected = current_heads(url), expected_heads()
    typer.echo(f"database: {', '.join(heads) or '(empty)'}")
    if heads != expected:
        typer.echo(f"pending: upgrade to {', '.join(expected)} (travelops db upgrade)")
        raise typer.Exit(1)


@app.command("sandbox")
def sandbox(
    root: Annotated[Path | None, typer.Option(help="State folder (mailboxes…)")] = None,
    endpoints_file: Annotated[
        Path | None, typer.Option(help="Where to write the endpoints JSON")
    ] = None,
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[
        list[str] | None, typer.Option(help="NAME=PORT, e.g. smtp=2525 (0 = any)")
    ] = None,
    option: Annotated[
        list[str] | None, typer.Option(help="NAME=VALUE passed to the stand-ins")
    ] = None,
) -> None:
    """Run every stand-in (SMTP, IMAP, HTTP APIs) on loopback until Ctrl-C."""
    from sandbox.runner import SandboxContext, serve

    home = core_settings().home
    root = root or home / "sandbox"
    endpoints_file = endpoints_file or root / "endpoints.json"
    ports = {k: int(v) for k, v in _pairs(port, "--port").items()}

    def ready(ctx: SandboxContext) -> None:
        for name, ep in ctx.endpoints.items():
            typer.echo(
                f"{name:>12}  {ep.get('url') or ep['host'] + ':' + str(ep['port'])}", err=True
            )
        typer.echo(f"endpoints: {endpoints_file}  (mail password: {ctx.password})", err=True)

    asyncio.run(
        serve(
            root,
            endpoints_file,
            host=host,
            ports=ports,
            options=_pairs(option, "--option"),
            ready=ready,
        )
    )


@blocks_app.command("register")
def blocks_register(
    sandbox_endpoints: Annotated[
        Path | None, typer.Option(help="Save block documents pointing at this running sandbox")
    ] = None,
) -> None:
    """Register block types; with --sandbox-endpoints also save sandbox block documents."""
    from travelops.blocks_setup import ensure_card_key, register_block_types, save_sandbox_documents

    register_block_types()
    typer.echo("block types registered")
    if sandbox_endpoints:
        for name in save_sandbox_documents(json.loads(sandbox_endpoints.read_text())):
            typer.echo(f"saved {name}")
        typer.echo(f"card key block: {ensure_card_key()}")


@app.command("serve")
def serve(
    interval: Annotated[
        list[str] | None, typer.Option(help="DEPLOYMENT=SECONDS schedule override")
    ] = None,
    only: Annotated[list[str] | None, typer.Option(help="Serve only these deployments")] = None,
    limit: Annotated[int | None, typer.Option(help="Maximum concurrent flow runs")] = None,
    fork_server: Annotated[
        bool, typer.Option(help="Start flow runs from a preloaded fork server (faster)")
    ] = True,
) -> None:
    """Serve every deployment of prefect.yaml from this process (a single-machine worker)."""
    from travelops.serve import prepare_worker_environment, serve_flows, use_forkserver

    prepare_worker_environment()  # before the fork server: its runs inherit the answers
    if fork_server:
        use_forkserver()

    overrides = {k: float(v) for k, v in _pairs(interval, "--interval").items()}
    serve_flows(overrides, set(only) if only else None, limit)


@app.command("demo")
def demo(
    exit_after: Annotated[bool, typer.Option("--exit", help="Exit after the scenarios")] = False,
    only: Annotated[list[str] | None, typer.Option(help="Run only these scenarios")] = None,
    report: Annotated[Path, typer.Option(help="Where to write the report")] = PROJECT_ROOT
    / "demo-report.json",
    port: Annotated[int, typer.Option(help="Prefect server/UI port")] = 4200,
) -> None:
    """Set everything up, run the demo scenarios end to end, report, keep the UI serving."""
    from travelops.demo.runner import run_demo

    ok = run_demo(
        home=core_settings().home,
        report_path=report,
        exit_after=exit_after,
        only=only,
        prefect_port=port,
    )
    if not ok:
        raise typer.Exit(1)


@bench_app.command("all")
def bench_all() -> None:
    """Run every registered benchmark at its default size; one JSON line each."""
    import subprocess
    import sys

    from travelops.bench import all_benchmarks

    benchmarks = all_benchmarks()

    if not benchmarks:
        typer.echo("no benchmarks registered", err=True)
        return
    failed = []
    for name, args in benchmarks.items():
        typer.echo(f"# {name}: travelops bench {' '.join(args)}", err=True)
        result = subprocess.run([sys.executable, "-m", "travelops", "bench", *args], check=False)  # noqa: S603
        if result.returncode:
            failed.append(name)
    if failed:
        raise InvalidInput("bench", failed, "benchmark(s) failed")
