"""Coupons scenario: a generated day of package sales with every coupon case, settled nightly.

The day holds sales without a coupon, with an old (CP0…) and a new (CP1…) coupon on the partner
portal, coupons on SCO/SCF, and bad rows (a share of 51 %, a fractional share, an unknown serial).
Ops change some reservations before settlement (price change, a traveller's age class, a transfer
refused, a move to SCO), the flow settles the day, one reservation changes after posting and the
next day's settlement posts the adjustment; settling the first day again posts nothing.
Reservation ids carry a per-run suffix and each run takes a business day not settled before.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from travelops.demo import DemoContext, Scenario, ScenarioResult

DEPLOYMENT = "settle-coupon-cost-share/settle-coupon-cost-share"
ROWS = 2_000


def _prepare(suffix: str, day: date) -> dict[str, Any]:
    from db.coupons import change_reservation, insert_reservations
    from db.session import session_scope
    from domain.coupons import (
        TransferRefused,
        change_sale_price,
        change_traveller,
        transfer_reservation,
    )
    from tasks.coupons_data import generate_reservations

    frame = generate_reservations(
        ROWS, seed=int(suffix, 16) % 1000, prefix=f"DM{suffix}-", bad_every=250
    )
    with session_scope() as s:
        insert_reservations(s, frame, day)
    ids = frame["reservation_id"].tolist()
    valid_new = frame[
        (frame["coupon_serial"].str.startswith("CP1"))
        & (frame["channel"] == "PARTNER_PORTAL")
        & (frame["agency_share_pct"].isin(["10", "30", "50"]))
    ]["reservation_id"].tolist()
    valid_old = frame[
        (frame["coupon_serial"].str.startswith("CP0"))
        & (frame["channel"] == "PARTNER_PORTAL")
        & (frame["agency_share_pct"].isin(["0.4", "0.5", "1.2"]))
    ]["reservation_id"].tolist()
    changes: dict[str, Any] = {}
    with session_scope() as s:
        out = change_reservation(
            s,
            valid_new[0],
            lambda r: change_sale_price(r, r.sale_price + 500_000),
            changed_on=day,
            actor="ops-demo",
        )
        changes["price_change_warning"] = out.warnings[0]
        out = change_reservation(
            s,
            valid_new[1],
            lambda r: change_traveller(r, "all", age_class="child"),
            changed_on=day,
            actor="ops-demo",
        )
        changes["age_change_removed_coupon"] = out.reservation.coupon_serial is None
        out = change_reservation(
            s,
            valid_old[0],
            lambda r: transfer_reservation(
                r, agency=r.agency, contract_type=r.contract_type, channel="SCO"
            ),
            changed_on=day,
            actor="ops-demo",
        )
        changes["moved_to_sco_formula"] = str(out.result.formula)
    try:
        with session_scope() as s:
            change_reservation(
                s,
                valid_old[1],
                lambda r: transfer_reservation(r, agency="AG9999", contract_type="001"),
                changed_on=day,
                actor="ops-demo",
            )
        changes["transfer_refused"] = ""
    except TransferRefused as exc:
        changes["transfer_refused"] = str(exc)
    return {"ids": ids, "after_posting": valid_new[2], "changes": changes}


def _settle(day: date) -> tuple[bool, str, dict[str, Any]]:
    from prefect.deployments import run_deployment

    run = run_deployment(DEPLOYMENT, parameters={"business_date": day.isoformat()}, timeout=300)
    state = run.state
    ok = bool(state and state.is_completed())
    result = state.result(raise_on_failure=False) if state else None  # type: ignore[union-attr]
    return ok, run.name, result if isinstance(result, dict) else {"result": repr(result)}


def run(ctx: DemoContext) -> ScenarioResult:
    from db.coupons import change_reservation, ledger_for, unsettled_business_day
    from db.session import session_scope
    from domain.calendar import next_business_day, seoul_date
    from domain.coupons import change_sale_price

    suffix = uuid.uuid4().hex[:6]
    today = seoul_date(datetime.now(UTC)) - timedelta(days=1)
    day = unsettled_business_day(today)
    prepared = _prepare(suffix, day)
    ok1, name1, first = _settle(day)

    # a change after posting → the next business day's settlement posts an adjustment
    later = next_business_day(day)
    with session_scope() as s:
        change_reservation(
            s,
            prepared["after_posting"],
            lambda r: change_sale_price(r, r.sale_price + 100_000),
            changed_on=later,
            actor="ops-demo",
        )
    ok2, name2, second = _settle(later)
    ok3, name3, rerun = _settle(day)
    with session_scope() as s:
        adjustments = [
            e for e in ledger_for(s, [prepared["after_posting"]]) if e["kind"] == "adjustment"
        ]
    ok = ok1 and ok2 and ok3 and rerun.get("posted_entries") == 0 and bool(adjustments)
    return ScenarioResult(
        ok=ok,
        statuses={
            name1: "Completed" if ok1 else "Failed",
            name2: "Completed" if ok2 else "Failed",
            f"{name3} (rerun)": "Completed" if ok3 else "Failed",
        },
        counts={
            "reservations": first.get("reservations"),
            "rejected": first.get("rejected"),
            "ledger_entries_posted": first.get("posted_entries"),
            "commission_krw": first.get("commission"),
            "cost_share_krw": first.get("cost_share"),
            "net_sales_krw": first.get("net_sales"),
            "adjustments_next_day": second.get("posted_entries"),
            "rerun_posted": rerun.get("posted_entries"),
        },
        details={
            "business_date": day.isoformat(),
            "by_formula": first.get("by_formula"),
            "changes": prepared["changes"],
            "adjustment": adjustments,
            "exports": first.get("exports"),
        },
        error=None if ok else "settlement did not complete as expected",
    )


SCENARIO = Scenario(
    name="coupons",
    description="settle-coupon-cost-share: a day of old/new/SCO/no-coupon sales, changes, bad rows",
    run=run,
)
