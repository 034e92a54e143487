"""`travelops bench group --orders N`: N green orders from intake to confirmation, timed.

Brings up its own stack (Prefect server, sandbox, `travelops serve`, the intake) under
`<home>/bench-group`, places N green orders, opens their deposits (each order's run then waits,
suspended, for its payment), pays them all, and measures deposit paid → order confirmed.
Prints one JSON line: orders, seconds, p50/p95 of deposit → confirmation.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any


def _pct(data: list[float], q: float) -> float:
    data = sorted(data)
    return round(data[min(len(data) - 1, round(q * (len(data) - 1)))], 2) if data else 0.0


def run_bench(orders: int, home: Path, prefect_port: int) -> dict[str, Any]:
    from travelops.stack import LocalStack, base_env

    api_url = f"http://127.0.0.1:{prefect_port}/api"
    os.environ.update(base_env(home, api_url))
    os.environ["TRAVELOPS_DATABASE_URL"] = f"sqlite:///{home / 'travelops.db'}"
    from db.session import reset_engines
    from travelops.settings import core_settings

    core_settings.cache_clear()  # the benchmark's own database and state, not the default ones
    reset_engines()
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

    stack = LocalStack(home, prefect_port=prefect_port)
    pinned = {PREFECT_API_URL: api_url, PREFECT_HOME: str(home / "prefect")}
    with temporary_settings(updates=pinned):
        try:
            return _measure(stack, orders, home)
        finally:
            stack.stop()


def _measure(stack: Any, n: int, home: Path) -> dict[str, Any]:
    from db.migrate import upgrade
    from travelops.blocks_setup import ensure_card_key, register_block_types, save_sandbox_documents
    from travelops.group_client import IntakeClient, order_payload, running_intake
    from travelops.serve import read_deployments

    upgrade(os.environ["TRAVELOPS_DATABASE_URL"])
    stack.start_prefect()
    sandbox = stack.start_sandbox()
    register_block_types()
    save_sandbox_documents(sandbox)
    ensure_card_key()
    stack.start_worker(len(read_deployments()))
    pg_url = sandbox["services"]["group_pg"]["url"]
    started = time.monotonic()
    with running_intake(pg_url, home / "logs") as intake:
        c = IntakeClient(intake, pg_url)
        placed = [c.place(order_payload(tag=i)) for i in range(n)]
        deposits = {o["order_no"]: c.request_deposit(o["order_no"]) for o in placed}
        _wait_all_waiting(list(deposits), c, timeout=60 + 5 * n)
        paid_at: dict[str, float] = {}
        for order_no, d in deposits.items():
            paid_at[order_no] = time.monotonic()
            c.pay(d["payment_key"])
        latencies: dict[str, float] = {}

        def confirmed(order_no: str) -> None:
            o = c.wait_status(order_no, {"balance_due", "paid_in_full"}, 120 + n)
            if o["status"] in ("balance_due", "paid_in_full"):
                latencies[order_no] = time.monotonic() - paid_at[order_no]

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(confirmed, list(deposits)))
    values = list(latencies.values())
    return {
        "benchmark": "group",
        "orders": n,
        "confirmed": len(values),
        "seconds": round(time.monotonic() - started, 2),
        "deposit_to_confirmation_p50_s": round(statistics.median(values), 2) if values else None,
        "deposit_to_confirmation_p95_s": _pct(values, 0.95),
    }


def _wait_all_waiting(order_nos: list[str], c: Any, timeout: float) -> None:
    """Until every order's run is suspended waiting for its deposit (so payment is the clock)."""
    from uuid import UUID

    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + timeout
    pending = set(order_nos)
    with get_client(sync_client=True) as client:
        while pending and time.monotonic() < deadline:
            for order_no in list(pending):
                run_id = c.order(order_no).get("flow_run_id")
                if not run_id:
                    continue
                run = client.read_flow_run(UUID(run_id))
                if run.state is not None and run.state.name == "AwaitingDeposit":
                    pending.discard(order_no)
            time.sleep(0.5)


def main(orders: int, prefect_port: int) -> None:
    from travelops.settings import core_settings

    home = core_settings().home / "bench-group"
    home.mkdir(parents=True, exist_ok=True)
    print(json.dumps(run_bench(orders, home, prefect_port)))  # noqa: T201 - the benchmark's output
