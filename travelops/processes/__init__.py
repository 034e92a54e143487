"""The four business processes plug into the shared registries here.

Each module of this package (one per process) may define any of:

- ``SERVICES``: sandbox stand-ins (`sandbox.runner.Service`), started after the mail servers;
- ``BLOCK_TYPES``: Prefect block types it uses;
- ``SANDBOX_DOCUMENTS``: functions giving (document name, block) pairs for a running sandbox;
- ``SCENARIOS``: demo scenarios (`travelops.demo.Scenario`), run in list order;
- ``BENCHMARKS``: name → arguments of `travelops bench`;
- ``register_cli(app)``: adds its commands to the `travelops` Typer app.

Registries read these lazily (at call time), so importing a process never imports the others.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

#: The processes, in the order their stand-ins, scenarios and commands are registered.
PROCESS_MODULES: tuple[str, ...] = ("hotels", "group", "fees", "coupons")


def processes() -> list[ModuleType]:
    return [importlib.import_module(f"{__name__}.{name}") for name in PROCESS_MODULES]


def collect(attribute: str) -> list[Any]:
    """Concatenate one list attribute over every process."""
    items: list[Any] = []
    for module in processes():
        items.extend(getattr(module, attribute, ()))
    return items


def collect_mapping(attribute: str) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for module in processes():
        for key, value in getattr(module, attribute, {}).items():
            if key in merged:
                raise ValueError(f"{attribute}[{key!r}] is registered twice")
            merged[key] = value
    return merged
