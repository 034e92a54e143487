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

from sqlalchemy.orm import configure_mappers

from blocks.http import provider_tls_context
from travelops.api_tls import share_api_tls_contexts
from travelops.run_settings import build_settings_for_runs
from travelops.serve import flow_modules

share_api_tls_contexts()
provider_tls_context()
build_settings_for_runs()

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
