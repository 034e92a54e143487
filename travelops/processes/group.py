"""Group bookings of five or more (spec/group-booking.md): its registry entries."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

from blocks.group_pg import KakaoMessenger, PaymentGateway
from sandbox.runner import SandboxContext, Service

if TYPE_CHECKING:
    import typer
    from prefect.blocks.core import Block

    from travelops.demo import Scenario


async def _pg(ctx: SandboxContext, stack: AsyncExitStack, port: int) -> dict[str, Any]:
    from sandbox.group_pg import start_group_pg

    return await start_group_pg(ctx, stack, port)


async def _kakao(ctx: SandboxContext, stack: AsyncExitStack, port: int) -> dict[str, Any]:
    from sandbox.group_kakao import start_group_kakao

    return await start_group_kakao(ctx, stack, port)


SERVICES: list[Service] = [
    Service("group_pg", _pg, 8740),
    Service("group_kakao", _kakao, 8741),
]


def _documents(sandbox: dict[str, Any]) -> list[tuple[str, Block]]:
    from pydantic import SecretStr

    from travelops.settings_group import group_settings

    pg = sandbox["services"]["group_pg"]
    kakao = sandbox["services"]["group_kakao"]
    settings = group_settings()
    return [
        (
            settings.pg_block,
            PaymentGateway(
                base_url=pg["url"],
                secret_key=SecretStr(pg["secret_key"]),
                webhook_secret=SecretStr(pg["webhook_secret"]),
            ),
        ),
        (
            settings.messenger_block,
            KakaoMessenger(base_url=kakao["url"], api_key=SecretStr(kakao["api_key"])),
        ),
    ]


BLOCK_TYPES: list[type[Block]] = [PaymentGateway, KakaoMessenger]
SANDBOX_DOCUMENTS: list[Any] = [_documents]


def _scenarios() -> list[Scenario]:
    from travelops.demo.scenarios.group import SCENARIO

    return [SCENARIO]


SCENARIOS: list[Scenario] = _scenarios()
BENCHMARKS: dict[str, list[str]] = {"group": ["group", "--orders", "100", "--rate", "0.5"]}


def register_cli(app: typer.Typer) -> None:
    """Add this process's commands to `travelops`: `group intake`, `bench group`."""
    import typer

    group_app = typer.Typer(help="Group bookings (5+ travellers).", no_args_is_help=True)
    app.add_typer(group_app, name="group")

    @group_app.command("intake")
    def intake(
        port: int = typer.Option(None, help="Port (default TRAVELOPS_GROUP_INTAKE_PORT, 8745)."),
        host: str = typer.Option(None, help="Bind address (default 127.0.0.1)."),
    ) -> None:
        """Serve the group-order intake API (quotes, deposits, PG webhooks)."""
        from travelops.group_intake import serve
        from travelops.settings_group import group_settings

        settings = group_settings()
        serve(host or settings.intake_host, port or settings.intake_port)

    bench_app = next(g.typer_instance for g in app.registered_groups if g.name == "bench")
    assert bench_app is not None

    @bench_app.command("group")
    def bench_group(
        orders: int = typer.Option(100, help="Green orders to take from intake to confirmation."),
        port: int = typer.Option(4205, help="Port of the benchmark's own Prefect server."),
        rate: float = typer.Option(
            0.5, help="Customers per second (0 = a burst: all deposits paid in one instant)."
        ),
    ) -> None:
        """N green group orders: intake → deposit → confirmation; p50/p95 deposit→confirmation."""
        from travelops.group_bench import main

        main(orders, port, rate)
