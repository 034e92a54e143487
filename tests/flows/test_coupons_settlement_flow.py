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
