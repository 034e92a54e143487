"""The registry of stand-ins started by `travelops sandbox` and by the test fixtures."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

from sandbox.admin import start_admin
from sandbox.imap import start_imap
from sandbox.runner import DEFAULT_PORTS, SandboxContext, Service
from sandbox.smtp import start_smtp


async def _smtp(ctx: SandboxContext, stack: AsyncExitStack, port: int) -> dict[str, Any]:
    return {"port": await start_smtp(stack, ctx.store, ctx.smtp_faults, ctx.host, port)}


async def _imap(ctx: SandboxContext, stack: AsyncExitStack, port: int) -> dict[str, Any]:
    return {"port": await start_imap(stack, ctx.store.root, ctx.host, port)}


SERVICES: list[Service] = [
    Service("smtp", _smtp, DEFAULT_PORTS["smtp"]),
    Service("imap", _imap, DEFAULT_PORTS["imap"]),
    Service("admin", start_admin, DEFAULT_PORTS["admin"]),
]
