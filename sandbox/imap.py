"""A real IMAP4rev1 server (pymap, maildir backend) embedded in the sandbox's event loop."""

from __future__ import annotations

import argparse
import asyncio
from contextlib import AsyncExitStack
from pathlib import Path

from proxyprotocol.reader import ProxyProtocolReader
from pymap.backend.maildir import MaildirBackend
from pymap.imap import IMAPServer, IMAPService


async def start_imap(stack: AsyncExitStack, root: Path, host: str, port: int) -> int:
    """Serve the Maildirs under `root` over IMAP on host:port (0 = any); returns the bound port."""
    parser = argparse.ArgumentParser(prog="pymap")
    parser.add_argument("--debug", action="store_true")
    subparsers = parser.add_subparsers(dest="backend", required=True)
    MaildirBackend.add_subparser("maildir", subparsers)
    IMAPService.add_arguments(parser)
    parser.set_defaults(passlib_cfg=None, skip_services=[])
    args = parser.parse_args(
        ["--host", host, "--port", str(port), "--no-tls", "maildir", "--layout", "++", str(root)]
    )
    backend, config = await MaildirBackend.init(args)
    config.apply_context()
    await backend.start(stack)
    server_cb = ProxyProtocolReader(config.proxy_protocol).get_callback(
        IMAPServer(backend.login, config)
    )
    server = await asyncio.start_server(server_cb, host=host, port=port)
    await stack.enter_async_context(server)
    task = asyncio.create_task(server.serve_forever())
    stack.callback(task.cancel)
    return int(server.sockets[0].getsockname()[1])
