"""confirm-group-booking end to end: intake → PG deposit → signed webhook → routed run.

Green confirms within seconds; yellow waits suspended in AwaitingOpsDecision, is approved by the
ops form or, unanswered, refunded in full at the deadline (SLA = TEST_SLA_SECONDS).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from typing import Any
from uuid import UUID

import httpx
import pymupdf
import pytest
from prefect.flow_runs import resume_flow_run

from db.audit import history
from db.session import session_scope
from domain.calendar import SEOUL
from tests import runs
from tests.fixtures.group import (
    TEST_SLA_SECONDS,
    customer_pays,
    group_order_payload,
    pg_payments,
)

pytestmark = pytest.mark.slow


def _order(intake: str, **kw: Any) -> dict[str, Any]:
    r = httpx.post(f"{intake}/orders", json=group_order_payload(**kw), timeout=10)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _pay_deposit(intake: str, pg: Any, order_no: str) -> dict[str, Any]:
    r = httpx.post(f"{intake}/orders/{order_no}/deposit", timeout=30)
    assert r.status_code == 200, r.text
    deposit = dict(r.json())
    customer_pays(pg, deposit["payment_key"])
    return deposit


def _status(intake: str, order_no: str) -> dict[str, Any]:
    return dict(httpx.get(f"{intake}/orders/{order_no}", timeout=10).json())


def _wait_status(
    intake: str, order_no: str, wanted: set[str], timeout: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        order = _status(intake, order_no)
        if order["status"] in wanted:
            return order
        if time.monotonic() > deadline:
            raise TimeoutError(f"{order_no} is {order['status']}, not {sorted(wanted)}")
        time.sleep(0.3)


def test_green_order_is_confirmed_within_seconds_of_the_deposit(
    served: str, group_intake: str, group_pg: Any, group_kakao: Any, sandbox: dict[str, Any]
) -> None:
    placed = _order(group_intake)
    assert placed["light"] == "green"
    order_no = placed["order_no"]
    _pay_deposit(group_intake, group_pg, order_no)
    paid = time.monotonic()
    order = _wait_status(group_intake, order_no, {"balance_due"}, timeout=120)
    assert time.monotonic() - paid < 45  # seconds, on a loaded 2-core machine
    run = runs.wait_for_state(order["flow_run_id"], {"Completed"}, timeout=60)
    assert run.name == order_no
    assert order["paid_minor"] == placed["quote"]["deposit_minor"]
    # one gift voucher per traveller (trigger: confirmation), sent once
    sent = [
        m
        for t in placed_travellers(order)
        for m in group_kakao.sent_to(t)
        if m["template"] == "GIFT_VOUCHER" and order_no in m["key"]
    ]
    assert len(sent) == 6
    assert all(m["voucher"]["amount"] == 20000 for m in sent)
    # terms and itinerary: Korean text that extracts
    result = run.state.result()  # type: ignore[union-attr]
    with pymupdf.open(result["documents"]["terms"]) as doc:
        text = "".join(page.get_text() for page in doc)
    assert "전자약관" in text
    assert "확정 금액" in text
    assert result["fee_lines"] >= 0
    # a replayed webhook changes nothing
    events = httpx.get(f"{group_pg.base_url}/_sandbox/webhooks", timeout=5).json()["events"]
    mine = [e for e in events if e["data"]["orderId"].startswith(order_no)]
    httpx.post(f"{group_pg.base_url}/_sandbox/webhooks/{mine[0]['eventId']}/replay", timeout=10)
    assert _status(group_intake, order_no)["status"] == "balance_due"
    # the audit trail: every move once, and no refusal (the confirm call and the webhook both
    # report the deposit, and the webhook was replayed)
    with session_scope() as s:
        trail = [(t.to_status, t.accepted) for t in history(s, "group_orders", order_no)]
    moves = [status for status, accepted in trail if accepted and status != "quoted"]
    assert moves == ["deposit_paid", "auto_confirmed", "confirmed", "balance_due"]
    assert all(accepted for _, accepted in trail), trail


def placed_travellers(order: dict[str, Any]) -> list[str]:
    return [t["mobile"] for t in order["travellers"]]


def _departure_vouchers_are_sent_once_by_their_scheduled_run(
    order: dict[str, Any], kakao: Any
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.states import Scheduled

    order_no = order["order_no"]
    result = runs.wait_for_state(order["flow_run_id"], {"Completed"}, timeout=120).state.result()  # type: ignore[union-attr]
    planned = result["vouchers"]
    assert planned["trigger"] == "departure"
    scheduled = runs.flow_run(planned["scheduled"])
    assert scheduled.parameters == {"order_no": order_no, "trigger": "departure"}
    departure_9am = datetime.combine(
        datetime.fromisoformat(order["departure_date"]).date(), dtime(9, 0), SEOUL
    )
    assert scheduled.expected_start_time == departure_9am
    assert scheduled.state is not None
    assert scheduled.state.is_scheduled()
    sent_before = _vouchers_sent(order, kakao)
    assert sent_before == 0  # nothing at confirmation
    with get_client(sync_client=True) as client:  # departure day comes: run it now
        client.set_flow_run_state(scheduled.id, Scheduled(), force=True)
    run = runs.wait_for_state(scheduled.id, {"Completed"}, timeout=120)
    assert run.state.result()["sent"] == len(order["travellers"])  # type: ignore[union-attr]
    assert _vouchers_sent(order, kakao) == len(order["travellers"])
    # ops start another run by hand (Prefect UI → Run): nothing more is sent
    again = run_deployment(
        "send-group-vouchers/send-group-vouchers",
        parameters={"order_no": order_no, "trigger": "departure"},
        timeout=120,
    )
    assert again.state is not None
    assert again.state.result()["sent"] == 0
    assert _vouchers_sent(order, kakao) == len(order["travellers"])


def _vouchers_sent(order: dict[str, Any], kakao: Any) -> int:
    return sum(
        1
        for t in placed_travellers(order)
        for m in kakao.sent_to(t)
        if m["template"] == "GIFT_VOUCHER" and order["order_no"] in m["key"]
    )


@pytest.mark.timeout(600)  # waits out a real (scaled) SLA; flow starts are slow on a busy machine
def test_yellow_orders_are_approved_by_ops_or_refunded_at_the_deadline(
    served: str, group_intake: str, group_pg: Any, group_kakao: Any, sandbox: dict[str, Any]
) -> None:
    kw = {"product": "TONGYEONG-WISH-3D", "options": ("WISH-LIGHT", "WISH-THIRD")}
    approved, ignored, other = (_order(group_intake, **kw) for _ in range(3))
    assert approved["light"] == ignored["light"] == other["light"] == "yellow"
    for o in (approved, ignored, other):
        _pay_deposit(group_intake, group_pg, o["order_no"])
    for o in (approved, ignored, other):
        _wait_status(group_intake, o["order_no"], {"awaiting_ops"}, timeout=180)
    a = _status(group_intake, approved["order_no"])
    runs.wait_for_state(a["flow_run_id"], {"AwaitingOpsDecision"}, timeout=120)
    assert "확정 마감" in a["countdown"]
    resume_flow_run(
        UUID(a["flow_run_id"]),
        run_input={
            "action": "approve",
            "decided_by": "kim.ops",
            "final_prices": {"option:WISH-LIGHT": 19000, "option:WISH-THIRD": 25000},
        },
    )
    done = _wait_status(group_intake, approved["order_no"], {"balance_due"}, timeout=180)
    assert done["confirmed_quote_id"].endswith("-Q2")
    # ops propose an alternative for the third: refunded in full, the alternative sent once
    o = _status(group_intake, other["order_no"])
    runs.wait_for_state(o["flow_run_id"], {"AwaitingOpsDecision"}, timeout=120)
    resume_flow_run(
        UUID(o["flow_run_id"]),
        run_input={"action": "propose_alternative", "alternative": "4월 19일 출발 같은 일정"},
    )
    o = _wait_status(group_intake, other["order_no"], {"rejected_refunded"}, timeout=120)
    runs.wait_for_state(o["flow_run_id"], {"Completed"}, timeout=120)
    o = _status(group_intake, other["order_no"])
    assert o["refunded_minor"] == o["paid_minor"] == other["quote"]["deposit_minor"]
    told = [m for m in group_kakao.sent_to(o["contact"]["mobile"]) if other["order_no"] in m["key"]]
    assert [m["template"] for m in told].count("ALTERNATIVE") == 1
    assert any("4월 19일 출발" in m["text"] for m in told if m["template"] == "ALTERNATIVE")
    assert [m["template"] for m in told].count("REFUND_REJECTED_REFUNDED") == 1
    # the approved order's product gives its vouchers at departure: a scheduled run, 09:00 KST
    _departure_vouchers_are_sent_once_by_their_scheduled_run(done, group_kakao)
    # nobody answers the other one: refunded in full within 60 s of the deadline
    i = _wait_status(
        group_intake, ignored["order_no"], {"expired_refunded"}, timeout=TEST_SLA_SECONDS + 120
    )
    while i["refunded_minor"] < i["paid_minor"]:
        time.sleep(0.3)
        i = _status(group_intake, ignored["order_no"])
    late = datetime.now(UTC) - datetime.fromisoformat(i["deadline_at"])
    assert late.total_seconds() < 60, f"refunded {late} after the deadline"
    assert i["refunded_minor"] == i["paid_minor"] == ignored["quote"]["deposit_minor"]
    runs.wait_for_state(i["flow_run_id"], {"Completed"}, timeout=120)
    texts = [
        m["template"]
        for m in group_kakao.sent_to(i["contact"]["mobile"])
        if ignored["order_no"] in m["key"]
    ]
    assert texts.count("REFUND_EXPIRED_REFUNDED") == 1
    ops = httpx.get(
        f"{sandbox['services']['admin']['url']}/mailboxes/ops@travelops.example.com", timeout=5
    ).json()
    reminders = [m for m in ops if ignored["order_no"] in m["subject"]]
    # 50 % always reminds; 90 % may find the order refunded already on a busy machine
    assert any("remind-50" in m["subject"] for m in reminders)
    sla_runs = runs.flow_runs(
        names=[f"{ignored['order_no']}-{p}" for p in ("remind-50", "remind-90", "deadline")]
    )
    assert len(sla_runs) == 3


def test_a_lost_wake_up_is_caught_by_the_safety_net(
    served: str, group_intake: str, group_pg: Any, sandbox: dict[str, Any]
) -> None:
    """The deposit is recorded but its wake-up is lost (the intake died between the two): the
    every-minute `wake-paid-group-orders` run resumes the waiting run, and the order confirms."""
    placed = _order(group_intake)
    order_no = placed["order_no"]
    run_id, deposit = _open_deposit_and_wait(group_intake, order_no)
    _record_deposit_without_wake_up(order_no, deposit, "webhook recorded; wake-up lost")
    time.sleep(3)
    assert runs.flow_run(run_id).state.name == "AwaitingDeposit"  # type: ignore[union-attr]
    assert _sweep()["woken"] >= 1
    _wait_status(group_intake, order_no, {"balance_due"}, timeout=120)
    runs.wait_for_state(run_id, {"Completed"}, timeout=120)


def test_a_run_that_crashed_on_the_way_is_run_again_without_doing_anything_twice(
    served: str, group_intake: str, group_pg: Any, group_kakao: Any, sandbox: dict[str, Any]
) -> None:
    """The run's process dies on the way (its state ends Crashed, the order stays `confirmed`):
    the safety net reruns it from the top; the balance is requested once and each traveller gets
    one voucher."""
    from prefect.client.orchestration import get_client
    from prefect.states import Crashed

    from tasks.group_orders import set_status

    placed = _order(group_intake)
    order_no = placed["order_no"]
    run_id, deposit = _open_deposit_and_wait(group_intake, order_no)
    with get_client(sync_client=True) as client:  # the process is gone; the server marks it
        client.set_flow_run_state(UUID(run_id), Crashed(message="worker killed"), force=True)
    # it had recorded the deposit and confirmed the order
    _record_deposit_without_wake_up(order_no, deposit, "recorded before the crash")
    for status in ("auto_confirmed", "confirmed"):
        assert set_status(order_no, status, reason="before the crash")
    time.sleep(2)
    assert _status(group_intake, order_no)["status"] == "confirmed"
    _sweep()
    order = _wait_status(group_intake, order_no, {"balance_due"}, timeout=120)
    runs.wait_for_state(run_id, {"Completed"}, timeout=120)
    assert order["paid_minor"] == placed["quote"]["deposit_minor"]
    balance = [
        p for p in group_pg_payments(group_pg, order_no) if p["orderName"].startswith("단체 잔금")
    ]
    assert len(balance) == 1
    assert _vouchers_sent(order, group_kakao) == len(order["travellers"])


def _open_deposit_and_wait(intake: str, order_no: str) -> tuple[str, dict[str, Any]]:
    """Open the deposit; once the order's run waits for it, return the run id and the deposit."""
    r = httpx.post(f"{intake}/orders/{order_no}/deposit", timeout=30)
    assert r.status_code == 200, r.text
    run_id = str(_status(intake, order_no)["flow_run_id"])
    runs.wait_for_state(run_id, {"AwaitingDeposit"}, timeout=120)
    return run_id, dict(r.json())


def _record_deposit_without_wake_up(order_no: str, deposit: dict[str, Any], reason: str) -> None:
    """Record the deposit as the webhook would, but never wake the order's run."""
    from tasks.group_orders import set_status
    from tasks.group_payments import mark_paid

    now = datetime.now(UTC)
    assert mark_paid(deposit["payment_key"], now, deposit["deposit_minor"])["newly_paid"]
    values = {"deposit_paid_at": now, "deadline_at": now + timedelta(hours=24)}
    assert set_status(order_no, "deposit_paid", reason=reason, values=values)


def _sweep() -> dict[str, Any]:
    """Run the safety net now, over every order however recently it was paid."""
    from prefect.deployments import run_deployment

    sweep = run_deployment(
        "wake-paid-group-orders/wake-paid-group-orders",
        parameters={"older_than_seconds": 0},
        timeout=120,
    )
    assert sweep.state is not None
    assert sweep.state.is_completed()
    return dict(sweep.state.result())


def group_pg_payments(pg: Any, order_no: str) -> list[dict[str, Any]]:
    return [p for p in pg_payments(pg.base_url) if str(p["orderId"]).startswith(order_no)]
