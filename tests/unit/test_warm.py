"""The fork server's preload: what each served run inherits instead of doing itself."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from travelops.settings import PROJECT_ROOT

PROBE = (
    "import travelops.warm, prefect.flow_engine as e, travelops.run_settings as r;"
    "print(e.observe_flow_run_suspension.__name__, r._BUILT is not None)"
)


@pytest.mark.parametrize(
    ("setting", "observer"),
    [(None, "_no_suspension_observer"), ("true", "observe_flow_run_suspension")],
)
def test_fork_server_builds_settings_and_leaves_out_the_suspension_observer_unless_asked(
    setting: str | None, observer: str
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TRAVELOPS_SUSPENSION_OBSERVER"}
    if setting is not None:
        env["TRAVELOPS_SUSPENSION_OBSERVER"] = setting
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.split()
    assert out[-2:] == [observer, "True"]
