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
SCENARIOS: list[Scenario] = []
BENCHMARKS: dict[str, list[str]] = {}


def register_cli(app: typer.Typer) -> None:
    """Add this process's commands to `travelops`."""
