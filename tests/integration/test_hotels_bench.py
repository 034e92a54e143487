"""`travelops bench hotel-vcc` runs bookings through the whole loop on its own stack."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from travelops.bench import all_benchmarks

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_hotel_benchmark_carries_every_booking_through_the_loop() -> None:
    assert all_benchmarks()["hotel-vcc"] == ["hotel-vcc", "--bookings", "50"]
    args = ["--bookings", "3", "--watch-interval", "2", "--port", str(_free_port())]
    out = subprocess.run(
        [sys.executable, "-m", "travelops", "bench", "hotel-vcc", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=380,
        check=True,
    )
    line = json.loads(out.stdout.strip().splitlines()[-1])
    assert (line["bookings"], line["cards_emailed"], line["completed"]) == (3, 3, 3)
    assert 0 < line["reply_to_card_p50_s"] <= line["reply_to_card_p95_s"]
    assert 0 <= line["reply_to_read_p95_s"] <= line["reply_to_card_p95_s"]
    assert line["bookings_per_minute"] > 0
    assert line["seconds"] <= line["seconds_to_completed"]
