"""Tasks of the nightly coupon settlement: a few batch steps over whole columns, never one per row.

Frames pass between tasks in memory (no result persistence, no input hashing): the settlement is
idempotent through its ledger entry keys, not through task caching.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from db.coupons import (
    claim_settlement_run,
    finish_settlement_run,
    load_reservations,
    load_seller_coupon_uses,
    post_ledger_frame,
    posted_sums,
)
from db.session import session_scope
from domain.coupons import (
    ACCOUNT_COMMISSION,
    ACCOUNT_COST_SHARE,
    ACCOUNT_SELLER_COUPON,
    compute_cost_shares,
    seller_coupon_window,
    settlement_entries,
    settlement_targets,
)
from travelops.settings import core_settings

_BATCH = {"cache_policy": NO_CACHE, "persist_result": False}
REJECTED_SHOWN = 50


@dataclass
class SettlementInputs:
    settle_day: date
    reservations: pd.DataFrame
    seller_uses: pd.DataFrame
    posted: pd.DataFrame


@dataclass
class SettlementComputation:
    settle_day: date
    results: pd.DataFrame  # compute_cost_shares output joined with agency/status/coupon
    entries: pd.DataFrame  # ledger entries to post (reservations and seller-borne coupons)
    totals: dict[str, Any] = field(default_factory=dict)
    rejected: list[dict[str, str]] = field(default_factory=list)


@task(name="claim_settlement_day", **_BATCH)
def claim_settlement_day(settle_day: date, flow_run_id: str | None) -> int:
    with session_scope() as session:
        return claim_settlement_run(session, settle_day, flow_run_id)


@task(name="load_settlement_inputs", **_BATCH)
def load_settlement_inputs(settle_day: date) -> SettlementInputs:
    """Reservations to settle that day, seller-borne coupons due, and what was posted before."""
    start, end = seller_coupon_window(settle_day)
    with session_scope() as session:
        return SettlementInputs(
            settle_day=settle_day,
            reservations=load_reservations(session, settle_day),
            seller_uses=load_seller_coupon_uses(session, start, end),
            posted=posted_sums(session, settle_day),
        )


def _sum(series: pd.Series) -> int:
    return int(series.sum()) if len(series) else 0


def compute_settlement_frames(inputs: SettlementInputs) -> SettlementComputation:
    """The commission table over every reservation, ledger deltas, totals and rejected rows."""
    res = inputs.reservations
    results = compute_cost_shares(res)
    for column in ("agency", "status"):  # object columns stay object (no string conversion)
        results[column] = pd.Series(res[column].to_numpy(dtype=object), dtype=object)
    results["coupon_amount"] = res["coupon_amount"].to_numpy()
    entries = settlement_entries(settlement_targets(results, res), inputs.posted)

    uses = inputs.seller_uses
    if len(uses):
        seller = pd.DataFrame(
            {
                "business_key": "coupon-use-" + uses["use_id"].astype(str),
                "account": ACCOUNT_SELLER_COUPON,
                "counterparty": uses["vendor"].to_numpy(),
                "formula": "seller",
                "amount_minor": uses["discount"].astype("int64").to_numpy(),
                "kind": "posting",
            }
        )
        entries = pd.concat([entries, seller], ignore_index=True)

    valid = results[results["error"] == ""]
    live = valid[valid["status"] != "cancelled"]
    by_agency = (
        live.groupby("agency", sort=True)
        .agg(
            reservations=("reservation_id", "size"),
            commission=("commission", "sum"),
            cost_share=("cost_share", "sum"),
            net_sales=("net_sales", "sum"),
        )
        .reset_index()
    )
    by_formula = (
        live.groupby("formula", sort=True)
        .agg(
            reservations=("reservation_id", "size"),
            commission=("commission", "sum"),
            cost_share=("cost_share", "sum"),
            net_sales=("net_sales", "sum"),
        )
        .reset_index()
    )
    bad = results[results["error"] != ""]
    kinds = entries.groupby(["account", "kind"])["amount_minor"].agg(["size", "sum"])
    totals: dict[str, Any] = {
        "business_date": inputs.settle_day.isoformat(),
        "reservations": len(results),
        "settled": len(live),
        "cancelled": int((valid["status"] == "cancelled").sum()),
        "rejected": len(bad),
        "commission": _sum(live["commission"]),
        "cost_share": _sum(live["cost_share"]),
        "net_sales": _sum(live["net_sales"]),
        "seller_coupons": len(uses),
        "seller_coupon_amount": _sum(uses["discount"]) if len(uses) else 0,
        "entries": {
            f"{account}/{kind}": {"count": int(row["size"]), "amount": int(row["sum"])}
            for (account, kind), row in kinds.iterrows()
        },
        "by_agency": _records(by_agency),
        "by_formula": _records(by_formula),
    }
    rejected = [
        {"reservation_id": str(r), "error": str(e)}
        for r, e in zip(bad["reservation_id"], bad["error"], strict=True)
    ]
    return SettlementComputation(inputs.settle_day, results, entries, totals, rejected)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in frame.to_dict("records"):
        out.append({k: (int(v) if isinstance(v, (int, np.integer)) else v) for k, v in row.items()})
    return out


@task(name="compute_settlement", **_BATCH)
def compute_settlement(inputs: SettlementInputs) -> SettlementComputation:
    return compute_settlement_frames(inputs)


@task(name="post_settlement_ledger", **_BATCH)
def post_settlement_ledger(settle_day: date, entries: pd.DataFrame, posted_by: str) -> int:
    """Append the day's entries; keys already posted (rerun, concurrent run) are skipped."""
    with session_scope() as session:
        return post_ledger_frame(session, entries, settle_day=settle_day, posted_by=posted_by)


def export_paths(settle_day: date, directory: Path | None = None) -> tuple[Path, Path]:
    folder = directory or core_settings().exports_dir / "coupons"
    stem = f"coupon-settlement-{settle_day.isoformat()}"
    return folder / f"{stem}.csv", folder / f"{stem}.xlsx"


#: The XLSX carries the detail sheet up to this many rows; the CSV always has every row.
XLSX_DETAIL_ROWS = 50_000

_TEXT = ("reservation_id", "agency", "status", "formula", "error")
DETAIL_COLUMNS = [
    "reservation_id",
    "agency",
    "status",
    "formula",
    "coupon_amount",
    "commission_base",
    "cost_share",
    "commission",
    "net_sales",
    "error",
]


def write_settlement_exports_files(
    computation: SettlementComputation, directory: Path | None = None
) -> dict[str, str]:
    """Finance's files: every reservation in CSV; totals, rejected rows (and detail) in XLSX."""
    csv_path, xlsx_path = export_paths(computation.settle_day, directory)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    detail = computation.results.loc[:, DETAIL_COLUMNS]
    table = pa.Table.from_pandas(detail.astype({c: "string" for c in _TEXT}), preserve_index=False)
    pacsv.write_csv(table, csv_path, pacsv.WriteOptions(quoting_style="needed"))
    totals = computation.totals
    summary = pd.DataFrame(
        [{"item": k, "value": v} for k, v in totals.items() if not isinstance(v, (list, dict))]
    )
    with pd.ExcelWriter(xlsx_path, engine="openpyxl") as writer:
        summary.to_excel(writer, sheet_name="summary", index=False)
        pd.DataFrame(totals["by_agency"]).to_excel(writer, sheet_name="by agency", index=False)
        pd.DataFrame(totals["by_formula"]).to_excel(writer, sheet_name="by formula", index=False)
        pd.DataFrame(computation.rejected, columns=["reservation_id", "error"]).to_excel(
            writer, sheet_name="rejected", index=False
        )
        if len(detail) <= XLSX_DETAIL_ROWS:
            detail.to_excel(writer, sheet_name="reservations", index=False)
    return {"csv": str(csv_path), "xlsx": str(xlsx_path)}


@task(name="write_settlement_exports", **_BATCH)
def write_settlement_exports(computation: SettlementComputation) -> dict[str, str]:
    return write_settlement_exports_files(computation)


def _won(value: int) -> str:
    return f"{value:,}"


def settlement_markdown(
    computation: SettlementComputation, posted: int, exports: dict[str, str]
) -> str:
    t = computation.totals
    lines = [
        f"# Coupon cost-share settlement {t['business_date']}",
        "",
        f"Reservations {t['reservations']:,} · settled {t['settled']:,} · cancelled "
        f"{t['cancelled']:,} · **rejected {t['rejected']:,}** · seller-borne coupons "
        f"{t['seller_coupons']:,} ({_won(t['seller_coupon_amount'])} KRW)",
        "",
        f"Ledger entries posted this run: **{posted:,}** (already posted entries are skipped).",
        "",
        "## Totals by formula (KRW)",
        "| formula | reservations | commission | cost share | net sales |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in t["by_formula"]:
        lines.append(
            f"| {row['formula']} | {row['reservations']:,} | {_won(row['commission'])} | "
            f"{_won(row['cost_share'])} | {_won(row['net_sales'])} |"
        )
    lines += [
        f"| **total** | {t['settled']:,} | {_won(t['commission'])} | {_won(t['cost_share'])} | "
        f"{_won(t['net_sales'])} |",
        "",
        "## Totals by agency (KRW)",
        "| agency | reservations | commission | cost share | net sales |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in t["by_agency"][:100]:
        lines.append(
            f"| {row['agency']} | {row['reservations']:,} | {_won(row['commission'])} | "
            f"{_won(row['cost_share'])} | {_won(row['net_sales'])} |"
        )
    if len(t["by_agency"]) > 100:
        lines.append(f"| … {len(t['by_agency']) - 100} more in the XLSX | | | | |")
    lines += ["", "## Ledger entries of this settlement", "| account/kind | count | amount |"]
    lines.append("|---|---:|---:|")
    for name, v in sorted(t["entries"].items()):
        lines.append(f"| {name} | {v['count']:,} | {_won(v['amount'])} |")
    lines += ["", f"## Rejected rows ({len(computation.rejected):,})"]
    if computation.rejected:
        lines += ["| reservation | reason |", "|---|---|"]
        for r in computation.rejected[:REJECTED_SHOWN]:
            lines.append(f"| {r['reservation_id']} | {r['error'].replace('|', '/')} |")
        if len(computation.rejected) > REJECTED_SHOWN:
            lines.append(f"| … | {len(computation.rejected) - REJECTED_SHOWN} more in the XLSX |")
    else:
        lines.append("None.")
    lines += ["", f"Exports: `{exports['csv']}`, `{exports['xlsx']}`"]
    return "\n".join(lines)


@task(name="publish_settlement_report", **_BATCH)
def publish_settlement_report(
    computation: SettlementComputation,
    posted: int,
    exports: dict[str, str],
    flow_run_id: str | None,
) -> dict[str, Any]:
    """Table + markdown artifacts in the Prefect UI; the day's record is marked settled."""
    day = computation.settle_day.isoformat()
    t = computation.totals
    create_table_artifact(
        key="coupon-settlement-totals",
        table=[{"by": "formula", **row} for row in t["by_formula"]]
        + [{"by": "agency", **row} for row in t["by_agency"][:500]],
        description=f"Coupon settlement {day}: totals by formula and by agency (KRW)",
    )
    if computation.rejected:
        create_table_artifact(
            key="coupon-settlement-rejected",
            table=computation.rejected[:500],
            description=f"Coupon settlement {day}: rejected rows and their reasons",
        )
    create_markdown_artifact(
        key="coupon-settlement-summary",
        markdown=settlement_markdown(computation, posted, exports),
        description=f"Coupon settlement {day}",
    )
    with session_scope() as session:
        finish_settlement_run(
            session,
            computation.settle_day,
            flow_run_id=flow_run_id,
            totals={k: v for k, v in t.items() if k != "by_agency"},
            rejected=computation.rejected[:1000],
        )
    return {
        **{k: v for k, v in t.items() if k not in ("by_agency",)},
        "posted_entries": posted,
        "exports": exports,
    }


def affected_keys(entries: pd.DataFrame) -> list[str]:
    return sorted(set(entries["business_key"]))


__all__ = [
    "ACCOUNT_COMMISSION",
    "ACCOUNT_COST_SHARE",
    "SettlementComputation",
    "SettlementInputs",
    "claim_settlement_day",
    "compute_settlement",
    "load_settlement_inputs",
    "post_settlement_ledger",
    "publish_settlement_report",
    "write_settlement_exports",
]
