"""A chat service in the style of Sendbird's Platform API v3, on loopback.

- `POST /v3/group_channels` {channel_url, user_ids}: 400202 when the channel exists;
- `POST /v3/group_channels/{channel_url}/messages` multipart, `message_type=FILE` + `file`;
- `GET /v3/group_channels/{channel_url}/messages`: the channel's messages (files are stored).
Every request needs the `Api-Token` header.
"""

from __future__ import annotations

import email.parser
import email.policy
import threading
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel

from sandbox.faults import install_faults
from sandbox.http import start_http
from sandbox.runner import SandboxContext

API_TOKEN = "sandbox-chat-token"  # noqa: S105 - the stand-in's fixed token on loopback


class ChannelRequest(BaseModel):
    channel_url: str
    user_ids: list[str]
    name: str = ""


def _multipart(
    content_type: str, body: bytes
) -> tuple[dict[str, str], dict[str, tuple[str, str, bytes]]]:
    """Parse multipart/form-data with the standard library's MIME parser."""
    if not content_type.startswith("multipart/form-data"):
        raise HTTPException(400, {"code": 400100, "message": "multipart/form-data expected"})
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    form: dict[str, str] = {}
    files: dict[str, tuple[str, str, bytes]] = {}
    for part in msg.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            files[str(name)] = (filename, part.get_content_type(), payload)
        else:
            form[str(name)] = payload.decode()
    return form, files


def build_app(root: Path) -> FastAPI:
    app = FastAPI(title="sandbox chat (Sendbird-style)")
    install_faults(app)
    lock = threading.Lock()
    channels: dict[str, dict[str, Any]] = {}
    next_id = [1]
    root.mkdir(parents=True, exist_ok=True)

    def auth(token: str | None) -> None:
        if token != API_TOKEN:
            raise HTTPException(401, {"code": 400401, "message": "Invalid value: Api-Token"})

    @app.exception_handler(HTTPException)
    async def _err(_req: Any, exc: HTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, dict) else {"message": str(exc.detail)}
        return JSONResponse({"error": True, **detail}, status_code=exc.status_code)

    @app.post("/v3/group_channels")
    def create_channel(
        req: ChannelRequest, api_token: str | None = Header(default=None)
    ) -> dict[str, Any]:
        auth(api_token)
        with lock:
            if req.channel_url in channels:
                raise HTTPException(400, {"code": 400202, "message": "channel already exists"})
            channels[req.channel_url] = {"members": req.user_ids, "messages": []}
        return {"channel_url": req.channel_url, "member_count": len(req.user_ids)}

    @app.post("/v3/group_channels/{channel_url}/messages")
    async def send_message(
        channel_url: str, request: Request, api_token: str | None = Header(default=None)
    ) -> dict[str, Any]:
        auth(api_token)
        if channel_url not in channels:
            raise HTTPException(400, {"code": 400201, "message": "channel not found"})
        form, files = _multipart(request.headers.get("content-type", ""), await request.body())
        if form.get("message_type") != "FILE" or "file" not in files:
            raise HTTPException(400, {"code": 400100, "message": "FILE message needs a file"})
        filename, content_type, content = files["file"]
        with lock:
            msg_id = next_id[0]
            next_id[0] += 1
            path = root / f"{msg_id}-{Path(form.get('file_name') or filename or 'file').name}"
            path.write_bytes(content)
            msg = {
                "message_id": msg_id,
                "type": "FILE",
                "user": {"user_id": form.get("user_id", "")},
                "channel_url": channel_url,
                "message": form.get("message", ""),
                "custom_type": form.get("custom_type", ""),
                "data": form.get("data", ""),
                "file": {"name": path.name, "size": len(content), "type": content_type,
                         "url": f"/files/{path.name}"},
                "created_at": int(time.time() * 1000),
            }  # fmt: skip
            channels[channel_url]["messages"].append(msg)
        return msg

    @app.get("/v3/group_channels/{channel_url}/messages")
    def list_messages(
        channel_url: str, custom_types: str = "", api_token: str | None = Header(default=None)
    ) -> dict[str, Any]:
        auth(api_token)
        if channel_url not in channels:
            raise HTTPException(400, {"code": 400201, "message": "channel not found"})
        wanted = {t for t in custom_types.split(",") if t}
        msgs = [
            m for m in channels[channel_url]["messages"] if not wanted or m["custom_type"] in wanted
        ]
        return {"messages": msgs}

    @app.get("/files/{name}")
    def get_file(name: str) -> FileResponse:
        path = root / Path(name).name
        if not path.exists():
            raise HTTPException(404, {"code": 400400, "message": "no such file"})
        return FileResponse(path)

    return app


async def start_chat(ctx: SandboxContext, stack: AsyncExitStack, port: int) -> dict[str, Any]:
    bound = await start_http(stack, build_app(ctx.root / "chat"), ctx.host, port)
    return {"port": bound, "url": f"http://{ctx.host}:{bound}", "api_token": API_TOKEN}
