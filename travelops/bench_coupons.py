"""`travelops bench settlement`: the nightly settlement end to end on N generated reservations.

Prints one JSON line. `seconds` covers load from the database, compute, ledger posting and the
report/exports. `compute_rows_per_s` is the commission table over validated int64 columns and
`naive_rows_per_s` the same formulas row by row in plain Python (the spreadsheet way) on the same
validated rows; `speedup_vs_naive` is their ratio. The `calculator_*` figures compare the whole
calculator both ways (validation and parsing included). Both results are checked equal.
"""

from __future__ import annotations

import json
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

BENCH_DAY = date(2026, 11, 20)


def _naive_matches(results: pd.DataFrame, naive: list[dict[str, Any]]) -> bool:
    """Column-wise equality of the vectorised OUT frame and the per-row OUT dicts."""
    if len(naive) != len(results):
        return False
    for column in ("commission_base", "cost_share", "commission", "net_sales"):
        want = np.array([-(2**62) if r[column] is None else r[column] for r in naive], np.int64)
        got = results[column].to_numpy(dtype=np.int64, na_value=-(2**62))
        if not np.array_equal(want, got):
            return False
    for column in ("formula", "error", "reservation_id"):
        if [r[column] for r in naive] != results[column].tolist():
            return False
    return True


def _parse_or_error(row: dict[str, Any]) -> Any:
    from domain.coupons import parse_cost_share_row
    from domain.errors import InvalidInput

    try:
        return parse_cost_share_row(row)
    except InvalidInput as exc:
        return exc


def _as_out(row: dict[str, Any], computed: Any) -> dict[str, Any]:
    from domain.coupons import AMOUNT_COLUMNS, CostShareResult

    if isinstance(computed, CostShareResult):
        return {
            "reservation_id": computed.reservation_id,
            "formula": str(computed.formula),
            "commission_base": computed.commission_base,
            "cost_share": computed.cost_share,
            "commission": computed.commission,
            "net_sales": computed.net_sales,
            "error": "",
        }
    return {
        "reservation_id": str(row["reservation_id"]).strip(),
        "formula": "",
        **dict.fromkeys(AMOUNT_COLUMNS),
        "error": str(computed),
    }


def run_settlement_bench(rows: int, naive: bool = True, keep: Path | None = None) -> dict[str, Any]:
    from db.migrate import upgrade
    from db.session import reset_engines, session_scope
    from domain.coupons import (
        CostShareInput,
        apply_commission_table,
        compute_cost_share,
        cost_share_frame,
        parse_cost_share_columns,
    )
    from tasks.coupons_data import generate_reservations
    from tasks.coupons_settlement import (
        compute_settlement_frames,
        load_settlement_inputs,
        post_settlement_ledger,
        settlement_markdown,
        write_settlement_exports_files,
    )

    scratch = keep or Path(tempfile.mkdtemp(prefix="travelops-bench-coupons-"))
    url = f"sqlite:///{scratch}/bench.db"
    import os

    from travelops.settings import core_settings

    os.environ["TRAVELOPS_DATABASE_URL"] = url
    core_settings.cache_clear()
    reset_engines()
    upgrade(url)

    from db.coupons import claim_settlement_run, finish_settlement_run, insert_reservations

    setup = time.perf_counter()
    frame = generate_reservations(rows, seed=2026, prefix="BN", bad_every=1000)
    with session_scope(url) as session:
        insert_reservations(session, frame, BENCH_DAY)
    setup_seconds = time.perf_counter() - setup
    del frame

    phases: dict[str, float] = {}
    start = time.perf_counter()
    with session_scope(url) as session:
        claim_settlement_run(session, BENCH_DAY, "bench")
    t = time.perf_counter()
    inputs = load_settlement_inputs.fn(BENCH_DAY)
    phases["load"] = time.perf_counter() - t
    t = time.perf_counter()
    computation = compute_settlement_frames(inputs)
    phases["compute_and_totals"] = time.perf_counter() - t
    t = time.perf_counter()
    posted = post_settlement_ledger.fn(BENCH_DAY, computation.entries, "bench")
    phases["post_ledger"] = time.perf_counter() - t
    t = time.perf_counter()
    exports = write_settlement_exports_files(computation, scratch / "exports")
    report = settlement_markdown(computation, posted, exports)
    with session_scope(url) as session:
        finish_settlement_run(
            session,
            BENCH_DAY,
            flow_run_id="bench",
            totals={k: v for k, v in computation.totals.items() if k != "by_agency"},
            rejected=computation.rejected[:1000],
        )
    phases["report_and_exports"] = time.perf_counter() - t
    seconds = time.perf_counter() - start

    # the calculator alone, on the same rows: vectorised (parse | compute | frame) and naive
    reservations = inputs.reservations
    t = time.perf_counter()
    columns = parse_cost_share_columns(reservations)
    parse_seconds = time.perf_counter() - t
    t = time.perf_counter()
    table = apply_commission_table(columns)
    compute_seconds = time.perf_counter() - t
    t = time.perf_counter()
    vector = cost_share_frame(reservations, columns, table)
    frame_seconds = time.perf_counter() - t
    vector_seconds = parse_seconds + compute_seconds + frame_seconds
    result: dict[str, Any] = {
        "rows": rows,
        "seconds": round(seconds, 3),
        "rows_per_s": round(rows / seconds),
        "compute_rows_per_s": round(rows / max(compute_seconds, 1e-9)),
    }
    if naive:
        records = reservations.to_dict("records")
        t = time.perf_counter()
        parsed = [_parse_or_error(row) for row in records]
        naive_parse_seconds = time.perf_counter() - t
        t = time.perf_counter()
        computed = [compute_cost_share(p) if isinstance(p, CostShareInput) else p for p in parsed]
        naive_compute_seconds = time.perf_counter() - t
        naive_rows = [_as_out(row, c) for row, c in zip(records, computed, strict=True)]
        if not _naive_matches(vector, naive_rows):
            raise AssertionError("vectorised and per-row results differ")
        naive_seconds = naive_parse_seconds + naive_compute_seconds
        result["naive_rows_per_s"] = round(rows / naive_compute_seconds)
        result["speedup_vs_naive"] = round(naive_compute_seconds / compute_seconds, 1)
        result["naive_equal"] = True
        result["calculator_naive_rows_per_s"] = round(rows / naive_seconds)
        result["calculator_speedup_vs_naive"] = round(naive_seconds / vector_seconds, 1)
    else:
        result["naive_rows_per_s"] = None
        result["speedup_vs_naive"] = None
    result.update(
        {
            "calculator_rows_per_s": round(rows / vector_seconds),
            "phases": {k: round(v, 3) for k, v in phases.items()},
            "ledger_entries_posted": posted,
            "rejected": computation.totals["rejected"],
            "setup_seconds": round(setup_seconds, 3),
            "report_chars": len(report),
        }
    )
    return result


def main(rows: int, naive: bool = True) -> None:
    print(json.dumps(run_settlement_bench(rows, naive)))  # noqa: T201
