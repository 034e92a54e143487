"""Serve an ASGI app (the HTTP stand-ins) with uvicorn inside the sandbox's event loop."""

from __future__ import annotations

import asyncio
import socket
from contextlib import AsyncExitStack
from typing import Any

import uvicorn


async def start_http(stack: AsyncExitStack, app: Any, host: str, port: int) -> int:
    """Serve `app` on host:port (0 = any free port); returns the bound port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(256)
    sock.setblocking(False)
    bound = int(sock.getsockname()[1])
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=30
    )
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve(sockets=[sock]))

    async def _stop() -> None:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)
        sock.close()

    stack.push_async_callback(_stop)
    while not server.started:
        if task.done():
            task.result()  # raises the startup error
        await asyncio.sleep(0.01)
    return bound
