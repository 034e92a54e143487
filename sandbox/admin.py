"""The sandbox's own HTTP API: health, endpoints, mailbox inspection and fault injection."""

from __future__ import annotations

import email
import email.policy
from contextlib import AsyncExitStack
from typing import Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

from sandbox.http import start_http
from sandbox.runner import SandboxContext


class SmtpFaultRequest(BaseModel):
    drop_after_data: int = 0
    reject_temporarily: int = 0


def build_app(ctx: SandboxContext) -> FastAPI:
    app = FastAPI(title="travelops sandbox")

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"ok": True, "services": sorted(ctx.endpoints)}

    @app.get("/endpoints")
    def endpoints() -> dict[str, Any]:
        return ctx.endpoints

    @app.post("/smtp/faults")
    def smtp_faults(req: SmtpFaultRequest) -> dict[str, int]:
        ctx.smtp_faults.drop_after_data = req.drop_after_data
        ctx.smtp_faults.reject_temporarily = req.reject_temporarily
        return req.model_dump()

    @app.get("/mailboxes")
    def mailboxes() -> list[str]:
        return ctx.store.users()

    @app.get("/mailboxes/{address}")
    def messages(address: str, folder: str = "INBOX") -> list[dict[str, Any]]:
        try:
            box = ctx.store.maildir(address, folder)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc
        out = []
        for key, msg in box.items():
            parsed = email.message_from_bytes(bytes(msg), policy=email.policy.default)
            out.append(
                {
                    "key": key,
                    "subject": str(parsed.get("Subject", "")),
                    "from": str(parsed.get("From", "")),
                    "message_id": str(parsed.get("Message-ID", "")),
                }
            )
        return out

    return app


async def start_admin(ctx: SandboxContext, stack: AsyncExitStack, port: int) -> dict[str, Any]:
    bound = await start_http(stack, build_app(ctx), ctx.host, port)
    return {"port": bound, "url": f"http://{ctx.host}:{bound}"}
