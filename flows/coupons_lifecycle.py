"""advance-coupon-states: coupons cross their issue-period boundaries (10-minute grain)."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger

from flows._clients import one_sync_client
from tasks.coupons_lifecycle import advance_states


@flow(name="advance-coupon-states", log_prints=True)
@one_sync_client
async def advance_coupon_states(at: datetime | None = None) -> dict[str, int]:
    """Waiting coupons whose period began start issuing; those whose period ended complete."""
    moved = advance_states(at or datetime.now(UTC))
    get_run_logger().info("coupon states advanced: %s", moved or "nothing to move")
    return moved
