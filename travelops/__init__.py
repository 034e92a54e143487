"""travelops: the application shell (settings, CLI, card safety, demo, benchmarks)."""

__version__ = "0.1.0"
