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
SCENARIOS: list[Scenario] = []
BENCHMARKS: dict[str, list[str]] = {}


def register_cli(app: typer.Typer) -> None:
    """Add this process's commands to `travelops`."""
