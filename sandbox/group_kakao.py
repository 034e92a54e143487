"""SMS/Kakao message stand-in (alimtalk-style HTTP API) for customer notices and gift vouchers.

- `POST /v2/messages` (Idempotency-Key, `Authorization: KakaoAK <key>`): one message to one mobile
  number; `type` is `alimtalk` (falls back to `sms` when asked) and a gift voucher carries
  `voucher: {amount, currency}` → `{messageId, status: "SENT"}`. A repeated key returns the first
  answer and sends nothing.
- `GET /v2/messages?to=…&key=…`: what was sent (look-up on ambiguity, and for tests and the demo).
- `/_sandbox/faults`: fault injection (sandbox/faults.py).
"""

from __future__ import annotations

import hmac
import threading
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from sandbox.faults import install_faults
from sandbox.http import start_http
from sandbox.runner import SandboxContext

API_KEY = "kakao_test_travelops_group"  # the sandbox's published test key


class Voucher(BaseModel):
    amount: int = Field(gt=0)
    currency: str = "KRW"


class Message(BaseModel):
    to: str = Field(pattern=r"^01[0-9]-?[0-9]{3,4}-?[0-9]{4}$")
    type: Literal["alimtalk", "sms"] = "alimtalk"
    template: str
    text: str = Field(min_length=1, max_length=2000)
    voucher: Voucher | None = None


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message


def build_app(api_key: str) -> FastAPI:
    app = FastAPI(title="SMS/Kakao messages (sandbox)")
    install_faults(app)
    sent: list[dict[str, Any]] = []
    by_key: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()

    @app.exception_handler(_Refused)
    async def _refused(_request: Request, exc: _Refused) -> JSONResponse:
        return JSONResponse({"code": exc.code, "message": exc.message}, status_code=exc.status)

    def auth(authorization: str = Header(default="")) -> None:
        if not hmac.compare_digest(authorization, f"KakaoAK {api_key}"):
            raise _Refused(401, "UNAUTHORIZED", "wrong API key")

    @app.post("/v2/messages", dependencies=[Depends(auth)])
    def send(msg: Message, idempotency_key: str = Header()) -> dict[str, Any]:
        with lock:
            if idempotency_key in by_key:
                return by_key[idempotency_key]
            record = {
                "messageId": f"msg_{uuid.uuid4().hex[:16]}",
                "status": "SENT",
                "key": idempotency_key,
                "sentAt": datetime.now(UTC).isoformat(),
                **msg.model_dump(),
            }
            sent.append(record)
            by_key[idempotency_key] = record
            return record

    @app.get("/v2/messages", dependencies=[Depends(auth)])
    def listing(to: str | None = None, key: str | None = None) -> list[dict[str, Any]]:
        with lock:
            return [m for m in sent if (to is None or m["to"] == to) and (key in (None, m["key"]))]

    return app


async def start_group_kakao(
    ctx: SandboxContext, stack: AsyncExitStack, port: int
) -> dict[str, Any]:
    key = str(ctx.options.get("group_kakao_api_key", API_KEY))
    bound = await start_http(stack, build_app(key), ctx.host, port)
    return {"port": bound, "url": f"http://{ctx.host}:{bound}", "api_key": key}
