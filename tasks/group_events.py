"""What happens when the payment gateway reports a payment, and how the order's run is woken.

Shared by the intake API (webhooks) and by the flows; idempotent everywhere: a replayed or
duplicated event changes nothing that is already recorded.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from domain.group import sla_plan
from tasks.group_orders import load_order, set_status
from tasks.group_payments import confirm_payment, load_gateway, mark_paid
from tasks.once import Outcome, perform_once
from travelops.settings_group import group_settings

log = logging.getLogger("travelops.group.events")

DEPOSIT_PAUSE_KEY = "deposit"


def handle_pg_event(event: dict[str, Any]) -> dict[str, Any]:
    """Process one verified webhook event once per event id; replays answer `replayed`."""
    event_id = str(event.get("eventId") or "")
    if not event_id:
        return {"ignored": "no eventId"}
    outcome = perform_once(
        f"pg-webhook:{event_id}", "pg.webhook", lambda _k: Outcome(None, _process(event))
    )
    return {**outcome.result, "replayed": outcome.replayed}


def _process(event: dict[str, Any]) -> dict[str, Any]:
    p = event.get("data") or {}
    status = p.get("status")
    if status == "IN_PROGRESS":  # authorised in the payment window: confirm the amount we asked
        done = confirm_payment(p["paymentKey"], p["orderId"], int(p["totalAmount"]))
        return payment_done(p["paymentKey"], int(p["totalAmount"]), done["status"])
    if status == "DONE":
        return payment_done(p["paymentKey"], int(p["totalAmount"]), "DONE")
    return {"ignored": f"status {status}"}


def payment_done(payment_key: str, amount: int, status: str) -> dict[str, Any]:
    """Record a DONE payment and move the order: deposit → deposit_paid (+ deadline), balance →
    paid_in_full; then wake the order's run."""
    if status != "DONE":
        return {"ignored": f"status {status}"}
    now = datetime.now(UTC)
    paid = mark_paid(payment_key, now, amount)
    if paid is None:
        return {"ignored": "unknown payment"}
    order_no = paid["order_no"]
    if paid["kind"] == "deposit":
        # The confirm call and the gateway's webhook both report the same payment: the second
        # report moves nothing (and records no refusal), unless the first crashed before the move.
        if paid["newly_paid"] or load_order(order_no)["status"] == "quoted":
            plan = sla_plan(now, timedelta(seconds=group_settings().sla_seconds))
            set_status(
                order_no,
                "deposit_paid",
                reason=f"deposit {payment_key}",
                values={"deposit_paid_at": now, "deadline_at": plan.deadline},
                idempotent=True,
            )
        wake_for_deposit(order_no)
    elif paid["newly_paid"] or load_order(order_no)["status"] in ("balance_due", "confirmed"):
        set_status(
            order_no,
            "paid_in_full",
            reason=f"balance {payment_key}",
            allowed_from=["balance_due", "confirmed"],
            idempotent=True,
        )
    return {"order_no": order_no, "kind": paid["kind"], "status": load_order(order_no)["status"]}


def _paused_on(run: Any, key: str) -> bool:
    state = run.state
    return bool(state and state.is_paused() and state.state_details.pause_key == key)


def wake_for_deposit(order_no: str, wait_seconds: float = 120.0) -> None:
    """Resume the order's run waiting for its deposit; if it has not reached the wait yet,
    keep trying in the background until it does or has moved on."""
    if _try_resume(order_no):
        return
    thread = threading.Thread(
        target=_keep_trying, args=(order_no, wait_seconds), daemon=True, name=f"wake-{order_no}"
    )
    thread.start()


def _keep_trying(order_no: str, wait_seconds: float) -> None:
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        time.sleep(0.5)
        try:
            if _try_resume(order_no):
                return
        except Exception:  # a transient API error: try again until the deadline
            log.exception("resuming %s", order_no)


def _rerun_if_it_broke(order_no: str, run: Any) -> bool:
    """A run that crashed or failed while its order is still on the way (paid, not yet through
    its balance request) runs again from the top: each step it had done comes back from the
    database or the provider's idempotency key, nothing is done twice."""
    from tasks.scheduling import restart_run

    if run.state is None or not run.state.is_final() or run.state.is_completed():
        return False
    restart_run(str(run.id))
    log.warning("%s: its run ended %s before the order was through; rerun", order_no, run.state)
    return True


def _try_resume(order_no: str) -> bool:
    """True when nothing more is needed (resumed, or the run is past the deposit wait)."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import NotPausedError
    from prefect.flow_runs import resume_flow_run

    from tasks.group_orders import attach_flow_run

    order = load_order(order_no)
    if order["status"] != "deposit_paid":
        return True
    if not order["flow_run_id"]:  # its run could not be started when the deposit was opened
        attach_flow_run(order_no, start_order_run(order_no))  # starts past the deposit wait
        return True
    run_id = UUID(order["flow_run_id"])
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
    if run.state is not None and run.state.is_final():
        _rerun_if_it_broke(order_no, run)
        return True
    if not _paused_on(run, DEPOSIT_PAUSE_KEY):
        return False
    try:
        resume_flow_run(run_id, run_input={"paid": True})
    except NotPausedError:
        return False
    return True


def wake_stalled_orders(older_than_seconds: float = 60.0) -> dict[str, int]:
    """The safety net under the webhook's wake-up: orders paid more than `older_than_seconds` ago
    whose run still waits for the deposit (the wake-up was lost: the API was down, the intake
    restarted) are resumed, orders whose run was never started get one, and a run that crashed
    or failed before its order was through runs again."""
    from sqlalchemy import select

    from db.models.group import GroupOrder
    from db.session import session_scope
    from tasks.scheduling import read_runs

    cutoff = datetime.now(UTC) - timedelta(seconds=older_than_seconds)
    with session_scope() as s:
        rows = s.execute(
            select(GroupOrder.order_no, GroupOrder.status, GroupOrder.flow_run_id).where(
                GroupOrder.status.in_(["deposit_paid", "auto_confirmed", "confirmed"]),
                GroupOrder.deposit_paid_at <= cutoff,
            )
        ).all()
    # confirmed on the way: only a run that broke needs anything
    runs = read_runs(run_id for _, status, run_id in rows if status != "deposit_paid" and run_id)
    stalled = woken = 0
    for order_no, status, run_id in rows:
        try:
            if status == "deposit_paid":
                stalled += 1
                woken += bool(_try_resume(order_no))
            elif run_id in runs and _rerun_if_it_broke(order_no, runs[run_id]):
                stalled += 1
                woken += 1
        except Exception:  # one order's API error must not stop the others; the next pass retries
            log.exception("waking %s", order_no)
    return {"stalled": stalled, "woken": woken}


def start_order_run(order_no: str) -> str:
    """The order's `confirm-group-booking` run (one per order: idempotency key)."""
    from prefect.deployments import run_deployment

    run = run_deployment(
        group_settings().deployment,
        parameters={"order_no": order_no},
        flow_run_name=order_no,
        idempotency_key=f"confirm-group-booking:{order_no}",
        timeout=0,
        as_subflow=False,
    )
    return str(run.id)


def pg_checkout(payment_key: str) -> str:
    return f"{load_gateway().base_url.rstrip('/')}/v1/sandbox/checkout/{payment_key}"
