"""Scheduling later runs idempotently, cancelling them, and resuming runs that are not waiting."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from prefect import flow

from tasks.scheduling import cancel_scheduled_run, resume_run, resume_runs, schedule_flow_run
from tests import runs


@flow
def _schedule_twice(key: str) -> tuple[str, str]:
    at = datetime.now(UTC) + timedelta(hours=1)
    params = {"mailbox": "hotel-desk", "timeout_seconds": 5}
    first = schedule_flow_run("check-mail-roundtrip/check-mail-roundtrip", params, at, key)
    second = schedule_flow_run("check-mail-roundtrip/check-mail-roundtrip", params, at, key)
    return first, second


@flow
def _cancel(run_id: str) -> bool:
    return cancel_scheduled_run(run_id, "no longer needed")


@flow
def _resume(run_id: str) -> bool:
    return resume_run(run_id, {"timed_out": True})


@pytest.mark.slow
def test_same_key_schedules_one_run_which_can_be_cancelled(served: str) -> None:
    first, second = _schedule_twice(f"deadline:{uuid.uuid4()}")
    assert first == second
    assert runs.flow_run(first).state.is_scheduled()  # type: ignore[union-attr]
    assert _cancel(first) is True
    assert runs.flow_run(first).state.name == "Cancelled"  # type: ignore[union-attr]
    assert _cancel(first) is False  # not scheduled any more
    assert _resume(first) is False  # a run that is not paused is left alone
    assert resume_runs({first: {"timed_out": True}}) == []  # … also when resumed in a batch


def test_the_worker_asks_once_whether_the_server_wants_csrf_tokens(prefect_api: str) -> None:
    import asyncio

    from travelops.serve import _server_wants_csrf_tokens

    # Prefect's default: CSRF protection off. The runs the worker starts then skip asking.
    assert asyncio.run(_server_wants_csrf_tokens()) is False
