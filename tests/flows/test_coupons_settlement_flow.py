"""settle-coupon-cost-share as a real Prefect flow run: ledger, artifacts, exports, rerun."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd

from db.coupons import insert_reservations, ledger_for
from db.session import session_scope
from flows.coupons_settlement import settle_coupon_cost_share
from tasks.coupons_data import generate_reservations
from tests import runs

DAY = date(2031, 9, 3)


def test_nightly_settlement_posts_reports_and_exports(prefect_api: str) -> None:
    frame = generate_reservations(300, seed=11, prefix="FLW", bad_every=50)
    with session_scope() as s:
        insert_reservations(s, frame, DAY)

    state: Any = asyncio.run(settle_coupon_cost_share(business_date=DAY, return_state=True))
    assert state.is_completed()
    summary = state.result()
    assert summary["reservations"] == 300
    assert summary["rejected"] == 6
    assert summary["posted_entries"] > 300
    assert {row["formula"] for row in summary["by_formula"]} == {"none", "sco", "old", "new"}

    with session_scope() as s:
        assert len(ledger_for(s, frame["reservation_id"].tolist())) == summary["posted_entries"]

    run_id = state.state_details.flow_run_id
    assert runs.flow_run(run_id).name == f"settle-coupons-{DAY.isoformat()}"
    found = {a["key"]: a for a in runs.artifacts(run_id)}
    assert {
        "coupon-settlement-summary",
        "coupon-settlement-totals",
        "coupon-settlement-rejected",
        "coupon-settlement-progress",
    } <= set(found)
    markdown = found["coupon-settlement-summary"]["data"]
    assert "Totals by agency" in markdown
    assert "Totals by formula" in markdown
    assert "agency_share_pct='51'" in markdown
    assert float(found["coupon-settlement-progress"]["data"]) == 100.0

    csv_path, xlsx_path = Path(summary["exports"]["csv"]), Path(summary["exports"]["xlsx"])
    exported = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    assert len(exported) == 300
    assert (exported["error"] != "").sum() == 6
    book = openpyxl.load_workbook(xlsx_path, read_only=True)
    assert {"summary", "by agency", "by formula", "rejected", "reservations"} <= set(
        book.sheetnames
    )

    again: Any = asyncio.run(settle_coupon_cost_share(business_date=DAY, return_state=True))
    assert again.result()["posted_entries"] == 0


def test_advance_coupon_states_flow_moves_coupons_across_the_period(prefect_api: str) -> None:
    from datetime import UTC, datetime, timedelta

    from db.coupons_lifecycle import create_coupon
    from db.models.coupons import Coupon
    from domain.coupons_lifecycle import Actor, CouponSpec, Role
    from flows.coupons_lifecycle import advance_coupon_states

    now = datetime(2033, 1, 3, 0, 0, tzinfo=UTC)
    spec = CouponSpec(
        name="새해 쿠폰",
        vendor="V-FLOW",
        scope="all_facilities",
        facilities=(),
        audience="everyone",
        discount_kind="fixed",
        amount=1_000,
        rate_pct=None,
        min_order=None,
        issue_limit=None,
        issue_start=now + timedelta(minutes=10),
        issue_end=now + timedelta(minutes=30),
        validity_days=3,
    )
    with session_scope() as s:
        serial = create_coupon(s, Actor("kim", Role.VENDOR_ADMIN, "V-FLOW"), spec, now)

    def state() -> str:
        with session_scope() as s:
            coupon = s.get(Coupon, serial)
            assert coupon is not None
            return coupon.state

    moved = asyncio.run(advance_coupon_states(at=now + timedelta(minutes=10)))
    assert moved.get("issuing", 0) >= 1
    assert state() == "issuing"
    asyncio.run(advance_coupon_states(at=now + timedelta(minutes=30)))
    assert state() == "completed"
