"""`travelops serve` starts scheduled runs in `start_order`, as far as worker slots allow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from uuid import uuid4

import anyio
import pytest

from travelops.serve import OrderedRunPoller, periodic_passes, read_deployments, start_order


def _run(minutes: int, run_count: int = 0, deployment: str = "issue-hotel-vcc") -> Any:
    when = datetime(2026, 12, 2, 9, 0, tzinfo=UTC) + timedelta(minutes=minutes)
    return SimpleNamespace(
        id=uuid4(), next_scheduled_start_time=when, run_count=run_count, deployment_id=deployment
    )


def test_passes_then_runs_under_way_then_new_runs_each_oldest_first() -> None:
    passes = periodic_passes(read_deployments())
    assert {"watch-hotel-mailbox", "wake-paid-group-orders", "advance-coupon-states"} <= passes
    assert not {"issue-hotel-vcc", "confirm-group-booking", "waive-fee"} & passes
    new_old, new_young = _run(0), _run(5)
    resumed_old, resumed_young = _run(1, run_count=1), _run(7, run_count=2)
    watcher = _run(9, deployment="watch-hotel-mailbox")
    queue = [new_young, resumed_young, new_old, watcher, resumed_old]
    ordered = sorted(queue, key=lambda run: start_order(run, run.deployment_id, passes))
    assert ordered == [watcher, resumed_old, resumed_young, new_old, new_young]


class _Slots:
    def __init__(self, free: int) -> None:
        self.free = free

    def acquire(self) -> Any:
        if self.free == 0:
            raise anyio.WouldBlock
        self.free -= 1
        return uuid4()


class _Names:
    def get_deployment_name(self, deployment_id: str) -> str:
        return deployment_id  # the fake runs carry their deployment's name as its id


class _Group:
    def __init__(self) -> None:
        self.started: list[Any] = []

    def start_soon(self, fn: Any, flow_run: Any, *args: Any) -> None:
        self.started.append(flow_run)


def _poller(free: int, new_work_limit: int | None = None) -> OrderedRunPoller:
    poller = object.__new__(OrderedRunPoller)
    poller._limit_manager = _Slots(free)
    poller._deployment_registry = _Names()
    poller._submitting_flow_run_ids = set()
    poller._new_work_ids = set()
    poller.passes = frozenset({"watch-hotel-mailbox"})
    poller.new_work_limit = new_work_limit
    return poller


@pytest.mark.parametrize("free", [1, 2, 4])
def test_the_runner_fills_its_free_slots_with_the_first_runs_in_order(free: int) -> None:
    poller = _poller(free)
    new = [_run(i) for i in range(3)]
    resumed = _run(10, run_count=1)
    watcher = _run(20, deployment="watch-hotel-mailbox")
    group = _Group()
    anyio.run(poller._submit_scheduled_flow_runs, [*new, resumed, watcher], group)
    assert group.started == [watcher, resumed, *new][:free]
    assert poller._submitting_flow_run_ids == {r.id for r in group.started}


def test_new_work_leaves_slots_free_for_runs_under_way_and_passes() -> None:
    poller = _poller(free=6, new_work_limit=2)
    first = [_run(i) for i in range(4)]
    group = _Group()
    anyio.run(poller._submit_scheduled_flow_runs, first, group)
    assert group.started == first[:2]  # two new runs at most, though four slots are free
    # the next poll: a run resumed for its card and a pass start in the slots left free
    resumed, watcher = _run(10, run_count=1), _run(20, deployment="watch-hotel-mailbox")
    anyio.run(poller._submit_scheduled_flow_runs, [*first[2:], resumed, watcher], group)
    assert group.started == [*first[:2], watcher, resumed]
    poller._new_work_ids.discard(first[0].id)  # a new run ended (as `_submit_run` does)
    poller._submitting_flow_run_ids.discard(first[0].id)
    anyio.run(poller._submit_scheduled_flow_runs, first[2:], group)
    assert group.started[-1] is first[2]


@pytest.mark.parametrize(
    ("limit", "setting", "expected"), [(20, None, 10), (5, None, 3), (1, None, 1), (20, "4", 4)]
)
def test_new_work_takes_half_the_slots_unless_configured(
    monkeypatch: pytest.MonkeyPatch, limit: int, setting: str | None, expected: int
) -> None:
    from travelops.serve import new_work_limit
    from travelops.settings import core_settings

    if setting is not None:
        monkeypatch.setenv("TRAVELOPS_NEW_WORK_LIMIT", setting)
    core_settings.cache_clear()
    try:
        assert new_work_limit(limit) == expected
    finally:
        core_settings.cache_clear()


@pytest.mark.parametrize(
    ("server_db", "given", "expected"),
    [
        (None, None, "1"),
        ("sqlite+aiosqlite:///x.db", None, "1"),
        ("postgresql+asyncpg://postgres@127.0.0.1/prefect", None, "16"),
        ("postgresql+asyncpg://postgres@127.0.0.1/prefect", "4", "4"),
    ],
)
def test_the_local_stack_resumes_runs_at_once_only_against_a_postgres_server(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, server_db: str | None, given: str | None,
    expected: str,
) -> None:  # fmt: skip
    from travelops.stack import LocalStack

    for name, value in (("PREFECT_SERVER_DATABASE_CONNECTION_URL", server_db),
                        ("TRAVELOPS_RESUME_CONCURRENCY", given)):  # fmt: skip
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert LocalStack(tmp_path).env["TRAVELOPS_RESUME_CONCURRENCY"] == expected
