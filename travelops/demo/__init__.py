"""Demo scenarios: one per process; `travelops demo` runs them against the local stack."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class DemoContext:
    """What a scenario may use: the Prefect API, the running sandbox, the state folder."""

    api_url: str
    sandbox: dict[str, Any]
    home: Path

    def service_url(self, name: str) -> str:
        ep = self.sandbox["services"][name]
        return str(ep.get("url") or f"http://{self.sandbox['host']}:{ep['port']}")


@dataclass
class ScenarioResult:
    ok: bool
    statuses: dict[str, str] = field(default_factory=dict)  # business key → final status
    counts: dict[str, Any] = field(default_factory=dict)  # what moved: e-mails, cards, KRW…
    details: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    run: Callable[[DemoContext], ScenarioResult]
    #: Environment for the worker while the demo runs (durations scaled to seconds).
    env: dict[str, str] = field(default_factory=dict)
    #: Deployment name → schedule interval in seconds for the demo.
    intervals: dict[str, float] = field(default_factory=dict)
