"""What `make bench` runs: name → arguments of `travelops bench` (each process adds its own)."""

from __future__ import annotations

#: e.g. BENCHMARKS["settlement"] = ["settlement", "--rows", "1000000"]
BENCHMARKS: dict[str, list[str]] = {}
