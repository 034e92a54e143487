"""Imported once by the flow-run fork server (`serve.use_forkserver`): every served flow's module.

What each run would otherwise redo in its own process is done here once, before the fork: the
imports of the flows (PyMuPDF, the tasks, the domain) and SQLAlchemy's mapper configuration
(done lazily by the first query of each process otherwise).

A module that fails to import here is skipped, not fatal: the run that needs it imports it again
and fails with the real error in its own logs, where ops look.
"""

from __future__ import annotations

import contextlib
import importlib

from sqlalchemy.orm import configure_mappers

from travelops.serve import flow_modules

for _module in flow_modules():
    with contextlib.suppress(Exception):
        importlib.import_module(_module)

with contextlib.suppress(Exception):
    configure_mappers()
