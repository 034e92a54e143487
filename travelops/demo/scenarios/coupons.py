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


def _seller_coupons(suffix: str, day: date) -> dict[str, Any]:
    """A seller-borne coupon with an issue limit of 3: downloads, uses, usage completed on `day`."""
    from db.coupons_lifecycle import (
        complete_usage,
        coupon_counts,
        create_coupon,
        download_coupon,
        use_coupon,
    )
    from db.models.coupons import Coupon
    from db.session import session_scope
    from domain.coupons_lifecycle import Actor, CouponSpec, DownloadRefused, Role, UseRefused

    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start = now - timedelta(minutes=now.minute % 10 + 10)
    admin = Actor("demo-vendor-admin", Role.VENDOR_ADMIN, f"VENDOR-{suffix}")
    spec = CouponSpec(
        name="데모 숙소 쿠폰",
        vendor=admin.vendor,
        scope="all_facilities",
        facilities=(),
        audience="everyone",
        discount_kind="fixed",
        amount=5_000,
        rate_pct=None,
        min_order=30_000,
        issue_limit=3,
        issue_start=start,
        issue_end=start + timedelta(days=7),
        validity_days=30,
        seller_borne=True,
    )
    refused: list[str] = []
    with session_scope() as s:
        serial = create_coupon(s, admin, spec, now)
    downloads = []
    for customer in ("c1", "c2", "c3", "c4"):
        try:
            with session_scope() as s:
                downloads.append(download_coupon(s, serial, f"{suffix}-{customer}", now))
        except DownloadRefused as exc:
            refused.append(f"download {customer}: {exc}")
    for i, (download, amount) in enumerate(zip(downloads, (80_000, 30_000, 45_000), strict=True)):
        try:
            with session_scope() as s:
                use_coupon(s, download, f"STAY-{suffix}-{i}", amount, now)
                complete_usage(s, f"STAY-{suffix}-{i}", day)
        except UseRefused as exc:
            refused.append(f"use {amount:,} KRW: {exc}")
    with session_scope() as s:
        coupon = s.get(Coupon, serial)
        state = coupon.state if coupon else "missing"
        counts = coupon_counts(s, serial)
    return {"serial": serial, "state": state, **counts, "refused": refused}


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
    seller = _seller_coupons(suffix, day)
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
    ok = (
        ok1
        and ok2
        and ok3
        and rerun.get("posted_entries") == 0
        and bool(adjustments)
        and seller["state"] == "stopped"
        and first.get("seller_coupons") == 2
    )
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
            "seller_coupons_settled": first.get("seller_coupons"),
            "seller_coupon_krw": first.get("seller_coupon_amount"),
            "coupon_downloads": seller["issued"],
            "coupon_uses": seller["used"],
            "adjustments_next_day": second.get("posted_entries"),
            "rerun_posted": rerun.get("posted_entries"),
        },
        details={
            "business_date": day.isoformat(),
            "by_formula": first.get("by_formula"),
            "changes": prepared["changes"],
            "seller_borne_coupon": seller,
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
