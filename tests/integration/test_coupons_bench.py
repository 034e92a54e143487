"""`travelops bench settlement` prints one JSON line; vectorised and per-row results agree."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from travelops.bench import all_benchmarks

ROOT = Path(__file__).resolve().parents[2]


def test_settlement_benchmark_is_registered_and_runs() -> None:
    assert all_benchmarks()["settlement"] == ["settlement", "--rows", "1000000"]
    out = subprocess.run(
        [sys.executable, "-m", "travelops", "bench", "settlement", "--rows", "3000"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    line = json.loads(out.stdout.strip().splitlines()[-1])
    assert line["rows"] == 3000
    assert line["naive_equal"] is True
    assert line["rejected"] == 3
    for key in ("seconds", "rows_per_s", "compute_rows_per_s", "naive_rows_per_s"):
        assert line[key] > 0
    assert line["speedup_vs_naive"] > 1
