"""Reading runs, logs and artifacts back from the Prefect API in tests."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any
from uuid import UUID

import httpx
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    FlowRunFilterName,
    FlowRunFilterState,
    FlowRunFilterStateName,
)
from prefect.client.schemas.objects import FlowRun
from prefect.client.schemas.sorting import FlowRunSort


def flow_run(run_id: UUID | str) -> FlowRun:
    with get_client(sync_client=True) as client:
        return client.read_flow_run(UUID(str(run_id)))


def flow_runs(
    *,
    names: Iterable[str] | None = None,
    states: Iterable[str] | None = None,
    ids: Iterable[UUID] | None = None,
    limit: int = 200,
) -> list[FlowRun]:
    flt = FlowRunFilter(
        name=FlowRunFilterName(any_=list(names)) if names else None,
        state=FlowRunFilterState(name=FlowRunFilterStateName(any_=list(states)))
        if states
        else None,
        id=FlowRunFilterId(any_=list(ids)) if ids else None,
    )
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            flow_run_filter=flt, sort=FlowRunSort.EXPECTED_START_TIME_DESC, limit=limit
        )


def _api() -> str:
    from prefect.settings import PREFECT_API_URL

    return str(PREFECT_API_URL.value()).rstrip("/")


def _filter(path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """POST a */filter endpoint page by page (the server caps pages at 200)."""
    out: list[dict[str, Any]] = []
    while True:
        r = httpx.post(
            f"{_api()}/{path}/filter", json={**body, "limit": 200, "offset": len(out)}, timeout=30
        )
        r.raise_for_status()
        page = r.json()
        out.extend(page)
        if len(page) < 200:
            return out


def logs(run_id: UUID | str) -> list[str]:
    """Every log message of a flow run (its tasks included), oldest first."""
    found = _filter(
        "logs", {"logs": {"flow_run_id": {"any_": [str(run_id)]}}, "sort": "TIMESTAMP_ASC"}
    )
    return [entry["message"] for entry in found]


def artifacts(run_id: UUID | str) -> list[dict[str, Any]]:
    """Every artifact a flow run created (dicts as the REST API returns them)."""
    return _filter(
        "artifacts", {"artifacts": {"flow_run_id": {"any_": [str(run_id)]}}, "sort": "CREATED_DESC"}
    )


def wait_for_state(
    run_id: UUID | str, names: Iterable[str], timeout: float = 120.0, poll: float = 0.5
) -> FlowRun:
    """Poll until the run's state name is one of `names` (e.g. "Suspended", "Completed")."""
    wanted = set(names)
    deadline = time.monotonic() + timeout
    while True:
        run = flow_run(run_id)
        if run.state is not None and run.state.name in wanted:
            return run
        if time.monotonic() > deadline:
            state = run.state.name if run.state else None
            raise TimeoutError(f"flow run {run.name} is {state!r}, not one of {sorted(wanted)}")
        time.sleep(poll)
