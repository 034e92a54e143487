"""Direct-contract hotels paid by virtual card (spec/hotel-vcc.md), one run per booking.

`issue-hotel-vcc` reads like the spec's steps. Every wait (the hotel's FX e-mail, the hotel's
reply, an ops decision, the charge) suspends the run in a named state and frees the worker; the
`watch-hotel-mailbox` run (every 5 minutes) records what arrived and resumes it. A resumed run
starts again from the top: each task returns what is already done instead of doing it twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from prefect import flow
from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact
from prefect.client.orchestration import get_client
from prefect.context import FlowRunContext
from prefect.exceptions import Pause
from prefect.input import RunInput, keyset_from_paused_state
from prefect.input.run_input import run_input_subclass_from_type
from prefect.runtime import flow_run
from prefect.states import Paused
from prefect.utilities.engine import propose_state

from domain import hotels as dom
from flows._clients import one_sync_client
from tasks.hotels import (
    booking_rows,
    check_availability,
    close_booking,
    finish_charge,
    fix_card_amount,
    issue_card,
    price_booking,
    read_booking,
    record_confirmation,
    record_ops_decision,
    record_sale_review,
    register_booking,
    registered_booking,
    send_hotel_mail,
    set_status,
    set_waiting,
    today_kst,
    vnd_rate_today,
)
from tasks.hotels_voucher import send_voucher
from tasks.hotels_watch import (
    RERUN_LIMIT,
    chase_hotels,
    list_quarantine,
    poll_charges,
    read_replies,
    wake_runs,
)


class OpsDecision(RunInput):
    """What ops decide when a hotel has not answered within its reply limit."""

    action: Literal["resend", "confirm", "cancel"]
    confirmation_no: str = ""
    note: str = ""


class SaleReview(RunInput):
    """What ops decide when the traveller's payment does not match the hotel's total."""

    action: Literal["proceed", "cancel"]
    note: str = ""


async def wait_in_state(name: str, key: str, wait_for_input: Any = None) -> Any:
    """Suspend this run in a state called `name` (frees the worker); on resume, return input.

    `suspend_flow_run` with a state name: the same Paused(reschedule=True) state the library
    proposes, named for the dashboard. The same `key` after a resume returns at once (the
    server refuses a second pause with a used key), with the input given at resume.
    """
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        raise RuntimeError("wait_in_state is for flow runs")
    run_id = context.flow_run.id
    proposed = Paused(name=name, reschedule=True, pause_key=key)
    keyset = None
    model = None
    if wait_for_input is not None:
        model = run_input_subclass_from_type(wait_for_input)
        keyset = keyset_from_paused_state(proposed)
        proposed.state_details.run_input_keyset = keyset
    async with get_client() as client:
        state = await propose_state(client=client, state=proposed, flow_run_id=run_id)
        if state.is_running():
            return await model.aload(keyset) if model is not None and keyset else None
        if not state.is_paused():
            raise RuntimeError(f"cannot suspend in {name}: the server answered {state.name}")
        if model is not None and keyset is not None:
            await model.asave(keyset)
    from prefect._flow_run_suspension import mark_flow_run_suspension_requested

    mark_flow_run_suspension_requested(run_id, state)
    raise Pause(state=state)


async def wait_until(
    no: str, waiting: str, state: str, key: str, ready: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """Wait suspended in `state` until `ready(booking)`; return the booking.

    Resumed without the awaited event (a stale wake-up), the run waits again under the next key
    (`key-1`, `key-2`…): a used pause key returns at once, so a re-execution walks past the keys
    already used and stops at the first one that is not — or goes on, once the event is there.
    """
    b = read_booking(no)
    attempt = 0
    while not ready(b):
        set_waiting(no, waiting)
        await wait_in_state(state, key if attempt == 0 else f"{key}-{attempt}")
        attempt += 1
        b = read_booking(no)
    return b


def _settled(rnd: int) -> Callable[[dict[str, Any]], bool]:
    """Round `rnd` of the booking sheet is settled: the hotel answered, or its limit passed."""
    return lambda b: bool(b["reply"]) or b["timed_out_round"] == rnd


async def _summary(booking_no: str) -> dict[str, Any]:
    b = read_booking(booking_no)
    await acreate_markdown_artifact(
        key=f"hotel-{booking_no.lower()}",
        markdown=(
            f"### {booking_no} — {dom.status_label(b['status'])}\n\n"
            f"| | |\n|---|---|\n| hotel | {b['hotel_code']} |\n"
            f"| confirmation | {b['confirmation_no'] or '—'} |\n"
            f"| reason | {b['status_reason'] or '—'} |\n"
            + (f"| refund | {b['refund']['status']} |\n" if b["refund"] else "")
        ),
        description=f"hotel booking {booking_no}",
    )
    return {
        "booking_no": booking_no,
        "status": b["status"],
        "reason": b["status_reason"],
        "confirmation_no": b["confirmation_no"],
        "refund": (b["refund"] or {}).get("status"),
    }


async def _sale_review(no: str, sale: dict[str, Any], run_id: str | None) -> bool:
    """Step 3's stop: the run waits for ops (needs_review). Proceed → True; cancel → refund."""
    set_waiting(no, "sale_review")
    form = SaleReview.with_initial_data(
        description=f"**{no}**: the traveller paid {sale['paid']}; the hotel's total is "
        f"{sale['total']} (supply cost {sale['supply_cost_krw']}, difference "
        f"{sale['difference_krw']}). Proceed with the booking, or cancel it (full refund).",
        action="proceed",
    )
    decision = await wait_in_state("AwaitingOpsDecision", "sale-review", form)
    applied = record_sale_review(no, decision.model_dump(include={"action", "note"}), run_id)
    if applied["action"] == "cancel":
        reason = f"ops cancelled (sale check): {applied.get('note') or sale['reason']}"
        close_booking(no, dom.CANCELLED, reason, run_id)
        return False
    return True


@flow(
    name="issue-hotel-vcc",
    flow_run_name="{booking[booking_no]}",
    persist_result=True,
    description="One direct-contract hotel booking, from the traveller's payment to the charge.",
)
@one_sync_client
async def issue_hotel_vcc(booking: dict[str, Any]) -> dict[str, Any]:
    """Steps 1–14 of spec/hotel-vcc.md for one booking."""
    run_id = str(flow_run.id) if flow_run.id else None
    b = registered_booking(booking, run_id) or register_booking(booking, run_id)  # 1. intake
    no = b["booking_no"]
    if b["flow_run_id"] and run_id and b["flow_run_id"] != run_id:
        return {"booking_no": no, "status": b["status"], "note": f"run {b['flow_run_id']} has it"}
    if b["terminal"]:
        return await _summary(no)
    if b["waiting_for"] == "charge":  # resumed for the charge: steps 1–12 are done
        return await _charge(no, run_id)

    if b["status"] == dom.RECEIVED or b["waiting_for"] == "sale_review":
        sale = price_booking(no, run_id)  # 2–3. rate and sale check
        if not sale["ok"] and not await _sale_review(no, sale, run_id):
            return await _summary(no)  # cancelled by ops: nothing went to the hotel
        if b["room_chart"]:  # 4. room chart
            room = check_availability(no)
            if not room["available"]:
                close_booking(no, dom.SOLD_OUT, f"room chart: {room['reason']}", run_id)
                return await _summary(no)
    elif b["status"] == dom.NEEDS_REVIEW and b["waiting_for"] is None and not b["reply"]:
        return await _summary(no)

    if b["vnd"] and not b["card_amount"]:  # 6. VND: today's rate from the hotel's FX e-mail
        today = today_kst().isoformat()  # a new day: wait for that day's e-mail
        await wait_until(no, "hotel_fx", "AwaitingHotelFx", f"hotel-fx-{today}",
                         lambda _b: vnd_rate_today(no) is not None)  # fmt: skip
    if not b["card_amount"]:
        fix_card_amount(no)

    if b["inquiry_first"]:  # 7. inquiry-first hotels
        if not b["inquiry_sent"]:  # a re-execution after the wait finds it sent
            send_hotel_mail(no, "inquiry", 1, run_id)
        b = await wait_until(no, "inquiry", "AwaitingHotelReply", "inquiry",
                             lambda b: bool(b["inquiry"]))  # fmt: skip
        if b["inquiry"]["answer"] == "declined":
            close_booking(no, dom.SOLD_OUT, "hotel: no rooms (inquiry)", run_id)
            return await _summary(no)

    while True:  # 7–8. booking sheet, wait for the reply; ops decide at the limit
        b = read_booking(no)
        rnd = b["round"]
        if b["sheet_round"] < rnd:  # a re-execution after the wait finds this round sent
            send_hotel_mail(no, "sheet", rnd, run_id)
        b = await wait_until(
            no, "hotel_reply", "AwaitingHotelReply", f"hotel-reply-{rnd}", _settled(rnd)
        )
        if b["reply"]:
            break
        set_waiting(no, "ops")
        form = OpsDecision.with_initial_data(
            description=f"**{no}**: the hotel has not answered (round {rnd}). Resend the sheet, "
            "mark it confirmed with the hotel's confirmation number, or cancel (refund).",
            action="resend",
        )
        decision = await wait_in_state("AwaitingOpsDecision", f"ops-decision-{rnd}", form)
        if read_booking(no)["reply"]:  # the hotel answered late, before ops decided: it counts
            break
        applied = record_ops_decision(
            no, rnd, decision.model_dump(include={"action", "confirmation_no", "note"})
        )
        if applied["action"] == "cancel":
            close_booking(
                no, dom.CANCELLED, f"ops cancelled: {applied.get('note') or 'no reply'}", run_id
            )
            return await _summary(no)
        if applied["action"] == "confirm":
            record_confirmation(no, applied["confirmation_no"], "ops")
            break

    b = read_booking(no)
    reply = b["reply"] or {}
    if reply.get("kind") == "declined":  # 8. decline → sold out
        close_booking(no, dom.SOLD_OUT, f"hotel declined: {reply.get('reason')}", run_id)
        return await _summary(no)
    if reply.get("confirmation_no"):
        record_confirmation(no, reply["confirmation_no"], "hotel reply")

    issue_card(no)  # 9–10. exactly one card, stored encrypted; its TMC fee
    if b["split_delivery"]:  # 11. split or combined delivery
        send_hotel_mail(no, "details", 1, run_id)
    send_hotel_mail(no, "card", 1, run_id)

    send_voucher(no, run_id)  # 12. voucher: stamp, redact, chat
    if read_booking(no)["status"] == dom.CONFIRMING:
        set_status(no, dom.AWAITING_CHARGE, "card sent; waiting for the hotel's charge", run_id)

    return await _charge(no, run_id)


async def _charge(no: str, run_id: str | None) -> dict[str, Any]:
    """Steps 13–14: wait for the hotel's charge (or the card's expiry), then reconcile."""
    await wait_until(no, "charge", "AwaitingCharge", "charge", lambda b: bool(b["charge"]))
    finish_charge(no, run_id)
    return await _summary(no)


@flow(name="watch-hotel-mailbox", description="One pass: replies, reminders, charges, resumes.")
@one_sync_client
async def watch_hotel_mailbox() -> dict[str, Any]:
    """Match hotel replies to bookings, chase silent hotels, poll charges, wake waiting runs."""
    replies = read_replies()
    chased = chase_hotels()
    charges = poll_charges()
    woken = wake_runs()
    quarantine = list_quarantine()
    lines = [
        "### Hotel desk mailbox",
        "",
        f"read {replies['read']} · matched {len(replies['matched'])} · FX {len(replies['fx'])}"
        f" · quarantined now {len(replies['quarantined'])} · reminders {len(chased['reminded'])}"
        f" · escalated {len(chased['escalated'])} · charged {len(charges['charged'])}"
        f" · expired {len(charges['expired'])} · runs resumed {len(woken['woken'])}"
        f" · runs rerun {len(woken['rerun'])}",
        "",
        *(
            [
                f"#### Broken runs ({len(woken['broken'])}): failed {RERUN_LIMIT} times, "
                "retry in the UI once the cause is mended",
                "",
                *(f"- {no}" for no in woken["broken"]),
                "",
            ]
            if woken["broken"]
            else []
        ),
        f"#### Quarantine ({len(quarantine)}): replies that match no open booking",
        "",
        "| from | subject | date |",
        "|---|---|---|",
        *(f"| {q['from']} | {q['subject']} | {q['date']} |" for q in quarantine),
    ]
    await acreate_markdown_artifact(
        key="hotel-mailbox",
        markdown="\n".join(lines) + "\n",
        description="last mailbox pass and the quarantine",
    )
    return {
        "replies": replies,
        "chased": chased,
        "charges": charges,
        "woken": woken,
        "quarantine": len(quarantine),
    }


@flow(name="report-open-hotel-bookings", description="Daily table of open hotel bookings.")
@one_sync_client
async def report_open_hotel_bookings() -> dict[str, Any]:
    """Open bookings by status and age; hotels past their reply limit stand out."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from travelops.settings_hotels import hotel_settings

    now = datetime.now(UTC)
    rows = dom.open_bookings_table(booking_rows(), now, hotel_settings().day)
    kst = now.astimezone(ZoneInfo("Asia/Seoul"))
    await acreate_markdown_artifact(
        key="hotel-open-bookings-summary", markdown=dom.render_open_bookings(rows, kst)
    )
    await acreate_table_artifact(
        key="hotel-open-bookings",
        table=[
            {
                "overdue": "🔴 OVERDUE" if r.overdue else "",
                "booking": r.booking_no,
                "hotel": r.hotel_code,
                "status": dom.status_label(r.status),
                "age_days": str(r.age_days),
                "reply_limit_days": r.reply_limit_days,
            }
            for r in rows
        ],
        description=f"Open hotel bookings on {kst:%Y-%m-%d} (KST)",
    )
    return {"open": len(rows), "overdue": sum(r.overdue for r in rows)}
