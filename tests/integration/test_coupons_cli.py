"""`travelops cost-share`: the CSV contract, bad rows kept with `error`, exit codes 0/1/2."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from domain.coupons import INPUT_COLUMNS, OUTPUT_COLUMNS
from travelops.cli import main

HEADER = ",".join(INPUT_COLUMNS)
GOOD = [
    "R1,SCO,R,1290000,0,1.6,0,0,CP00325496,20000,0",
    "R2,PARTNER_PORTAL,R,1290000,0,7,0,0,CP00325496,20000,0.4",
    "R3,PARTNER_PORTAL,R,1290000,0,7,0,0,CP10000001,20000,50",
    "R4,PARTNER_PORTAL,T,1200000,5000,0.57,,,,,",
]


def run(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, Path]:
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_text(text, encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        main(["cost-share", "--input", str(src), "--output", str(out)])
    return int(exc.value.code or 0), capsys.readouterr().err, out


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_all_valid_rows_exit_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, out = run(tmp_path, "\n".join([HEADER, *GOOD]) + "\n", capsys)
    assert code == 0
    rows = read(out)
    assert list(rows[0]) == list(OUTPUT_COLUMNS)
    assert [(r["formula"], r["commission"], r["cost_share"]) for r in rows] == [
        ("sco", "20320", "0"),
        ("old", "85140", "5160"),
        ("new", "80300", "10000"),
        ("none", "6840", "0"),
    ]
    assert rows[3]["net_sales"] == "1205000"
    assert all(r["error"] == "" for r in rows)


def test_bad_rows_are_kept_with_error_and_exit_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = [
        "B1,PARTNER_PORTAL,R,1290000,0,7,0,0,CP10000001,20000,51",
        "B2,PARTNER_PORTAL,R,1290000,0,7,0,0,CP10000001,20000,10.5",
        "B3,PARTNER_PORTAL,R,1290000,0,7,0,0,CP9,20000,1",
        "B4,PARTNER_PORTAL,Q,1290000,0,7,0,0,,,",
    ]
    code, err, out = run(tmp_path, "\n".join([HEADER, GOOD[0], *bad, GOOD[1]]) + "\n", capsys)
    assert code == 1
    assert "4 of 6" in err
    rows = read(out)
    assert [r["reservation_id"] for r in rows] == ["R1", "B1", "B2", "B3", "B4", "R2"]
    errors = {r["reservation_id"]: r["error"] for r in rows}
    assert errors["B1"].startswith("agency_share_pct='51'")
    assert errors["B2"].startswith("agency_share_pct='10.5'")
    assert errors["B3"].startswith("coupon_serial=")
    assert errors["B4"].startswith("transaction_type=")
    assert all(rows[i]["commission"] == "" for i in range(1, 5))
    assert rows[5]["commission"] == "85140"


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (None, "no such file"),
        ("", "empty file"),
        ("reservation_id,channel\nR1,SCO\n", "missing column(s): transaction_type"),
        (b"\xff\xfe\x00bad", "not UTF-8"),
    ],
)
def test_unusable_file_exits_two_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | bytes | None, why: str
) -> None:
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    if isinstance(content, bytes):
        src.write_bytes(content)
    elif content is not None:
        src.write_text(content)
    with pytest.raises(SystemExit) as exc:
        main(["cost-share", "--input", str(src), "--output", str(out)])
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert why in err
    assert err.count("\n") == 1
    assert not out.exists()
