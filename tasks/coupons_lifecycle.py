"""Tasks of the coupon lifecycle."""

from __future__ import annotations

from datetime import datetime

from prefect import task
from prefect.cache_policies import NO_CACHE

from db.coupons_lifecycle import advance_coupon_states
from db.session import session_scope


@task(name="advance_coupon_states", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def advance_states(now: datetime) -> dict[str, int]:
    """One batch UPDATE per boundary; each move is audited."""
    with session_scope() as session:
        return advance_coupon_states(session, now)
