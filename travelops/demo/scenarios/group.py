"""Group bookings: one order of each colour, plus a yellow one nobody answers (SLA in seconds)."""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from travelops.demo import DemoContext, Scenario, ScenarioResult

SLA_SECONDS = 240  # the SLA (24 h in production) scaled for the demo


def _wait_paused(run_id: str, state_name: str, timeout: float) -> bool:
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            run = client.read_flow_run(UUID(run_id))
            if run.state is not None and run.state.name == state_name:
                return True
            time.sleep(0.5)
    return False


def run(ctx: DemoContext) -> ScenarioResult:
    from prefect.flow_runs import resume_flow_run

    from travelops.group_client import IntakeClient, order_payload, running_intake

    pg_url = ctx.service_url("group_pg")
    with running_intake(pg_url, ctx.home / "logs") as intake:
        c = IntakeClient(intake, pg_url)
        green = c.place(order_payload(tag=1))
        red = c.place(order_payload(days_ahead=3, tag=2))
        yellow_kw: dict[str, Any] = {
            "product": "TONGYEONG-WISH-3D",
            "options": ("WISH-LIGHT", "WISH-EXPERIENCE", "WISH-THIRD"),
        }
        yellow = c.place(order_payload(**yellow_kw, tag=3))
        ignored = c.place(order_payload(**yellow_kw, tag=4))
        red_deposit = c.request_deposit(red["order_no"])
        deposits = {
            o["order_no"]: c.request_deposit(o["order_no"]) for o in (green, yellow, ignored)
        }
        for d in deposits.values():
            c.pay(d["payment_key"])
        # 🟢 confirmed within seconds; the customer then pays the balance
        g = c.wait_status(green["order_no"], {"balance_due"}, 180)
        balance = [
            p
            for p in c.http.get(f"{pg_url}/_sandbox/payments").json()
            if p["orderId"] == f"{green['order_no']}-B"
        ]
        if balance:
            c.pay(balance[0]["paymentKey"])
            g = c.wait_status(green["order_no"], {"paid_in_full"}, 120)
        # 🟡 ops approve one in the form (here: by API, as the UI's Resume button would)
        y = c.wait_status(yellow["order_no"], {"awaiting_ops"}, 180)
        approved = False
        if y.get("flow_run_id") and _wait_paused(y["flow_run_id"], "AwaitingOpsDecision", 180):
            resume_flow_run(
                UUID(y["flow_run_id"]),
                run_input={
                    "action": "approve",
                    "decided_by": "demo.ops",
                    "final_prices": {
                        "option:WISH-LIGHT": 19000,
                        "option:WISH-EXPERIENCE": 35000,
                        "option:WISH-THIRD": 25000,
                    },
                },
            )
            approved = True
        y = c.wait_status(yellow["order_no"], {"balance_due", "paid_in_full"}, 240)
        # 🟡 nobody answers → refunded in full at the deadline
        i = c.wait_status(ignored["order_no"], {"expired_refunded"}, SLA_SECONDS + 180)
        deadline = time.monotonic() + 60
        while i["refunded_minor"] < i["paid_minor"] and time.monotonic() < deadline:
            time.sleep(0.5)  # the refund follows the status change
            i = c.order(ignored["order_no"])
        final = {o["order_no"]: c.order(o["order_no"]) for o in (green, red, yellow, ignored)}
        metrics = c.http.get(f"{intake}/metrics").json()
    statuses = {no: f"{o['light']} → {o['status']}" for no, o in final.items()}
    ok = (
        g["status"] == "paid_in_full"
        and final[red["order_no"]]["status"] == "blocked"
        and red_deposit["status_code"] == 409
        and approved
        and y["status"] in ("balance_due", "paid_in_full")
        and i["status"] == "expired_refunded"
        and i["refunded_minor"] == i["paid_minor"] > 0
    )
    return ScenarioResult(
        ok=ok,
        statuses=statuses,
        counts={
            "orders": len(final),
            "paid_krw": sum(o["paid_minor"] for o in final.values()),
            "refunded_krw": sum(o["refunded_minor"] for o in final.values()),
            "quote_p95_ms": metrics.get("p95_ms"),
        },
        details={
            no: {
                k: o[k]
                for k in (
                    "light",
                    "status",
                    "light_reasons",
                    "paid_minor",
                    "refunded_minor",
                    "deadline_at",
                    "flow_run_id",
                )
            }
            for no, o in final.items()
        },
        error=None if ok else f"unexpected final states: {statuses}",
    )


SCENARIO = Scenario(
    name="group-booking",
    description=(
        "group orders: 🟢 auto-confirm + balance, 🔴 blocked, 🟡 approved, 🟡 unanswered → refund"
    ),
    run=run,
    env={"TRAVELOPS_GROUP_SLA_SECONDS": str(SLA_SECONDS)},
)
