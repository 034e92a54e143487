"""Retry policy for tasks: retry infrastructure errors only; delays scale to zero in tests."""

from __future__ import annotations

import os
from typing import Any

from domain.errors import InfrastructureError


def retry_delays(*seconds: float) -> list[float]:
    """Delays scaled by TRAVELOPS_RETRY_DELAY_SCALE (tests set 0 to retry at once)."""
    scale = float(os.environ.get("TRAVELOPS_RETRY_DELAY_SCALE", "1"))
    return [s * scale for s in seconds]


def retry_on_infrastructure(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect `retry_condition_fn`: business-rule errors are final, outages are retried."""
    try:
        state.result()
    except InfrastructureError:
        return True
    except Exception:
        return False
    return False
