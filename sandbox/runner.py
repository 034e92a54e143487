"""Start every stand-in on loopback in one event loop and publish their endpoints as JSON."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.mailstore import MailStore
from sandbox.smtp import SmtpFaults

#: Default ports of `travelops sandbox` (0 everywhere in tests: any free port).
DEFAULT_PORTS: dict[str, int] = {"smtp": 2525, "imap": 1143, "admin": 8700}


@dataclass
class SandboxContext:
    """What the stand-ins share: where mail lives, who is up where, injected faults."""

    root: Path
    host: str
    password: str
    store: MailStore
    smtp_faults: SmtpFaults = field(default_factory=SmtpFaults)
    endpoints: dict[str, dict[str, Any]] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    def url(self, name: str) -> str:
        ep = self.endpoints[name]
        return f"http://{ep['host']}:{ep['port']}"


StartFn = Callable[[SandboxContext, AsyncExitStack, int], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Service:
    """A stand-in: `start` binds it (port 0 = any) and returns its endpoint description."""

    name: str
    start: StartFn
    default_port: int = 0


def registered_services() -> list[Service]:
    """Every stand-in, in start order (mail first: others send and read mail)."""
    from sandbox.services import SERVICES
    from travelops.processes import collect

    return [*SERVICES, *collect("SERVICES")]


async def start_all(
    ctx: SandboxContext, stack: AsyncExitStack, ports: dict[str, int] | None = None
) -> dict[str, dict[str, Any]]:
    for svc in registered_services():
        port = (ports or {}).get(svc.name, svc.default_port)
        ep = await svc.start(ctx, stack, port)
        ctx.endpoints[svc.name] = {"host": ctx.host, **ep}
    return ctx.endpoints


def write_endpoints(path: Path, ctx: SandboxContext) -> None:
    doc = {
        "host": ctx.host,
        "password": ctx.password,
        "root": str(ctx.root),
        "pid": os.getpid(),
        "services": ctx.endpoints,
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=2))
    tmp.replace(path)  # readers never see a half-written file


async def serve(
    root: Path,
    endpoints_file: Path,
    *,
    host: str = "127.0.0.1",
    password: str = "sandbox",  # noqa: S107 - the stand-ins' shared login on loopback only
    ports: dict[str, int] | None = None,
    options: dict[str, Any] | None = None,
    ready: Callable[[SandboxContext], None] | None = None,
) -> None:
    """Run the sandbox until SIGINT/SIGTERM."""
    root.mkdir(parents=True, exist_ok=True)
    ctx = SandboxContext(
        root=root,
        host=host,
        password=password,
        store=MailStore(root / "mail", password),
        options=dict(options or {}),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with AsyncExitStack() as stack:
        await start_all(ctx, stack, ports)
        endpoints_file.parent.mkdir(parents=True, exist_ok=True)
        write_endpoints(endpoints_file, ctx)
        if ready is not None:
            ready(ctx)
        await stop.wait()
    endpoints_file.unlink(missing_ok=True)


def load_endpoints(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))
