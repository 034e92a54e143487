"""What `make bench` runs: name → arguments of `travelops bench` (processes add theirs)."""

from __future__ import annotations

from travelops.processes import collect_mapping


def all_benchmarks() -> dict[str, list[str]]:
    """e.g. {"settlement": ["settlement", "--rows", "1000000"]}"""
    return collect_mapping("BENCHMARKS")
