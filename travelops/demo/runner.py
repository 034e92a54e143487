"""`travelops demo`: bring the stack up, run every scenario, report, keep the UI serving."""

from __future__ import annotations

import json
import os
import time
import traceback
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from travelops.demo import DemoContext, Scenario, ScenarioResult
from travelops.stack import LocalStack, base_env

console = Console(stderr=True)


def _selected(only: list[str] | None) -> list[Scenario]:
    from travelops.demo.scenarios import all_scenarios

    scenarios = all_scenarios()
    if not only:
        return list(scenarios)
    unknown = set(only) - {s.name for s in scenarios}
    if unknown:
        raise ValueError(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    return [s for s in scenarios if s.name in only]


def run_demo(
    *, home: Path, report_path: Path, exit_after: bool, only: list[str] | None, prefect_port: int
) -> bool:
    api_url = f"http://127.0.0.1:{prefect_port}/api"
    # This process talks to the same server and database as its children: set the environment
    # before anything imports Prefect (scenario modules do), and pin it in a settings context too.
    os.environ.update(base_env(home, api_url))
    scenarios = _selected(only)
    extra_env: dict[str, str] = {}
    intervals: dict[str, float] = {}
    for s in scenarios:
        extra_env.update(s.env)
        intervals.update(s.intervals)
    os.environ.update(extra_env)
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

    stack = LocalStack(home, prefect_port=prefect_port, extra_env=extra_env)
    pinned = {PREFECT_API_URL: api_url, PREFECT_HOME: str(home / "prefect")}
    with temporary_settings(updates=pinned):
        return _run_stack(stack, scenarios, intervals, report_path, exit_after, prefect_port)


def _run_stack(
    stack: LocalStack,
    scenarios: list[Scenario],
    intervals: dict[str, float],
    report_path: Path,
    exit_after: bool,
    prefect_port: int,
) -> bool:
    from db.migrate import upgrade
    from travelops.blocks_setup import ensure_card_key, register_block_types, save_sandbox_documents
    from travelops.serve import read_deployments

    try:
        with console.status("migrating the database"):
            upgrade()
        with console.status(f"starting Prefect server on :{prefect_port}"):
            stack.start_prefect()
        with console.status("starting the sandbox"):
            sandbox = stack.start_sandbox()
        with console.status("registering blocks"):
            register_block_types()
            save_sandbox_documents(sandbox)
            ensure_card_key()
        with console.status("serving deployments"):
            stack.start_worker(len(read_deployments()), intervals)
        ctx = DemoContext(api_url=stack.api_url, sandbox=sandbox, home=stack.home)
        results = [_run_one(s, ctx) for s in scenarios]
        _report(results, report_path)
        ok = all(r["ok"] for r in results)
        if exit_after:
            return ok
        console.print(
            f"\n[bold]Prefect UI:[/] http://127.0.0.1:{prefect_port}  ·  report: {report_path}"
            "  ·  Ctrl-C to stop"
        )
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        return ok
    finally:
        with console.status("stopping"):
            stack.stop()


def _run_one(scenario: Scenario, ctx: DemoContext) -> dict[str, Any]:
    console.print(f"[bold cyan]▶ {scenario.name}[/] — {scenario.description}")
    started = time.monotonic()
    try:
        result = scenario.run(ctx)
    except Exception as exc:
        result = ScenarioResult(ok=False, error=f"{type(exc).__name__}: {exc}")
        console.print(traceback.format_exc(limit=5), style="dim")
    seconds = round(time.monotonic() - started, 2)
    mark = "[green]ok[/]" if result.ok else f"[red]FAILED[/] {result.error or ''}"
    console.print(f"  {mark} in {seconds}s")
    return {"name": scenario.name, "seconds": seconds, **asdict(result)}


def _report(results: list[dict[str, Any]], path: Path) -> None:
    table = Table(title="travelops demo")
    for col in ("scenario", "ok", "final statuses", "counts", "seconds"):
        table.add_column(col)
    for r in results:
        statuses = ", ".join(f"{k}: {v}" for k, v in list(r["statuses"].items())[:8])
        if len(r["statuses"]) > 8:
            statuses += f" … (+{len(r['statuses']) - 8})"
        counts = ", ".join(f"{k}={v}" for k, v in r["counts"].items())
        table.add_row(r["name"], "✅" if r["ok"] else "❌", statuses, counts, f"{r['seconds']}")
    Console().print(table)
    doc = {
        "generated_at": datetime.now(UTC).isoformat(),
        "ok": all(r["ok"] for r in results),
        "scenarios": results,
    }
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False, default=str))
