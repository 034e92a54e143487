"""`travelops bench group --orders N`: N green orders from intake to confirmation, timed.

Brings up its own stack (Prefect server, sandbox, `travelops serve`, the intake) under
`<home>/bench-group`, places N green orders, opens their deposits (each order's run then waits,
suspended, for its payment), pays them, and measures deposit paid → order confirmed (status
`balance_due` or `paid_in_full`: documents, messages, fees and balance request done).

Customers arrive at `rate` per second and each places an order, opens the deposit and pays at
once: the clock includes the order's run reaching its wait. `rate=0` is a burst instead: all N
orders placed and waiting first, then all deposits paid in the same instant — it measures the
worker's throughput rather than an order's latency.
Prints one JSON line: orders, rate, seconds, p50/p95 of deposit → confirmation.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def _pct(data: list[float], q: float) -> float:
    data = sorted(data)
    return round(data[min(len(data) - 1, round(q * (len(data) - 1)))], 2) if data else 0.0


def run_bench(orders: int, home: Path, prefect_port: int, rate: float) -> dict[str, Any]:
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
            return _measure(stack, orders, home, rate)
        finally:
            stack.stop()


def _measure(stack: Any, n: int, home: Path, rate: float) -> dict[str, Any]:
    from db.migrate import upgrade
    from travelops.blocks_setup import ensure_card_key, register_block_types, save_sandbox_documents
    from travelops.group_client import IntakeClient, running_intake
    from travelops.serve import read_deployments

    upgrade(os.environ["TRAVELOPS_DATABASE_URL"])
    stack.start_prefect()
    sandbox = stack.start_sandbox()
    register_block_types()
    save_sandbox_documents(sandbox)
    ensure_card_key()
    stack.start_worker(len(read_deployments()))
    pg_url = sandbox["services"]["group_pg"]["url"]
    _settle(timeout=120)
    started = time.monotonic()
    done = {"balance_due", "paid_in_full"}
    with running_intake(pg_url, home / "logs") as intake:
        c = IntakeClient(intake, pg_url, timeout=120)
        paid_at = _paced(c, n, rate) if rate > 0 else _burst(c, n)
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda o: c.wait_status(o, done, 120 + n), list(paid_at)))
    confirmed_at = _confirmed_at(list(paid_at), done)
    latencies = {
        o: (confirmed_at[o] - paid_at[o]).total_seconds() for o in paid_at if o in confirmed_at
    }
    values = list(latencies.values())
    return {
        "benchmark": "group",
        "orders": n,
        "rate_per_s": rate,
        "confirmed": len(values),
        "seconds": round(time.monotonic() - started, 2),
        "deposit_to_confirmation_p50_s": round(statistics.median(values), 2) if values else None,
        "deposit_to_confirmation_p95_s": _pct(values, 0.95),
    }


def _settle(timeout: float) -> None:
    """Until the runs the worker starts on its own at start-up (the schedules' first runs) are
    over: the benchmark measures the steady state, not the start-up."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState
    from prefect.client.schemas.filters import FlowRunFilterStateType as StateType
    from prefect.client.schemas.objects import StateType as T

    busy = FlowRunFilter(
        state=FlowRunFilterState(type=StateType(any_=[T.PENDING, T.RUNNING, T.CANCELLING]))
    )
    deadline = time.monotonic() + timeout
    time.sleep(3)  # the scheduler's first pass
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline and client.count_flow_runs(flow_run_filter=busy):
            time.sleep(1)


def _paced(c: Any, n: int, rate: float) -> dict[str, datetime]:
    """Customer i arrives at i / rate s: places the order, opens the deposit, pays at once (the
    order's run may not be waiting yet: the webhook wakes it when it gets there)."""
    from travelops.group_client import order_payload

    paid_at: dict[str, datetime] = {}

    def customer(i: int) -> None:
        order_no = c.place(order_payload(tag=i))["order_no"]
        deposit = c.request_deposit(order_no)
        paid_at[order_no] = datetime.now(UTC)
        c.pay(deposit["payment_key"])

    first = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        futures = []
        for i in range(n):
            time.sleep(max(0.0, first + i / rate - time.monotonic()))
            futures.append(pool.submit(customer, i))
        for f in futures:
            f.result()
    return paid_at


def _burst(c: Any, n: int) -> dict[str, datetime]:
    """All N orders placed and waiting, suspended, for their deposits; then all paid at once."""
    from travelops.group_client import order_payload

    placed = [c.place(order_payload(tag=i)) for i in range(n)]
    deposits = {o["order_no"]: c.request_deposit(o["order_no"]) for o in placed}
    _wait_all_waiting(list(deposits), c, timeout=60 + 5 * n)
    paid_at: dict[str, datetime] = {}
    for order_no, d in deposits.items():
        paid_at[order_no] = datetime.now(UTC)
        c.pay(d["payment_key"])
    return paid_at


def _confirmed_at(order_nos: list[str], statuses: set[str]) -> dict[str, datetime]:
    """When each order reached `statuses`, from the audit trail (not from when we polled)."""
    from sqlalchemy import select

    from db.models.core import StatusTransition
    from db.session import session_scope

    with session_scope() as s:
        rows = s.execute(
            select(StatusTransition.entity_key, StatusTransition.at).where(
                StatusTransition.entity_type == "group_orders",
                StatusTransition.entity_key.in_(order_nos),
                StatusTransition.to_status.in_(statuses),
                StatusTransition.accepted.is_(True),
            )
        ).all()
    return {key: at for key, at in rows}


def _wait_all_waiting(order_nos: list[str], c: Any, timeout: float) -> None:
    """Until every order's run is suspended waiting for its deposit (so payment is the clock)."""
    from tasks.scheduling import read_runs

    deadline = time.monotonic() + timeout
    pending = set(order_nos)
    run_ids: dict[str, str] = {}  # order → its run, once the intake has started it
    while pending and time.monotonic() < deadline:
        for order_no in pending - run_ids.keys():
            if run_id := c.order(order_no).get("flow_run_id"):
                run_ids[order_no] = run_id
        runs = read_runs(run_ids[o] for o in pending if o in run_ids)  # one API call a round
        waiting = {i for i, r in runs.items() if r.state and r.state.name == "AwaitingDeposit"}
        pending = {o for o in pending if run_ids.get(o) not in waiting}
        time.sleep(0.5)


def main(orders: int, prefect_port: int, rate: float = 0.0) -> None:
    from travelops.settings import core_settings

    home = core_settings().home / "bench-group"
    home.mkdir(parents=True, exist_ok=True)
    print(json.dumps(run_bench(orders, home, prefect_port, rate)))  # noqa: T201 - the benchmark's output
