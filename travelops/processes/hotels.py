"""Direct-contract hotels paid by virtual card (spec/hotel-vcc.md): its registry entries."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

from sandbox.runner import SandboxContext, Service

if TYPE_CHECKING:
    import typer
    from prefect.blocks.core import Block

    from travelops.demo import Scenario


async def _issuer(ctx: SandboxContext, stack: AsyncExitStack, port: int) -> dict[str, Any]:
    from sandbox.hotels_issuer import start_issuer

    return await start_issuer(ctx, stack, port)


async def _chat(ctx: SandboxContext, stack: AsyncExitStack, port: int) -> dict[str, Any]:
    from sandbox.hotels_chat import start_chat

    return await start_chat(ctx, stack, port)


async def _hotels(ctx: SandboxContext, stack: AsyncExitStack, port: int) -> dict[str, Any]:
    from sandbox.hotels_sim import start_hotels

    return await start_hotels(ctx, stack, port)


#: The card issuer must start before the simulated hotels (they charge through it).
SERVICES: list[Service] = [
    Service("card-issuer", _issuer, 8730),
    Service("chat", _chat, 8731),
    Service("hotels", _hotels, 8732),
]


def _block_types() -> list[type[Block]]:
    from blocks.hotels import CardIssuer, ChatApi

    return [CardIssuer, ChatApi]


class _LazyList(list):  # type: ignore[type-arg]
    """Imports the block classes only when a registry iterates them."""

    def __init__(self, factory: Any) -> None:
        super().__init__()
        self._factory = factory

    def __iter__(self) -> Any:
        return iter(self._factory())


BLOCK_TYPES: list[type[Block]] = _LazyList(_block_types)


def _sandbox_documents(sandbox: dict[str, Any]) -> list[tuple[str, Block]]:
    import json

    from pydantic import SecretStr

    from blocks.hotels import CardIssuer, ChatApi
    from travelops.settings import PROJECT_ROOT

    services = sandbox["services"]
    merchant = json.loads((PROJECT_ROOT / "data" / "hotels.json").read_text())["merchant"]
    return [
        (
            "hotel-vcc",
            CardIssuer(
                base_url=services["card-issuer"]["url"],
                api_key=SecretStr(services["card-issuer"]["api_key"]),
                supplier_id=merchant["supplier_id"],
            ),
        ),
        (
            "traveller-chat",
            ChatApi(
                base_url=services["chat"]["url"], api_token=SecretStr(services["chat"]["api_token"])
            ),
        ),
    ]


SANDBOX_DOCUMENTS: list[Any] = [_sandbox_documents]


def _scenarios() -> list[Scenario]:
    from travelops.demo.scenarios.hotels import SCENARIO

    return [SCENARIO]


SCENARIOS: list[Scenario] = _LazyList(_scenarios)
BENCHMARKS: dict[str, list[str]] = {"hotel-vcc": ["hotel-vcc", "--bookings", "50"]}


def bench_hotel_vcc(
    bookings: int = 50, port: int = 4211, watch_interval: float = 30.0, workers: int = 20
) -> dict[str, Any]:
    """N bookings through the whole loop on a local stack whose hotels answer at once."""
    import json
    import os
    import statistics
    import tempfile
    import time
    from pathlib import Path

    from travelops.stack import LocalStack, base_env

    home = Path(tempfile.mkdtemp(prefix="travelops-bench-hotels-"))
    api_url = f"http://127.0.0.1:{port}/api"
    extra = {"TRAVELOPS_HOTELS_DAY_SECONDS": "86400", "PREFECT_RUNNER_PROCESS_LIMIT": str(workers)}
    os.environ.update({**base_env(home, api_url), **extra})
    if "TRAVELOPS_CARD_KEY" not in os.environ:
        from travelops.cardsafety import CardVault

        os.environ["TRAVELOPS_CARD_KEY"] = CardVault.generate_key()
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

    stack = LocalStack(home, prefect_port=port, extra_env=extra)
    pinned = {PREFECT_API_URL: api_url, PREFECT_HOME: str(home / "prefect")}
    with temporary_settings(updates=pinned):
        try:
            return _bench(stack, bookings, watch_interval, json, statistics, time)
        finally:
            stack.stop()


def _bench(
    stack: Any, n: int, interval: float, json: Any, statistics: Any, time: Any
) -> dict[str, Any]:
    from datetime import datetime

    import httpx
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from sqlalchemy import select

    from db.migrate import upgrade
    from db.models.hotels import HotelBooking
    from db.session import read_scope
    from travelops.blocks_setup import ensure_card_key, register_block_types, save_sandbox_documents
    from travelops.serve import read_deployments

    upgrade()
    stack.start_prefect()
    sandbox = stack.start_sandbox()
    register_block_types()
    save_sandbox_documents(sandbox)
    ensure_card_key()
    stack.start_worker(len(read_deployments()), {"watch-hotel-mailbox": interval})
    hotels = sandbox["services"]["hotels"]["url"]
    httpx.post(
        f"{hotels}/behaviour",
        json={
            "key": "reservations@harborplaza-guam.example.com",
            "mode": "confirm",
            "delay_seconds": 0,
            "charge_delay_seconds": 0,
        },
        timeout=10,
    ).raise_for_status()
    numbers = [f"BK-20261125-{i:06d}" for i in range(n)]  # a fresh stack: fresh numbers
    started = time.monotonic()
    with get_client(sync_client=True) as client:  # as an intake would: one client, one lookup
        deployment = client.read_deployment_by_name("issue-hotel-vcc/issue-hotel-vcc")
        for no in numbers:
            doc = {
                "booking_no": no,
                "hotel_code": "GUM-HBR",
                "room_type": "DLX",
                "check_in": "2027-03-10",
                "check_out": "2027-03-13",
                "guests": [{"name": "KIM MINJI"}, {"name": "LEE JUNHO"}],
                "paid_amount": "754000",
                "paid_currency": "KRW",
                "paid_at": "2026-11-20T03:00:00+00:00",
            }
            client.create_flow_run_from_deployment(
                deployment.id, parameters={"booking": doc}, idempotency_key=no
            )
    deadline = started + max(600.0, n * 6.0)
    rows: list[Any] = []
    last_pass = 0.0
    cards_at: float | None = None  # every card e-mailed
    completed_at: float | None = None  # every booking through the charge: the whole loop
    while time.monotonic() < deadline:
        if time.monotonic() - last_pass >= interval:  # the watcher's schedule, driven from here
            run_deployment("watch-hotel-mailbox/watch-hotel-mailbox", timeout=0)
            last_pass = time.monotonic()
        with read_scope() as s:
            rows = list(
                s.execute(
                    select(
                        HotelBooking.reply_at,
                        HotelBooking.card_emailed_at,
                        HotelBooking.status,
                        HotelBooking.details,
                    ).where(HotelBooking.booking_no.in_(numbers))
                )
            )
        if cards_at is None and len(rows) == n and all(r.card_emailed_at for r in rows):
            cards_at = time.monotonic()
        if len(rows) == n and all(r.status == "completed" for r in rows):
            completed_at = time.monotonic()
            break
        time.sleep(2)
    seconds = (cards_at or time.monotonic()) - started
    whole = (completed_at or time.monotonic()) - started
    lat = sorted(
        (r.card_emailed_at - r.reply_at).total_seconds()
        for r in rows
        if r.card_emailed_at is not None and r.reply_at is not None
    )
    done = len(lat)
    # of which: the reply waiting in the mailbox for a watcher pass to read it
    seen = sorted(
        (datetime.fromisoformat(r.details["reply"]["at"]) - r.reply_at).total_seconds()
        for r in rows
        if r.reply_at is not None and (r.details or {}).get("reply", {}).get("at")
    )

    def pct(q: float, values: list[float] = lat) -> float | None:
        return round(values[min(len(values) - 1, int(q * len(values)))], 2) if values else None

    result = {
        "benchmark": "hotel-vcc",
        "bookings": n,
        "cards_emailed": done,
        "seconds": round(seconds, 1),
        "bookings_per_minute": round(done / seconds * 60, 2) if seconds else 0.0,
        "reply_to_card_p50_s": pct(0.50),
        "reply_to_card_p95_s": pct(0.95),
        "reply_to_read_p50_s": pct(0.50, seen),
        "reply_to_read_p95_s": pct(0.95, seen),
        "watch_interval_s": interval,
        "median_s": round(statistics.median(lat), 2) if lat else None,
        "completed": sum(r.status == "completed" for r in rows),
        "seconds_to_completed": round(whole, 1),
        "completed_per_minute": round(
            sum(r.status == "completed" for r in rows) / whole * 60 if whole else 0.0, 2
        ),
    }
    print(json.dumps(result))  # noqa: T201 - the benchmark's one JSON line
    return result


def register_cli(app: typer.Typer) -> None:
    """Add this process's commands to `travelops`."""
    import typer as _typer

    from travelops.cli import bench_app

    @bench_app.command("hotel-vcc")
    def bench(
        bookings: int = _typer.Option(50, help="How many bookings to run through the loop"),
        port: int = _typer.Option(4211, help="Port of the benchmark's own Prefect server"),
        watch_interval: float = _typer.Option(30.0, help="watch-hotel-mailbox interval, seconds"),
        workers: int = _typer.Option(20, help="Concurrent flow-run processes of the worker"),
    ) -> None:
        """Bookings through the whole hotel VCC loop (hotels answer at once); one JSON line."""
        bench_hotel_vcc(bookings, port, watch_interval, workers)
