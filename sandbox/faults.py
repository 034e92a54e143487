"""Fault injection for the HTTP stand-ins, driven over HTTP: `POST /_sandbox/faults`.

Modes (each rule applies to the next `count` requests matching method and path prefix):
- `fail_before`: answer `status` without acting (the provider was down);
- `fail_after`: act, then answer `status` (the effect happened; the caller cannot know);
- `delay_before`: wait `seconds`, then act and answer normally;
- `delay_after`: act, wait `seconds`, then answer (a caller with a shorter timeout gives up).
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

Mode = Literal["fail_before", "fail_after", "delay_before", "delay_after"]


class FaultRule(BaseModel):
    mode: Mode
    path_prefix: str = "/"
    method: str = "POST"
    count: int = Field(default=1, ge=1)
    status: int = 503
    seconds: float = 0.0


@dataclass
class FaultPlan:
    rules: list[dict[str, Any]] = field(default_factory=list)
    fired: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, method: str, path: str) -> dict[str, Any] | None:
        with self.lock:
            for rule in self.rules:
                if rule["method"] == method and path.startswith(rule["path_prefix"]):
                    rule["count"] -= 1
                    if rule["count"] <= 0:
                        self.rules.remove(rule)
                    self.fired.append({"method": method, "path": path, "mode": rule["mode"]})
                    return rule
        return None


class _FaultMiddleware(BaseHTTPMiddleware):
    def __init__(self, app: Any, plan: FaultPlan) -> None:
        super().__init__(app)
        self.plan = plan

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if request.url.path.startswith("/_sandbox"):
            return await call_next(request)
        rule = self.plan.take(request.method, request.url.path)
        if rule is None:
            return await call_next(request)
        error = JSONResponse({"code": "SANDBOX_FAULT", "message": f"injected {rule['mode']}"},
                             status_code=rule["status"])  # fmt: skip
        if rule["mode"] == "fail_before":
            return error
        if rule["mode"] == "delay_before":
            await asyncio.sleep(rule["seconds"])
            return await call_next(request)
        response = await call_next(request)
        if rule["mode"] == "delay_after":
            await asyncio.sleep(rule["seconds"])
            return response
        return error  # fail_after: the handler acted, the caller sees an error


def install_faults(app: FastAPI) -> FaultPlan:
    """Add fault injection and its control endpoints to a stand-in's app."""
    plan = FaultPlan()
    app.add_middleware(_FaultMiddleware, plan=plan)

    @app.post("/_sandbox/faults")
    def add_fault(rule: FaultRule) -> dict[str, Any]:
        with plan.lock:
            plan.rules.append(rule.model_dump())
        return {"rules": len(plan.rules)}

    @app.delete("/_sandbox/faults")
    def clear_faults() -> dict[str, Any]:
        with plan.lock:
            plan.rules.clear()
        return {"rules": 0}

    @app.get("/_sandbox/faults")
    def list_faults() -> dict[str, Any]:
        return {"rules": plan.rules, "fired": plan.fired}

    return plan


__all__ = ["FaultPlan", "FaultRule", "install_faults"]
