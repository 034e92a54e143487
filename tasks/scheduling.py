"""Runs that start later or wake others: deadlines, reminders and resumes of suspended runs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any
from uuid import UUID

from prefect import get_run_logger, task
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.client.schemas.responses import SetStateStatus
from prefect.client.schemas.sorting import FlowRunSort
from prefect.deployments import run_deployment
from prefect.exceptions import NotPausedError, ObjectNotFound
from prefect.flow_runs import resume_flow_run
from prefect.states import AwaitingRetry, Cancelled

from tasks.retry import retry_delays


@task(retries=3, retry_delay_seconds=retry_delays(1, 5, 15))
def schedule_flow_run(deployment: str, parameters: dict[str, Any], at: datetime, key: str) -> str:
    """Create a run of `deployment` scheduled at `at`; the same `key` never creates a second one."""
    run = run_deployment(
        deployment, parameters=parameters, scheduled_time=at, idempotency_key=key, timeout=0,
        as_subflow=False,
    )  # fmt: skip
    return str(run.id)


@task(retries=3, retry_delay_seconds=retry_delays(1, 5, 15))
def resume_run(flow_run_id: str, run_input: dict[str, Any] | None = None) -> bool:
    """Resume a paused/suspended run with input; False if it is no longer waiting (someone won)."""
    try:
        resume_flow_run(UUID(flow_run_id), run_input=run_input)
    except NotPausedError:
        get_run_logger().info("flow run %s is not waiting any more; nothing to resume", flow_run_id)
        return False
    return True


@task(retries=3, retry_delay_seconds=retry_delays(1, 5, 15))
def cancel_scheduled_run(flow_run_id: str, reason: str) -> bool:
    """Cancel a run that has not started (e.g. a deadline that no longer matters)."""
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(UUID(flow_run_id))
        if run.state is None or not run.state.is_scheduled():
            return False
        result = client.set_flow_run_state(UUID(flow_run_id), Cancelled(message=reason))
    return result.status.value == "ACCEPT"


def resume_runs(
    runs: dict[str, dict[str, Any] | None], concurrency: int | None = None
) -> list[str]:
    """Resume suspended runs (id → run input) over one API client, `concurrency` at a time
    (default: the `resume_concurrency` setting, which depends on the server's database); the
    ids resumed. A run no longer paused (resumed by someone else) or gone is left out."""
    if not runs:
        return []
    from travelops.settings import core_settings

    concurrency = concurrency or core_settings().resume_concurrency
    with get_client(sync_client=True) as client:  # httpx's client is safe across threads

        def resume(item: tuple[str, dict[str, Any] | None]) -> str | None:
            run_id, run_input = item
            try:
                result = client.resume_flow_run(UUID(run_id), run_input=run_input)
            except ObjectNotFound:
                return None
            return run_id if result.status == SetStateStatus.ACCEPT else None

        with ThreadPoolExecutor(max_workers=min(concurrency, len(runs))) as pool:
            return [run_id for run_id in pool.map(resume, runs.items()) if run_id]


def restart_run(flow_run_id: str) -> bool:
    """Run a run that ended again from the top (Prefect's `AwaitingRetry`, as the UI's Retry);
    False if the server refused."""
    with get_client(sync_client=True) as client:
        result = client.set_flow_run_state(UUID(flow_run_id), AwaitingRetry(), force=True)
    return result.status == SetStateStatus.ACCEPT


def read_runs(
    run_ids: Iterable[str], chunk: int = 200, state_types: Sequence[StateType] | None = None
) -> dict[str, FlowRun]:
    """The flow runs `run_ids` by id (only those in `state_types`, if given), `chunk` per API
    call (the API's page limit); runs the server does not know are left out."""
    ids = list(dict.fromkeys(UUID(str(i)) for i in run_ids))
    found: dict[str, FlowRun] = {}
    state = (
        FlowRunFilterState(type=FlowRunFilterStateType(any_=list(state_types)))
        if state_types
        else None
    )
    with get_client(sync_client=True) as client:
        for start in range(0, len(ids), chunk):
            part = ids[start : start + chunk]
            for run in client.read_flow_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=part), state=state),
                sort=FlowRunSort.ID_DESC,  # the sync client sends no default (the API answers 422)
                limit=len(part),
            ):
                found[str(run.id)] = run
    return found
