"""Serve every deployment declared in prefect.yaml from this process (the demo's worker)."""

from __future__ import annotations

import importlib.util
import multiprocessing
import sys
import types
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from prefect import Flow
from prefect.schedules import Schedule

from travelops.settings import PROJECT_ROOT


def read_deployments(path: Path | None = None) -> list[dict[str, Any]]:
    doc = yaml.safe_load((path or PROJECT_ROOT / "prefect.yaml").read_text())
    return list(doc.get("deployments") or [])


def load_flow(entrypoint: str) -> Flow[Any, Any]:
    """`flows/hotel_vcc.py:issue_hotel_vcc` → the flow object (imported as a package module)."""
    file_part, attr = entrypoint.split(":")
    module_name = file_part.removesuffix(".py").replace("/", ".")
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
    if importlib.util.find_spec(module_name) is None:
        raise LookupError(f"entrypoint {entrypoint!r}: module {module_name} not found")
    module = importlib.import_module(module_name)
    flow = getattr(module, attr)
    if not isinstance(flow, Flow):
        raise TypeError(f"entrypoint {entrypoint!r} is not a flow")
    return flow


def _schedules(spec: dict[str, Any], interval_overrides: dict[str, float]) -> list[Schedule]:
    out = []
    name = spec["name"]
    for s in spec.get("schedules") or []:
        active = bool(s.get("active", True))
        tz = s.get("timezone", "Asia/Seoul")
        if "cron" in s:
            out.append(Schedule(cron=s["cron"], timezone=tz, active=active))
        elif "interval" in s:
            seconds = interval_overrides.get(name, float(s["interval"]))
            out.append(Schedule(interval=timedelta(seconds=seconds), timezone=tz, active=active))
        elif "rrule" in s:
            out.append(Schedule(rrule=s["rrule"], timezone=tz, active=active))
    return out


def build_deployments(
    interval_overrides: dict[str, float] | None = None, only: set[str] | None = None
) -> list[Any]:
    deployments = []
    for spec in read_deployments():
        if only and spec["name"] not in only:
            continue
        flow = load_flow(spec["entrypoint"])
        deployments.append(
            flow.to_deployment(
                name=spec["name"],
                description=spec.get("description"),
                tags=spec.get("tags") or [],
                parameters=spec.get("parameters") or {},
                schedules=_schedules(spec, interval_overrides or {}),
                concurrency_limit=spec.get("concurrency_limit"),
                enforce_parameter_schema=True,
            )
        )
    return deployments


#: Imported once by the fork server so each flow run starts warm (prefect alone costs ~1 s).
FORKSERVER_PRELOAD: tuple[str, ...] = (
    "prefect",
    "prefect.flow_engine",
    "prefect.task_engine",
    "sqlalchemy",
    "pandas",
    "domain.money",
    "db.session",
    "tasks.once",
    "tasks.mail",
)


def use_forkserver(preload: Sequence[str] = FORKSERVER_PRELOAD) -> None:
    """Start flow-run processes from a preloaded fork server instead of a fresh interpreter.

    Prefect starts every served flow run with `multiprocessing.get_context("spawn")`: a new
    interpreter that imports Prefect and the project again (~1 s of CPU per run on this class of
    machine). A fork server imports them once; each run is a fork of it, still a separate process
    with its own environment and settings context, so a crash or a suspended run frees it as before.
    """
    import prefect.flow_engine as engine

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(list(preload))
    engine.multiprocessing = types.SimpleNamespace(  # type: ignore[assignment]
        get_context=lambda method=None: ctx, context=multiprocessing.context
    )
