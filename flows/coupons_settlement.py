"""settle-coupon-cost-share: the nightly settlement of package-coupon commissions (spec §3)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_progress_artifact, aupdate_progress_artifact
from prefect.runtime import flow_run

from domain.calendar import seoul_date
from domain.coupons import settlement_date_for_run
from flows._clients import one_sync_client
from tasks.coupons_settlement import (
    claim_settlement_day,
    compute_settlement,
    load_settlement_inputs,
    post_settlement_ledger,
    publish_settlement_report,
    write_settlement_exports,
)


def _run_name() -> str:
    day = flow_run.parameters.get("business_date") or "previous-business-day"
    return f"settle-coupons-{day}"


@flow(name="settle-coupon-cost-share", flow_run_name=_run_name, log_prints=True)
@one_sync_client
async def settle_coupon_cost_share(business_date: date | None = None) -> dict[str, object]:
    """Settle one business day (default: the one before today in Seoul): commissions and agency
    cost shares of reservations completed or changed, seller-borne coupons due; append-only."""
    logger = get_run_logger()
    day = business_date or settlement_date_for_run(seoul_date(datetime.now(UTC)))
    run_id = str(flow_run.id) if flow_run.id else None
    progress = await acreate_progress_artifact(
        progress=0.0, key="coupon-settlement-progress", description=f"Settling {day}"
    )
    earlier = claim_settlement_day(day, run_id)
    if earlier:
        logger.info("%s was settled before: only changes since then will be posted", day)
    inputs = load_settlement_inputs(day)
    await aupdate_progress_artifact(progress, progress=25.0)
    computation = compute_settlement(inputs)
    await aupdate_progress_artifact(progress, progress=50.0)
    posted = post_settlement_ledger(day, computation.entries, f"settle-coupon-cost-share:{run_id}")
    await aupdate_progress_artifact(progress, progress=75.0)
    exports = write_settlement_exports(computation)
    summary = publish_settlement_report(computation, posted, exports, run_id)
    await aupdate_progress_artifact(progress, progress=100.0)
    logger.info(
        "settled %s: %d reservations, %d rejected, %d ledger entries posted",
        day,
        computation.totals["reservations"],
        computation.totals["rejected"],
        posted,
    )
    return summary
