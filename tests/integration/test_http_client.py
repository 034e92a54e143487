"""call_json against a real HTTP server with injected faults: one error type per outcome."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, HTTPException

from blocks.http import ProviderRefused, call_json
from domain.errors import AmbiguousOutcome, ProviderUnavailable
from sandbox.faults import install_faults
from sandbox.http import start_http


class Counter:
    def __init__(self) -> None:
        self.effects = 0


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Counter]]:
    counter = Counter()
    app = FastAPI()
    install_faults(app)

    @app.post("/things")
    def create(body: dict[str, Any]) -> dict[str, Any]:
        if body.get("bad"):
            raise HTTPException(422, detail="bad thing")
        counter.effects += 1
        return {"n": counter.effects}

    @app.get("/things")
    def count() -> dict[str, int]:
        return {"n": counter.effects}

    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def main() -> None:
        async with AsyncExitStack() as stack:
            holder["port"] = await start_http(stack, app, "127.0.0.1", 0)
            holder["stop"] = asyncio.Event()
            ready.set()
            await holder["stop"].wait()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    ready.wait(10)
    yield f"http://127.0.0.1:{holder['port']}", counter
    loop.call_soon_threadsafe(holder["stop"].set)
    thread.join(10)


def _fault(base: str, **rule: Any) -> None:
    httpx.post(f"{base}/_sandbox/faults", json=rule).raise_for_status()


def test_success_returns_json(server: tuple[str, Counter]) -> None:
    base, counter = server
    before = counter.effects
    assert call_json("t", "POST", f"{base}/things", json={})["n"] == before + 1


def test_fail_before_on_write_is_ambiguous_and_nothing_happened(
    server: tuple[str, Counter],
) -> None:
    base, counter = server
    before = counter.effects
    _fault(base, mode="fail_before", path_prefix="/things", status=503)
    with pytest.raises(AmbiguousOutcome):
        call_json("t", "POST", f"{base}/things", json={})
    assert counter.effects == before


def test_fail_after_is_ambiguous_and_the_effect_happened(server: tuple[str, Counter]) -> None:
    base, counter = server
    before = counter.effects
    _fault(base, mode="fail_after", path_prefix="/things", status=500)
    with pytest.raises(AmbiguousOutcome):
        call_json("t", "POST", f"{base}/things", json={})
    assert counter.effects == before + 1


def test_timeout_after_acting_is_ambiguous(server: tuple[str, Counter]) -> None:
    base, counter = server
    before = counter.effects
    _fault(base, mode="delay_after", path_prefix="/things", seconds=1.0)
    with pytest.raises(AmbiguousOutcome):
        call_json("t", "POST", f"{base}/things", json={}, timeout=0.3)
    assert counter.effects == before + 1


def test_reads_and_unreachable_servers_are_unavailable(server: tuple[str, Counter]) -> None:
    base, _ = server
    _fault(base, mode="fail_before", path_prefix="/things", method="GET", status=503)
    with pytest.raises(ProviderUnavailable):
        call_json("t", "GET", f"{base}/things")
    with pytest.raises(ProviderUnavailable):
        call_json("t", "POST", "http://127.0.0.1:1/things", json={})


def test_4xx_is_a_definite_refusal_naming_the_provider(server: tuple[str, Counter]) -> None:
    base, _ = server
    with pytest.raises(ProviderRefused, match="issuer refused \\(422"):
        call_json("issuer", "POST", f"{base}/things", json={"bad": True})
