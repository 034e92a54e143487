"""`travelops fees --schedule S.json --trip T.json`: the calculator contract of tmc-fees.md."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_fees_engine import SPEC_SCHEDULE
from travelops.cli import main

SPEC_TRIP: dict[str, Any] = {
    "company": "ACME",
    "vip": False,
    "events": [
        {"type": "booking", "booking_type": "hotel", "agent_assisted": False},
        {"type": "booking", "booking_type": "air", "agent_assisted": True},
        {"type": "modify", "booking_type": "air", "agent_assisted": True},
        {"type": "agent_contact"},
        {"type": "service", "service": "virtual_payment", "booking_type": "hotel"},
    ],
    "waivers": [{"event": 2, "kind": "transaction", "reason": "GOODWILL"}],
}


def _files(tmp_path: Path, schedule: Any, trip: Any) -> tuple[str, str]:
    s, t = tmp_path / "schedule.json", tmp_path / "trip.json"
    s.write_text(schedule if isinstance(schedule, str) else json.dumps(schedule))
    t.write_text(trip if isinstance(trip, str) else json.dumps(trip))
    return str(s), str(t)


def test_spec_example_through_the_installed_command(tmp_path: Path) -> None:
    s, t = _files(tmp_path, SPEC_SCHEDULE, SPEC_TRIP)
    result = subprocess.run(
        [sys.executable, "-m", "travelops", "fees", "--schedule", s, "--trip", t],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) == {"currency", "lines", "total", "waived_total"}
    assert out["lines"][:2] == [
        {"event": 0, "kind": "trip", "rule": "default", "amount": "10.00", "waived": False},
        {"event": 1, "kind": "trip", "rule": "air", "amount": "40.00", "waived": False},
    ]
    assert (out["total"], out["waived_total"]) == ("57.00", "9.00")


def _bad(
    schedule_change: dict[str, Any] | None = None, trip_change: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    schedule = copy.deepcopy(SPEC_SCHEDULE)
    schedule.update(schedule_change or {})
    trip = copy.deepcopy(SPEC_TRIP)
    trip.update(trip_change or {})
    return schedule, trip


RULE = {"name": "air", "when": {"booking_type": "air"}}


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (_bad({"plan": "per-booking"}), "plan='per-booking': unknown plan"),
        (_bad({"trip_rules": [RULE]}), "rule without amounts"),
        (
            _bad({"trip_rules": [{**RULE, "regular": "-5", "vip": "1"}]}),
            "trip_rules[0].regular='-5'",
        ),
        (
            _bad(trip_change={"waivers": [{"event": 4, "kind": "service", "reason": "GOODWILL"}]}),
            "cannot be waived",
        ),
        (
            _bad(trip_change={"waivers": [{"event": 2, "kind": "transaction", "reason": "NOPE"}]}),
            "unknown waiver reason code",
        ),
        (_bad(trip_change={"events": [{"type": "booking"}]}), "events[0].booking_type"),
        (("{not json", SPEC_TRIP), "--schedule="),
    ],
)
def test_invalid_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], inputs: tuple[Any, Any], message: str
) -> None:
    s, t = _files(tmp_path, *inputs)
    with pytest.raises(SystemExit) as exit_info:
        main(["fees", "--schedule", s, "--trip", t])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1
    assert message in captured.err


def test_shipped_schedule_is_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = Path(__file__).resolve().parents[2]
    _, t = _files(tmp_path, SPEC_SCHEDULE, {**SPEC_TRIP, "company": "HANBIT", "waivers": []})
    with pytest.raises(SystemExit) as exit_info:
        main(["fees", "--schedule", str(root / "data" / "fees" / "schedule.json"), "--trip", t])
    assert exit_info.value.code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["currency"] == "KRW"
    assert [ln["kind"] for ln in out["lines"]] == ["trip", "service"]  # static trip plan
    assert out["total"] == "16500"
