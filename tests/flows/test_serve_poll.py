"""`travelops serve` finds the runs under way and the passes' runs behind a backlog of new ones."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import anyio
from prefect.client.orchestration import get_client
from prefect.states import Scheduled

from travelops.serve import OrderedRunPoller


class _Registry:
    def __init__(self, names: dict[Any, str]) -> None:
        self.names = names

    def get_deployment_ids(self) -> set[Any]:
        return set(self.names)

    def get_deployment_name(self, deployment_id: Any) -> str | None:
        return self.names.get(deployment_id)


async def _poll(free: int) -> tuple[list[Any], dict[str, list[Any]]]:
    tag = uuid.uuid4().hex[:8]
    async with get_client() as client:
        flow_id = await client.create_flow_from_name(f"poll-{tag}")
        bookings = await client.create_deployment(flow_id=flow_id, name=f"bookings-{tag}")
        watcher = await client.create_deployment(flow_id=flow_id, name=f"watcher-{tag}")
        early = datetime.now(UTC) - timedelta(minutes=30)

        async def run(deployment: Any, minutes: int, name: str = "Scheduled") -> Any:
            state = Scheduled(scheduled_time=early + timedelta(minutes=minutes))
            state.name = name
            return await client.create_flow_run_from_deployment(deployment, state=state)

        made = {
            "pass": [await run(watcher, i) for i in range(3)],  # late passes, oldest of all
            "new": [await run(bookings, 5 + i) for i in range(5)],  # the backlog, oldest first
            "resumed": [await run(bookings, 20, "Resuming")],
        }
        poller = object.__new__(OrderedRunPoller)
        poller._client = client
        poller._prefetch_seconds = 10
        poller._deployment_registry = _Registry({bookings: "issue", watcher: "watch"})
        poller._limit_manager = SimpleNamespace(_limiter=SimpleNamespace(available_tokens=free))
        poller.passes = frozenset({"watch"})
        found = await poller._get_scheduled_flow_runs()
    return found, made


def test_each_kind_of_run_is_found_behind_a_backlog_of_the_others(prefect_api: str) -> None:
    found, made = anyio.run(_poll, 2)
    ids = {run.id for run in found}
    for kind in ("pass", "new"):  # the oldest of each, as many as slots are free
        assert {run.id for run in made[kind][:2]} <= ids, kind
        assert not {run.id for run in made[kind][2:]} & ids, kind  # not the whole backlog
    assert made["resumed"][0].id in ids


def test_without_a_backlog_one_query_finds_every_scheduled_run(prefect_api: str) -> None:
    found, made = anyio.run(_poll, 50)
    assert {run.id for run in found} == {run.id for runs in made.values() for run in runs}
