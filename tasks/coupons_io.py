"""Files of the coupons process: the cost-share CSV contract and the settlement exports."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from domain.coupons import INPUT_COLUMNS, OUTPUT_COLUMNS, compute_cost_shares
from domain.errors import InvalidInput


def read_cost_share_csv(path: Path) -> pd.DataFrame:
    """Every cell as text; a file that is missing, not UTF-8 CSV or lacks columns is refused."""
    if not path.is_file():
        raise InvalidInput("--input", str(path), "no such file")
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle), None)
    except UnicodeDecodeError:
        raise InvalidInput("--input", str(path), "not UTF-8 text") from None
    except csv.Error as exc:
        raise InvalidInput("--input", str(path), f"not CSV ({exc})") from None
    if not header:
        raise InvalidInput("--input", str(path), "empty file (no header row)")
    names = [h.strip() for h in header]
    missing = [c for c in INPUT_COLUMNS if c not in names]
    if missing:
        raise InvalidInput("--input", str(path), f"missing column(s): {', '.join(missing)}")
    try:
        frame = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            encoding="utf-8-sig",
            skipinitialspace=True,
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise InvalidInput("--input", str(path), f"not CSV ({exc})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def write_cost_share_csv(result: pd.DataFrame, path: Path) -> None:
    """OUT columns in contract order; a rejected row has empty amounts and its `error`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    result.loc[:, list(OUTPUT_COLUMNS)].to_csv(path, index=False, na_rep="")


def cost_share_file(input_path: Path, output_path: Path) -> tuple[int, int]:
    """Compute IN.csv → OUT.csv; returns (rows, rejected rows)."""
    frame = read_cost_share_csv(input_path)
    result = compute_cost_shares(frame)
    write_cost_share_csv(result, output_path)
    return len(result), int((result["error"] != "").sum())
