"""Exactly one virtual card per booking: crashes, ambiguous failures, retries and races."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from blocks.hotels import CardIssuer
from db.models.hotels import VirtualCard
from db.session import session_scope
from domain.errors import AmbiguousOutcome, ProviderUnavailable
from tasks.hotels import fix_card_amount, issue_card_once, price_booking, register_booking
from tests.fixtures.hotels import hotel_booking
from travelops.cardsafety import card_vault

ROOT = Path(__file__).resolve().parents[2]


def _issuer(sandbox: dict[str, Any], timeout: float = 2.0) -> CardIssuer:
    ep = sandbox["services"]["card-issuer"]
    return CardIssuer(base_url=ep["url"], api_key=SecretStr(ep["api_key"]),
                      supplier_id="SUP-TRAVELOPS-001", timeout_seconds=timeout)  # fmt: skip


def _fault(sandbox: dict[str, Any], **rule: Any) -> None:
    url = sandbox["services"]["card-issuer"]["url"]
    httpx.post(
        f"{url}/_sandbox/faults", json={"path_prefix": "/v1/cards", **rule}
    ).raise_for_status()


def _ready_booking() -> str:
    no = f"BK-20261124-{uuid.uuid4().int % 1_000_000:06d}"
    register_booking.fn(hotel_booking(no), None)
    assert price_booking(no)["ok"]
    fix_card_amount(no)
    return no


def _count(sandbox: dict[str, Any], booking_no: str) -> tuple[int, int]:
    url = sandbox["services"]["card-issuer"]["url"]
    at_issuer = len(
        httpx.get(f"{url}/_sandbox/cards", params={"booking_reference": booking_no}).json()
    )
    with session_scope() as s:
        here = s.scalar(
            select(func.count())
            .select_from(VirtualCard)
            .where(VirtualCard.booking_no == booking_no)
        )
    return at_issuer, int(here or 0)


def test_card_created_but_answer_lost_is_found_not_reissued(
    db_url: str, sandbox: dict[str, Any]
) -> None:
    no = _ready_booking()
    _fault(sandbox, mode="fail_after", status=503)  # the issuer acted, the caller sees a 5xx
    with pytest.raises(AmbiguousOutcome):
        issue_card_once(no, _issuer(sandbox))
    assert _count(sandbox, no) == (1, 0)  # sent, not recorded
    second = issue_card_once(no, _issuer(sandbox))
    assert _count(sandbox, no) == (1, 1)
    assert "•" in second["masked"]
    again = issue_card_once(no, _issuer(sandbox))
    assert again["card_id"] == second["card_id"]
    assert again["replayed"]


def test_timeout_after_processing_then_retry_gives_one_card(
    db_url: str, sandbox: dict[str, Any]
) -> None:
    no = _ready_booking()
    _fault(sandbox, mode="delay_after", seconds=3)
    with pytest.raises(AmbiguousOutcome):
        issue_card_once(no, _issuer(sandbox, timeout=1))
    issue_card_once(no, _issuer(sandbox))
    assert _count(sandbox, no) == (1, 1)


def test_outage_before_the_request_then_success(db_url: str, sandbox: dict[str, Any]) -> None:
    no = _ready_booking()
    _fault(sandbox, mode="fail_before", status=503, count=2)
    for _ in range(2):
        with pytest.raises((AmbiguousOutcome, ProviderUnavailable)):
            issue_card_once(no, _issuer(sandbox))
    issue_card_once(no, _issuer(sandbox))
    assert _count(sandbox, no) == (1, 1)


def test_two_concurrent_runs_get_the_same_single_card(db_url: str, sandbox: dict[str, Any]) -> None:
    no = _ready_booking()
    results: list[Any] = []

    def run() -> None:
        try:
            results.append(issue_card_once(no, _issuer(sandbox)))
        except Exception as exc:  # collected and asserted below
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(isinstance(r, dict) for r in results), results
    assert len({r["card_id"] for r in results}) == 1
    assert _count(sandbox, no) == (1, 1)


def test_process_killed_between_request_sent_and_card_recorded(
    db_url: str, sandbox: dict[str, Any], state_dir: Path
) -> None:
    no = _ready_booking()
    endpoints = state_dir / f"issuer-{no}.json"
    endpoints.write_text(json.dumps(sandbox["services"]["card-issuer"]))
    _fault(sandbox, mode="delay_after", seconds=6)  # the card exists; the answer is slow
    code = (
        "import json,sys; from pydantic import SecretStr; from blocks.hotels import CardIssuer;"
        "from tasks.hotels import issue_card_once; ep=json.load(open(sys.argv[2]));"
        "issue_card_once(sys.argv[1], CardIssuer(base_url=ep['url'],"
        " api_key=SecretStr(ep['api_key']), supplier_id='SUP-TRAVELOPS-001', timeout_seconds=30))"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, no, str(endpoints)], cwd=ROOT,
                            env={**os.environ, "TRAVELOPS_DATABASE_URL": db_url})  # fmt: skip
    deadline = time.monotonic() + 30
    while _count(sandbox, no)[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.kill()  # SIGKILL: no cleanup, the claim stays pending with its lease
    proc.wait()
    assert _count(sandbox, no) == (1, 0)
    issue_card_once(no, _issuer(sandbox, timeout=10))  # waits out the lease, asks, records
    assert _count(sandbox, no) == (1, 1)
    with session_scope() as s:
        card = s.scalar(select(VirtualCard).where(VirtualCard.booking_no == no))
        assert card is not None
        assert card_vault().decrypt(card.pan_encrypted).isdigit()
        assert card.masked_pan.count("•") == 8
