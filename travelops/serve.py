"""Serve every deployment declared in prefect.yaml from this process (the demo's worker)."""

from __future__ import annotations

import importlib.util
import multiprocessing
import os
import sys
import types
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from multiprocessing import forkserver
from pathlib import Path
from typing import Any

import anyio
import yaml
from prefect import Flow
from prefect.runner._scheduled_run_poller import ScheduledRunPoller
from prefect.schedules import Schedule

from travelops.forkserver import ForkServerContext
from travelops.settings import PROJECT_ROOT, core_settings


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


def serve_flows(
    interval_overrides: dict[str, float] | None = None,
    only: set[str] | None = None,
    limit: int | None = None,
) -> None:
    """Serve the deployments of prefect.yaml from this process until it is stopped.

    Each flow is added to the runner as a flow object (`Runner.add_flow`), not as a deployment
    loaded from storage: the runner then starts each run directly from that object in a child
    process (`run_flow_in_subprocess`, from the fork server when `use_forkserver` is on) instead of
    a fresh `python -m prefect.engine` interpreter that imports everything again.
    """
    import asyncio

    from prefect.exceptions import TerminationSignal
    from prefect.runner import Runner

    serialize_settings_once()
    start_runs_from_pending()
    start_runs_in_order(periodic_passes(read_deployments()), new_work_limit(limit))
    runner = Runner(pause_on_shutdown=True, limit=limit)
    for spec in read_deployments():
        if only and spec["name"] not in only:
            continue
        runner.add_flow(
            load_flow(spec["entrypoint"]),
            name=spec["name"],
            description=spec.get("description"),
            tags=spec.get("tags") or [],
            parameters=spec.get("parameters") or {},
            schedules=_schedules(spec, interval_overrides or {}),
            concurrency_limit=_concurrency(spec.get("concurrency_limit")),
            enforce_parameter_schema=True,
        )
    try:
        asyncio.run(runner.start())
    except (KeyboardInterrupt, TerminationSignal):
        return


def prepare_worker_environment() -> None:
    """Ask the server once what every API client of every run would otherwise ask it again.

    This process checks the server's API version, and whether it wants CSRF tokens; the runs it
    starts (its children, the same install, the same server) inherit the answers as settings.
    Called by `travelops serve` before the fork server starts, so that the settings it builds
    for its runs (`travelops.run_settings`) are read from the environment the runs will have.
    """
    import asyncio

    os.environ["PREFECT_CLIENT_SERVER_VERSION_CHECK_ENABLED"] = "false"
    if not asyncio.run(_server_wants_csrf_tokens()):
        os.environ["PREFECT_CLIENT_CSRF_SUPPORT_ENABLED"] = "false"


def serialize_settings_once() -> None:
    """Serialise this process's Prefect settings once, not for every run it starts.

    For each run, Prefect's runner serialises its whole settings context (~400 settings) for the
    child, then its settings again as environment variables: 90 % of the worker's own CPU in the
    500-booking hotel benchmark (py-spy), ~0.1 s per run. The worker's settings do not change
    while it serves, so both are kept per settings object: a new one (another profile,
    `temporary_settings`) is serialised afresh. Run contexts are never cached: a start from
    inside a flow or task run serialises as before.
    """
    import prefect.runner._starter_direct as starter
    from prefect.context import EngineContext, SettingsContext, TaskRunContext, serialize_context
    from prefect.settings.models.root import Settings

    from travelops.run_settings import reuse_settings_in_runs, without_settings_context

    if getattr(starter.run_flow_in_subprocess, "_settings_once", False):
        return
    start = starter.run_flow_in_subprocess
    kept: list[tuple[Any, dict[str, Any]]] = []  # (settings context, its serialisation)

    def run_flow_in_subprocess(
        flow: Any, flow_run: Any = None, parameters: Any = None, wait_for: Any = None,
        context: dict[str, Any] | None = None, env: dict[str, str | None] | None = None,
    ) -> Any:  # fmt: skip
        if context is None and EngineContext.get() is None and TaskRunContext.get() is None:
            settings = SettingsContext.get()
            if not kept or kept[0][0] is not settings:
                context = without_settings_context(serialize_context(), settings.settings)
                kept[:] = [(settings, context)]
            context = kept[0][1]
        return start(flow, flow_run, parameters, wait_for, context, env)

    as_env = Settings.to_environment_variables
    env_of: dict[tuple[int, bool, bool, bool], tuple[Settings, dict[str, str]]] = {}

    def to_environment_variables(
        self: Settings,
        exclude_unset: bool = False,
        include_secrets: bool = True,
        include_aliases: bool = False,
    ) -> dict[str, str]:
        key = (id(self), exclude_unset, include_secrets, include_aliases)
        known = env_of.get(key)
        if known is None or known[0] is not self:
            if len(env_of) >= 8:  # settings objects made on the fly do not pile up
                env_of.clear()
            env = as_env(self, exclude_unset, include_secrets, include_aliases)
            known = env_of[key] = (self, env)
        return dict(known[1])

    reuse_settings_in_runs()
    run_flow_in_subprocess._settings_once = True  # type: ignore[attr-defined]
    starter.run_flow_in_subprocess = run_flow_in_subprocess  # type: ignore[assignment]
    Settings.to_environment_variables = to_environment_variables  # type: ignore[method-assign]


def start_runs_from_pending() -> None:
    """Start each run from the Pending state the runner claimed it with, without `Submitting`.

    The runner's poller claims a scheduled run by proposing `Pending` (a second runner is then
    refused), and its executor proposes `Pending` again under the name `Submitting` before it
    starts the process. Nothing reads that sub-state here, and Prefect's own path for a run
    already claimed skips it (`propose_submitting=False`); each state change is the server's
    heaviest call (orchestration rules, an event), and a hotel run execution had four.
    """
    import functools

    import prefect.runner._scheduled_run_poller as poller
    from prefect.runner._flow_run_executor import FlowRunExecutor

    if not isinstance(poller.FlowRunExecutor, functools.partial):
        poller.FlowRunExecutor = functools.partial(  # type: ignore[misc]
            FlowRunExecutor, propose_submitting=False
        )


def periodic_passes(deployments: list[dict[str, Any]]) -> frozenset[str]:
    """The deployments run on a schedule (the watchers that wake waiting runs, daily reports)."""
    return frozenset(spec["name"] for spec in deployments if spec.get("schedules"))


def start_order(run: Any, deployment_name: str | None, passes: frozenset[str]) -> tuple[Any, ...]:
    """Where a scheduled run stands in the queue of runs waiting for a worker slot.

    First the scheduled passes (due at their time; the watchers are what waiting runs wait
    for), then the runs already under way (resumed after a wait, or retried: `run_count` > 0),
    then new runs; each group oldest first. Prefect's runner takes them oldest first whatever
    they are: under a burst of new bookings a run resumed for its card waited behind every
    booking not yet begun (reply → card p95 179 s for 500 bookings, 37 s for 100).
    """
    state = getattr(run, "state", None)
    if deployment_name in passes:
        group = 0
    elif (run.run_count or 0) > 0 or (state is not None and state.name in UNDER_WAY_STATES):
        group = 1
    else:
        group = 2
    when = run.next_scheduled_start_time
    return (group, when is None, when)


#: `start_order`'s group of a run that starts new work (neither a pass nor under way).
NEW_WORK = 2
#: The names of the scheduled states of a run under way: resumed after a wait, or retried.
UNDER_WAY_STATES = ("Resuming", "AwaitingRetry")
#: The most runs the API answers in one page.
API_PAGE = 200


class OrderedRunPoller(ScheduledRunPoller):
    """Prefect's poller for served deployments, starting the runs it found in `start_order`.

    Runs that start new work take at most `new_work_limit` of the worker's slots at once: the
    other slots stay free for the passes and the runs under way (a card due, a charge to
    reconcile), which then start at once and run on a machine that is not saturated by new
    bookings. The queue order alone does not do that: once twenty new runs hold every slot, a
    resumed run waits for one of them to finish, and shares two cores with them when it starts.
    """

    passes: frozenset[str] = frozenset()
    new_work_limit: int | None = None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._new_work_ids: set[Any] = set()

    def _deployment_name(self, run: Any) -> str | None:
        if run.deployment_id is None:
            return None
        return self._deployment_registry.get_deployment_name(run.deployment_id)

    def _free_slots(self) -> int:
        limiter = getattr(self._limit_manager, "_limiter", None)
        return int(limiter.available_tokens) if limiter is not None else API_PAGE

    async def _get_scheduled_flow_runs(self) -> list[Any]:
        """The runs this poll may start: the oldest scheduled, as Prefect asks, but no more than
        slots are free; and when those are not all there is, the oldest of each kind apart:
        the passes' runs, the runs under way and the new runs.

        The server answers oldest first and at most 200 runs: under a backlog of new bookings, a
        run resumed for its card was not even in the answer until fewer than 200 older runs were
        left — and each poll (every second) sent 200 runs nobody could start (0.09 s of server
        CPU each).
        """
        from prefect.client.schemas.filters import (
            DeploymentFilter,
            DeploymentFilterId,
            FlowRunFilter,
            FlowRunFilterNextScheduledStartTime,
            FlowRunFilterState,
            FlowRunFilterStateName,
            FlowRunFilterStateType,
        )
        from prefect.client.schemas.objects import StateType
        from prefect.client.schemas.sorting import FlowRunSort

        free = max(1, self._free_slots())  # a full runner still polls: it keeps it "ready"
        before = datetime.now(UTC) + timedelta(seconds=int(self._prefetch_seconds))
        ids = list(self._deployment_registry.get_deployment_ids())
        client = self._client
        oldest = await client.get_scheduled_flow_runs_for_deployments(
            deployment_ids=ids, scheduled_before=before, limit=free
        )
        if len(oldest) < free:
            return list(oldest)  # every scheduled run is there
        registry = self._deployment_registry
        pass_ids = [i for i in ids if registry.get_deployment_name(i) in self.passes]
        other_ids = [i for i in ids if i not in pass_ids]
        passes, new = [
            await client.get_scheduled_flow_runs_for_deployments(
                deployment_ids=some, scheduled_before=before, limit=free
            )
            if some
            else []
            for some in (pass_ids, other_ids)
        ]  # apart: late passes (skipped while one runs) must not hide new bookings either
        under_way = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(
                    type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]),
                    name=FlowRunFilterStateName(any_=list(UNDER_WAY_STATES)),
                ),
                next_scheduled_start_time=FlowRunFilterNextScheduledStartTime(before_=before),
            ),
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=ids)),
            sort=FlowRunSort.NEXT_SCHEDULED_START_TIME_ASC,
            limit=free,
        )
        return list({run.id: run for run in [*passes, *under_way, *new]}.values())

    async def _submit_scheduled_flow_runs(
        self, flow_run_response: list[Any], task_group: Any
    ) -> None:
        """Prefect's submission loop (3.8.8) over the runs in `start_order`."""
        places = {
            run.id: start_order(run, self._deployment_name(run), self.passes)
            for run in flow_run_response
        }
        for flow_run in sorted(flow_run_response, key=lambda run: places[run.id]):
            if flow_run.id in self._submitting_flow_run_ids:
                continue
            new_work = places[flow_run.id][0] == NEW_WORK
            limit = self.new_work_limit
            if new_work and limit is not None and len(self._new_work_ids) >= limit:
                break  # in order: only new work follows
            try:
                slot_token = self._limit_manager.acquire()
            except anyio.WouldBlock:
                break  # in order: no later run may overtake
            self._submitting_flow_run_ids.add(flow_run.id)
            if new_work:
                self._new_work_ids.add(flow_run.id)
            task_group.start_soon(self._submit_run, flow_run, task_group, slot_token)

    async def _submit_run(self, flow_run: Any, task_group: Any, slot_token: Any) -> None:
        try:
            await super()._submit_run(flow_run, task_group, slot_token)
        finally:
            self._new_work_ids.discard(flow_run.id)


def start_runs_in_order(passes: frozenset[str], new_work_limit: int | None = None) -> None:
    """The runner starts scheduled runs in `start_order` instead of by scheduled time alone,
    at most `new_work_limit` runs of new work at once (None: as many as it has slots)."""
    import prefect.runner.runner as runner_module

    OrderedRunPoller.passes = passes
    OrderedRunPoller.new_work_limit = new_work_limit
    runner_module.ScheduledRunPoller = OrderedRunPoller  # type: ignore[misc]


def new_work_limit(limit: int | None) -> int | None:
    """How many of the worker's `limit` slots runs of new work may hold at once: the setting
    `TRAVELOPS_NEW_WORK_LIMIT`, else half of them (rounded up)."""
    from prefect.settings import PREFECT_RUNNER_PROCESS_LIMIT

    configured = core_settings().new_work_limit
    slots = limit if limit is not None else PREFECT_RUNNER_PROCESS_LIMIT.value()
    if configured is not None:
        return configured
    return slots - slots // 2 if slots else None


async def _server_wants_csrf_tokens() -> bool:
    """False when the server says CSRF protection is disabled (Prefect's default), as Prefect's
    client concludes itself, per client, from the same answer."""
    from uuid import uuid4

    from prefect.client.orchestration import get_client
    from prefect.exceptions import PrefectHTTPStatusError

    async with get_client() as client:
        try:
            await client.request("GET", "/csrf-token", params={"client": str(uuid4())})
        except PrefectHTTPStatusError as exc:
            disabled = exc.response.status_code == 422 and "disabled" in exc.response.text
            return not disabled
    return True


def _concurrency(value: Any) -> Any:
    """prefect.yaml's `concurrency_limit`: a number, or `{limit, collision_strategy}`."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig

    return ConcurrencyLimitConfig.model_validate(value) if isinstance(value, dict) else value


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
    "anyio._backends._asyncio",  # imported lazily by the first anyio call of each run
    "rich._emoji_codes",  # imported lazily by the first rich log line of each run
    "prefect.utilities.visualization",  # imported lazily by each flow call (graphviz)
    "pypdf",  # imported lazily by the hotel voucher's text check
    "pypdf.filters",  # … and these by its first PdfReader (pypdf._configuration)
    "pypdf.xmp",
    "prefect._internal.observers",  # imported by each deployment run's suspension observer
    "sqlite3",  # imported by each run's first SQLAlchemy engine on SQLite
)


def flow_modules(deployments: list[dict[str, Any]] | None = None) -> list[str]:
    """The modules of the served flows (`flows/group_booking.py:…` → `flows.group_booking`)."""
    names = []
    for spec in deployments if deployments is not None else read_deployments():
        module = spec["entrypoint"].split(":")[0].removesuffix(".py").replace("/", ".")
        if module not in names:
            names.append(module)
    return names


def use_forkserver(preload: Sequence[str] | None = None) -> None:
    """Start flow-run processes from a preloaded fork server instead of a fresh interpreter.

    Prefect starts every served flow run with `multiprocessing.get_context("spawn")`: a new
    interpreter that imports Prefect and the project again (~1 s of CPU per run on this class of
    machine). A fork server imports them once; each run is a fork of it, still a separate process
    with its own environment and settings context, so a crash or a suspended run frees it as before.

    The flow modules are preloaded too: Prefect still executes the entrypoint's file in each run,
    but its imports (PyMuPDF, the tasks, the domain) are then already in memory — ~1.7 s of CPU
    per run of `confirm-group-booking` otherwise, which serialises badly on two cores.
    """
    if str(PROJECT_ROOT) not in sys.path:  # the fork server inherits this sys.path
        sys.path.insert(0, str(PROJECT_ROOT))
    if preload is None:
        preload = [*FORKSERVER_PRELOAD, "travelops.warm"]
    import prefect.flow_engine as engine

    ctx = ForkServerContext()
    ctx.set_forkserver_preload(list(preload))
    engine.multiprocessing = types.SimpleNamespace(  # type: ignore[assignment]
        get_context=lambda method=None: ctx, context=multiprocessing.context
    )
    # Start it now, not with the first run: the preload takes seconds, and the worker should
    # announce its deployments only once it can start runs at full speed.
    forkserver.ensure_running()
