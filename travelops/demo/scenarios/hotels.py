"""Hotel VCC scenario: one booking per hotel type through the served deployments and the sandbox.

Plain, room chart sold out, VND (waits for the hotel's FX e-mail), split delivery, a slow hotel
that answers only after the reminder, and a hotel that declines. Every traveller paid through the
sandbox PG; the two sold-out bookings are refunded there. The mailbox watcher runs on its
schedule (every few seconds here); the scenario only starts the runs, sends the VND hotel's FX
e-mail once that run waits for it, and reads the outcome.
"""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

import httpx

from travelops.demo import DemoContext, Scenario, ScenarioResult

DEPLOYMENT = "issue-hotel-vcc/issue-hotel-vcc"
WATCHER = "watch-hotel-mailbox/watch-hotel-mailbox"
TWO = [{"name": "KIM MINJI"}, {"name": "LEE JUNHO"}]


def _bookings(stamp: str) -> dict[str, dict[str, Any]]:
    base = {
        "check_in": "2027-03-10",
        "check_out": "2027-03-13",
        "guests": TWO,
        "paid_currency": "KRW",
        "paid_at": "2026-11-20T03:00:00+00:00",
        "breakfast": False,
    }
    return {
        "plain": {**base, "hotel_code": "GUM-HBR", "room_type": "DLX", "paid_amount": "754000"},
        "room-chart-sold-out": {
            **base,
            "hotel_code": "SPN-CRL",
            "room_type": "STD",
            "check_in": "2027-02-13",
            "check_out": "2027-02-15",
            "paid_amount": "335000",
        },
        "vnd": {**base, "hotel_code": "DAD-LTS", "room_type": "SUP", "paid_amount": "356000"},
        "split-delivery": {
            **base,
            "hotel_code": "HNL-SOL",
            "room_type": "GDN",
            "paid_amount": "1110000",
        },
        "slow-hotel": {
            **base,
            "hotel_code": "SPN-SLW",
            "room_type": "STD",
            "paid_amount": "398000",
        },
        "declined": {**base, "hotel_code": "KOA-SNS", "room_type": "KNG", "paid_amount": "833000"},
    }


def run(ctx: DemoContext) -> ScenarioResult:
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    from db.models.hotels import HotelBooking, VirtualCard
    from db.session import session_scope
    from sandbox.group_pg import list_payments, record_paid_payment

    hotels_url = ctx.service_url("hotels")
    stamp = f"{int(time.time()) % 1_000_000:06d}"
    docs = _bookings(stamp)
    numbers = {name: f"BK-2026112{i}-{stamp}" for i, name in enumerate(docs)}
    behaviour = {
        "plain": {"style": "en_formal"},
        "vnd": {"style": "en_short"},
        "split-delivery": {"style": "en_forwarded"},
        "slow-hotel": {"mode": "slow", "style": "ko_quoted"},
        "declined": {"mode": "decline", "style": "ko"},
    }
    for name, cfg in behaviour.items():
        httpx.post(
            f"{hotels_url}/behaviour",
            json={"key": numbers[name], "delay_seconds": 1, "charge_delay_seconds": 1, **cfg},
            timeout=10,
        ).raise_for_status()
    pg_url = ctx.service_url("group_pg")
    payment_keys = {}
    for name, doc in docs.items():  # the travellers paid in the web shop, through the PG
        payment_keys[name] = record_paid_payment(
            pg_url, f"{numbers[name]}-H", int(doc["paid_amount"]), doc["guests"][0]["name"]
        )
    run_ids = {}
    for name, doc in docs.items():
        flow_run = run_deployment(
            DEPLOYMENT,
            parameters={
                "booking": {**doc, "booking_no": numbers[name], "payment_key": payment_keys[name]}
            },
            timeout=0,
            idempotency_key=numbers[name],
        )
        run_ids[name] = flow_run.id
    fx_sent = False
    passes = 0
    states: dict[str, str] = {}
    seen: dict[str, list[str]] = {name: [] for name in docs}
    deadline = time.monotonic() + 900  # a loaded 2-core machine needs minutes per resume
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            for name, rid in run_ids.items():
                run = client.read_flow_run(UUID(str(rid)))
                states[name] = run.state.name if run.state else "?"
                if not seen[name] or seen[name][-1] != states[name]:
                    seen[name].append(states[name])
            if not fx_sent and states["vnd"] == "AwaitingHotelFx":
                httpx.post(
                    f"{hotels_url}/fx-email",
                    json={"hotel_code": "DAD-LTS", "rate": "25410.5"},
                    timeout=10,
                ).raise_for_status()
                fx_sent = True
            if all(s in ("Completed", "Failed", "Crashed", "Cancelled") for s in states.values()):
                break
            # One pass of the watcher deployment, as its 5-minute schedule would start it (the
            # scenario does not rely on the server's scheduler service to fire within seconds).
            watcher = run_deployment(WATCHER, timeout=120)
            passes += 1
            if watcher.state is None or not watcher.state.is_completed():
                time.sleep(1)  # skipped (a scheduled pass is running): no busy loop meanwhile
    with session_scope() as s:
        final = {name: s.get(HotelBooking, no) for name, no in numbers.items()}
        statuses = {numbers[n]: (b.status if b else "missing") for n, b in final.items()}
        cards = {
            numbers[n]: s.query(VirtualCard).filter_by(booking_no=numbers[n]).count() for n in docs
        }
    expected = {
        "plain": "completed",
        "room-chart-sold-out": "sold_out",
        "vnd": "completed",
        "split-delivery": "completed",
        "slow-hotel": "completed",
        "declined": "sold_out",
    }
    got = {name: statuses[numbers[name]] for name in docs}
    refunded = {p["paymentKey"] for p in list_payments(pg_url) if p["status"] == "CANCELED"}
    refunds = {name for name, key in payment_keys.items() if key in refunded}
    ok = (
        got == expected
        and all(s == "Completed" for s in states.values())
        and refunds == {name for name, st in expected.items() if st == "sold_out"}
    )
    return ScenarioResult(
        ok=ok,
        statuses=statuses,
        counts={
            "bookings": len(docs),
            "cards": sum(cards.values()),
            "sold_out": sum(v == "sold_out" for v in got.values()),
            "completed": sum(v == "completed" for v in got.values()),
            "refunded_through_pg": len(refunds),
        },
        details={"run_states": seen, "expected": expected},
        error=None if ok else f"statuses {got} / runs {states}",
    )


SCENARIO = Scenario(
    name="hotels",
    description="issue-hotel-vcc: plain, room chart sold out, VND, split delivery, slow, declined",
    run=run,
    env={"TRAVELOPS_HOTELS_DAY_SECONDS": "10", "TRAVELOPS_HOTELS_CARD_LEASE_SECONDS": "10"},
    intervals={"watch-hotel-mailbox": 300},
)
