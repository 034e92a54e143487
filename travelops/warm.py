"""Imported once by the flow-run fork server (`serve.use_forkserver`): every served flow's module.

What each run would otherwise redo in its own process is done here once, before the fork: the
imports of the flows (PyMuPDF, the tasks, the domain), SQLAlchemy's mapper configuration
(done lazily by the first query of each process otherwise) and Prefect's settings
(`travelops.run_settings`). Prefect's API clients share one
verified TLS context per process (`travelops.api_tls`) and the provider calls theirs
(`blocks.http.provider_tls_context`): each run inherits them built.

A module that fails to import here is skipped, not fatal: the run that needs it imports it again
and fails with the real error in its own logs, where ops look.
"""

from __future__ import annotations

import contextlib
import importlib
from typing import Any

from sqlalchemy.orm import configure_mappers

from blocks.http import provider_tls_context
from travelops.api_tls import share_api_tls_contexts
from travelops.run_settings import build_settings_for_runs
from travelops.serve import flow_modules

share_api_tls_contexts()
provider_tls_context()
build_settings_for_runs()


@contextlib.contextmanager
def _no_suspension_observer(flow_run_id: Any, request: Any, polling_interval: float = 10) -> Any:
    """In place of Prefect's watcher for a `Suspended` state set on a run from outside.

    Prefect starts one for every deployment run: a thread with its own event loop and API
    client, a websocket subscription to the server's event stream (which the server then matches
    every event against) and a poll. A run that suspends itself (`wait_in_state`,
    `suspend_flow_run` from inside) does not need it: it marks its own request. Nothing in
    travelops suspends a running run from outside (no `suspend-flow-run` automation, no
    `suspend_flow_run(flow_run_id=…)` on another run), so the served runs go without it unless
    `TRAVELOPS_SUSPENSION_OBSERVER` is on; such a request would then take effect at the run's
    next state change instead of its next task.
    """
    yield


def _leave_out_suspension_observer() -> None:
    import prefect.flow_engine as engine

    from travelops.settings import core_settings

    if not core_settings().suspension_observer:
        engine.observe_flow_run_suspension = _no_suspension_observer  # type: ignore[assignment]


_leave_out_suspension_observer()

for _module in flow_modules():
    with contextlib.suppress(Exception):
        importlib.import_module(_module)

with contextlib.suppress(Exception):
    configure_mappers()


def _complete_models() -> int:
    """Build now the validators Pydantic builds at a model's first use (Prefect's client schemas,
    events, contexts: ~270 models). Each run did it again for those it used: ~5 % of a hotel
    run's CPU under py-spy. Returns how many were completed."""
    from pydantic import BaseModel

    pending: list[type[BaseModel]] = [BaseModel]
    completed = 0
    while pending:
        for cls in pending.pop().__subclasses__():
            pending.append(cls)
            if not getattr(cls, "__pydantic_complete__", True):
                with contextlib.suppress(Exception):
                    completed += bool(cls.model_rebuild())
    return completed


_complete_models()
