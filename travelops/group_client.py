"""Driving the group intake like a customer would: used by the demo scenario and the benchmark."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from travelops.settings import PROJECT_ROOT


def order_payload(
    product: str = "YEOSU-NIGHT-2D",
    adults: int = 6,
    options: tuple[str, ...] = ("CABLE-CAR", "SEAFOOD-DINNER"),
    days_ahead: int = 60,
    model: str = "A",
    tag: int = 0,
) -> dict[str, Any]:
    departure = datetime.now(UTC).date() + timedelta(days=days_ahead)
    return {
        "product_code": product,
        "departure_date": departure.isoformat(),
        "group_model": model,
        "options": list(options),
        "contact": {
            "name": "박단체",
            "mobile": f"010-5{tag % 1000:03d}-0000",
            "email": "group-contact@customer.example.com",
        },
        "travellers": [
            {"name": f"여행자{i + 1}", "mobile": f"010-6{tag % 1000:03d}-{i:04d}", "type": "adult"}
            for i in range(adults)
        ],
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_intake(pg_url: str, log_dir: Path, port: int | None = None) -> Iterator[str]:
    """`travelops group intake` as a child process; the PG sandbox's webhooks point at it."""
    port = port or _free_port()
    url = f"http://127.0.0.1:{port}"
    log_dir.mkdir(parents=True, exist_ok=True)
    with (log_dir / "group-intake.log").open("ab") as log:
        proc = subprocess.Popen(  # noqa: S603 - our own command
            [sys.executable, "-m", "travelops", "group", "intake", "--port", str(port)],
            cwd=PROJECT_ROOT,
            env=dict(os.environ),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"group intake exited with {proc.returncode}")
                try:
                    if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("group intake not up after 60 s")
                time.sleep(0.2)
            httpx.put(f"{pg_url}/_sandbox/webhook", json={"url": f"{url}/webhooks/pg"}, timeout=5)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


class IntakeClient:
    def __init__(self, intake: str, pg_url: str, timeout: float = 30) -> None:
        self.intake, self.pg_url = intake, pg_url
        self.http = httpx.Client(timeout=timeout)

    def place(self, payload: dict[str, Any]) -> dict[str, Any]:
        r = self.http.post(f"{self.intake}/orders", json=payload)
        r.raise_for_status()
        return dict(r.json())

    def request_deposit(self, order_no: str) -> dict[str, Any]:
        r = self.http.post(f"{self.intake}/orders/{order_no}/deposit")
        return {"status_code": r.status_code, **r.json()}

    def pay(self, payment_key: str) -> None:
        """The customer approves in the PG's payment window."""
        self.http.post(f"{self.pg_url}/v1/sandbox/checkout/{payment_key}/pay").raise_for_status()

    def order(self, order_no: str) -> dict[str, Any]:
        return dict(self.http.get(f"{self.intake}/orders/{order_no}").json())

    def wait_status(self, order_no: str, wanted: set[str], timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            order = self.order(order_no)
            if order["status"] in wanted or time.monotonic() > deadline:
                return order
            time.sleep(0.25)
