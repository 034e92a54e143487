"""Imported once by the flow-run fork server (`serve.use_forkserver`): every served flow's module.

A module that fails to import here is skipped, not fatal: the run that needs it imports it again
and fails with the real error in its own logs, where ops look.
"""

from __future__ import annotations

import contextlib
import importlib

from travelops.serve import flow_modules

for _module in flow_modules():
    with contextlib.suppress(Exception):
        importlib.import_module(_module)
