"""Group bookings: confirm within the SLA or refund in full (spec/group-booking.md).

- `confirm-group-booking` (run name = order number): waits, suspended, for the deposit; routes on
  the traffic light: 🔴 refund at once, 🟢 confirm, 🟡 wait suspended in `AwaitingOpsDecision`
  for the ops form (approve with v1 prices / propose an alternative / reject); then the
  confirmation, documents, fees, balance request and gift vouchers.
- `enforce-group-sla`: scheduled runs at 50 % and 90 % of the SLA (ops reminders) and at the
  deadline (automatic full refund, customer notified, the waiting run woken).
- `send-group-vouchers`: a scheduled run on the product's voucher trigger (departure, event end).

A suspended run re-executes from the top when resumed: every step below is idempotent (database
compare-and-set on the order's status, `perform_once` on every external effect).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any, Literal, TypeVar

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.input import RunInput
from prefect.runtime import flow_run
from pydantic import Field

from domain.calendar import SEOUL
from domain.errors import InvalidInput
from domain.group import (
    CONFIRMED_STATES,
    LIGHT_EMOJI,
    REFUNDED_STATES,
    balance_for,
    confirm_quote,
    countdown,
    deadline_run_lead,
    plan_vouchers,
    route_order,
    sla_plan,
)
from domain.money import Money
from tasks.group_data import load_catalog
from tasks.group_docs import pdf_attachments, write_documents
from tasks.group_events import wake_stalled_orders
from tasks.group_notify import notify_customer, plan_voucher_rows, send_gift_vouchers
from tasks.group_orders import (
    load_order,
    load_quote,
    refuse_decision,
    refuse_late_decision,
    refused_decisions,
    request_of,
    set_status,
    store_confirmed_quote,
)
from tasks.group_payments import refund_order, request_balance
from tasks.mail import send_email
from tasks.scheduling import resume_run, schedule_flow_run
from travelops.settings import core_settings
from travelops.settings_group import group_settings

T = TypeVar("T", bound=RunInput)

DEPOSIT_KEY = "deposit"
DECISION_KEY = "ops-decision"


class DepositPaid(RunInput):
    """What the payment webhook resumes the run with."""

    paid: bool = True


class OpsDecision(RunInput):
    """The ops form of a 🟡 order (Prefect UI → Resume)."""

    action: Literal["approve", "propose_alternative", "reject"] = Field(
        description="approve with the final v1 prices / propose an alternative / reject"
    )
    final_prices: dict[str, int] = Field(
        default_factory=dict,
        description='KRW per unit for items still at v0, e.g. {"option:WISH-THIRD": 25000}',
    )
    alternative: str = Field(default="", description="The alternative offered to the customer.")
    note: str = Field(default="", description="Reason, for the audit trail.")
    decided_by: str = Field(default="ops", description="Who decides (recorded).")


def suspend_in_state(state_name: str, key: str, wait_for_input: type[T]) -> T:
    """`suspend_flow_run`, but the waiting state carries a readable name (AwaitingOpsDecision).

    Same protocol as prefect.flow_runs.suspend_flow_run: propose a rescheduling Paused state with
    the pause key and input keyset; if the orchestrator answers Running the run was resumed
    already, so return the saved input; otherwise save the form and exit, freeing the worker.
    """
    from prefect._flow_run_suspension import mark_flow_run_suspension_requested
    from prefect.client.orchestration import get_client
    from prefect.context import FlowRunContext
    from prefect.exceptions import Pause
    from prefect.input import keyset_from_paused_state
    from prefect.input.run_input import run_input_subclass_from_type
    from prefect.states import Paused
    from prefect.utilities.engine import propose_state_sync

    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        raise RuntimeError("suspend_in_state must be called inside a flow run")
    proposed = Paused(name=state_name, reschedule=True, pause_key=key)
    model = run_input_subclass_from_type(wait_for_input)
    keyset = keyset_from_paused_state(proposed)
    proposed.state_details.run_input_keyset = keyset
    with get_client(sync_client=True) as client:
        state = propose_state_sync(client=client, state=proposed, flow_run_id=context.flow_run.id)
        if state.is_running():  # resumed before: the input is saved
            return model.load(keyset)  # type: ignore[return-value]
        if not state.is_paused():
            raise RuntimeError(f"cannot suspend: the API answered {state}")
        model.save(keyset)
    mark_flow_run_suspension_requested(context.flow_run.id, state)
    raise Pause(state=state)


# ---- tasks of this flow (thin: domain decides, tasks/ does the I/O) ----------------------------
@task(name="route_order")
def route_deposit_paid(order_no: str) -> dict[str, Any]:
    """The traffic light, decided when the deposit is paid (with today's supply and prices)."""
    order = load_order(order_no)
    catalog = load_catalog()
    routing = route_order(
        request_of(order), load_quote(order["quote_id"]), catalog, datetime.now(SEOUL).date()
    )
    return {"light": routing.light, "reasons": list(routing.reasons)}


@task(name="publish_countdown")
def publish_countdown(order_no: str, deadline_iso: str) -> str:
    deadline = datetime.fromisoformat(deadline_iso)
    text = countdown(datetime.now(UTC), deadline)
    local = deadline.astimezone(SEOUL).strftime("%Y-%m-%d %H:%M:%S KST")
    create_markdown_artifact(
        key=f"group-sla-{order_no.lower()}",
        markdown=(
            f"### {LIGHT_EMOJI['yellow']} {order_no}: 운영 확인 대기 (AwaitingOpsDecision)\n\n"
            f"| | |\n|---|---|\n| 확정 마감 | **{local}** |\n| 남은 시간 | {text} |\n\n"
            "마감까지 승인이 없으면 예약금이 자동으로 전액 환불됩니다."
        ),
        description=f"SLA countdown of {order_no}",
    )
    return text


@task(name="record_fees", retries=2, retry_delay_seconds=1)
def record_fees(order_no: str, company: str | None) -> int:
    """The group's trip fee, once per order (fees engine, event key per order)."""
    from tasks.fees import record_fee_events

    event = {
        "event_key": f"group:{order_no}:booking",
        "type": "booking",
        "booking_type": "package",
        "agent_assisted": False,
        "service": None,
    }
    return len(record_fee_events(company, f"group:{order_no}", [event], source="group"))


@task(name="make_documents")
def make_documents(order_no: str) -> dict[str, str]:
    order = load_order(order_no)
    quote = load_quote(order["confirmed_quote_id"] or order["quote_id"])
    product = load_catalog().products[order["product_code"]]
    return write_documents(core_settings().exports_dir / "group", order, quote, product)


@task(name="wait_until_deadline")
def wait_until(moment: datetime) -> None:
    """Sleep until `moment` (at most the deadline run's lead, a few seconds)."""
    import time as clock

    left = (moment - datetime.now(UTC)).total_seconds()
    if left > 0:
        clock.sleep(left)


def is_past(moment_iso: str | None) -> bool:
    return bool(moment_iso) and datetime.fromisoformat(str(moment_iso)) <= datetime.now(UTC)


def _won(amount: int) -> str:
    return Money(amount, "KRW").format()


def _unit(line: Any) -> str:
    if line.unit_low is None or line.unit_high is None:
        return "미정"
    if line.unit_low == line.unit_high:
        return _won(line.unit_low)
    return f"{_won(line.unit_low)} ~ {_won(line.unit_high)}"


# ---- the flows --------------------------------------------------------------------------------
@flow(name="confirm-group-booking", flow_run_name="{order_no}", log_prints=True)
def confirm_group_booking(order_no: str) -> dict[str, Any]:
    """Deposit → traffic light → confirm (🟢 at once, 🟡 by ops within the SLA) or refund."""
    log = get_run_logger()
    order = load_order(order_no)
    if order["status"] == "quoted":
        suspend_in_state("AwaitingDeposit", DEPOSIT_KEY, DepositPaid)
        order = load_order(order_no)
    if order["status"] == "deposit_paid":
        routing = route_deposit_paid(order_no)
        light, reasons = routing["light"], "; ".join(routing["reasons"])
        log.info("%s %s: %s", LIGHT_EMOJI[light], order_no, reasons)
        if light == "red":
            set_status(order_no, "blocked", reason=reasons, values={"light": "red"})
        elif light == "green":
            set_status(order_no, "auto_confirmed", reason=reasons, values={"light": "green"})
            set_status(
                order_no,
                "confirmed",
                reason="auto-confirmed (green)",
                values={"confirmed_quote_id": order["quote_id"]},
            )
        else:
            set_status(order_no, "awaiting_ops", reason=reasons, values={"light": "yellow"})
        order = load_order(order_no)
    if order["status"] == "awaiting_ops":
        wait_for_ops(order)
        order = load_order(order_no)
    if order["status"] in REFUNDED_STATES:
        return refund_and_tell(order)
    if order["status"] in CONFIRMED_STATES:
        return after_confirmation(order)
    return {"order_no": order_no, "status": order["status"]}


def wait_for_ops(order: dict[str, Any]) -> None:
    """Schedule reminders and the deadline, show the countdown, then wait suspended."""
    order_no = order["order_no"]
    settings = group_settings()
    paid_at = datetime.fromisoformat(order["deposit_paid_at"])
    sla = datetime.fromisoformat(order["deadline_at"]) - paid_at  # fixed when the deposit was paid
    plan = sla_plan(paid_at, sla, settings.reminder_points)
    points = [*(f"remind-{p}" for p in settings.reminder_points), "deadline"]
    early_deadline = plan.deadline - deadline_run_lead(sla)
    scheduled = [  # in parallel: the form should be up as soon as possible
        schedule_flow_run.submit(
            settings.sla_deployment,
            {"order_no": order_no, "point": point, "run_id": str(flow_run.id)},
            at,
            f"group-sla:{order_no}:{point}",
        )
        for point, at in zip(points, [*plan.reminders, early_deadline], strict=True)
    ]
    text = publish_countdown(order_no, plan.deadline.isoformat())
    for future in scheduled:
        future.result()
    quote = load_quote(order["quote_id"])
    notify_customer(
        order_no,
        order["contact"]["mobile"],
        "AWAITING_CONFIRMATION",
        f"[travelops] {order_no} 예약금 결제가 완료되었습니다. 담당자가 확정 중이며 "
        f"{text}. 마감까지 확정되지 않으면 예약금이 즉시 전액 환불됩니다.",
    )
    lines = "\n".join(
        f"| `{ln.item}` | {ln.label} | {ln.version} | {ln.quantity} | {_unit(ln)} |"
        for ln in quote.lines
    )
    form = OpsDecision.with_initial_data(
        description=(
            f"## {LIGHT_EMOJI['yellow']} {order_no} — {text}\n\n"
            f"Why yellow: {'; '.join(order['light_reasons'])}\n\n"
            f"| item | | version | qty | unit price |\n|---|---|---|---|---|\n{lines}\n\n"
            "Approve with final prices for every v0 item (KRW per unit), propose an "
            "alternative (the customer is refunded and offered it) or reject (refund)."
        ),
        action="approve",
    )
    while True:  # an invalid form is refused (recorded) and a fresh form is awaited
        attempt = refused_decisions(order_no)
        key = DECISION_KEY if attempt == 0 else f"{DECISION_KEY}-{attempt}"
        decision = suspend_in_state("AwaitingOpsDecision", key, form)
        if decide(order, decision, attempt) != "invalid":
            return


@task(name="apply_ops_decision")
def apply_decision(order_no: str, decision: dict[str, Any], attempt: int = 0) -> str:
    """Approve (v1 quote, CAS → confirmed) or refuse (CAS → rejected_refunded); the loser of a
    race with the deadline is refused and recorded by the compare-and-set. After the deadline
    nothing confirms the order; an approval whose prices do not fit the quote is `invalid`."""
    actor = f"ops:{decision.get('decided_by') or 'ops'}"
    order = load_order(order_no)
    to_status = "confirmed" if decision["action"] == "approve" else "rejected_refunded"
    if order["status"] == "awaiting_ops" and is_past(order["deadline_at"]):
        refuse_late_decision(order_no, actor, to_status, order["deadline_at"])
        return "refused"
    if decision["action"] == "approve":
        try:
            confirmed = confirm_quote(
                load_quote(order["quote_id"]), load_catalog(), decision.get("final_prices") or {}
            )
        except InvalidInput as exc:
            refuse_decision(order_no, attempt, actor, to_status, str(exc))
            return "invalid"
        quote_id = store_confirmed_quote(order_no, confirmed)
        won = set_status(
            order_no,
            "confirmed",
            actor=actor,
            reason=decision.get("note", ""),
            values={"confirmed_quote_id": quote_id},
        )
    else:
        reason = decision["action"] + (
            f": {decision['alternative']}" if decision.get("alternative") else ""
        )
        won = set_status(order_no, "rejected_refunded", actor=actor, reason=reason)
    return "won" if won else "refused"


def decide(order: dict[str, Any], decision: OpsDecision, attempt: int) -> str:
    data = decision.model_dump(
        include={"action", "final_prices", "alternative", "note", "decided_by"}
    )
    outcome = apply_decision(order["order_no"], data, attempt)
    get_run_logger().info("ops decision %s on %s: %s", decision.action, order["order_no"], outcome)
    if decision.action == "propose_alternative" and decision.alternative and outcome == "won":
        notify_customer(
            order["order_no"],
            order["contact"]["mobile"],
            "ALTERNATIVE",
            f"[travelops] {order['order_no']} 요청하신 일정은 확정이 어려워 예약금을 "
            f"전액 환불합니다. 대체안: {decision.alternative}",
        )
    return str(outcome)


def refund_and_tell(order: dict[str, Any]) -> dict[str, Any]:
    order_no, status = order["order_no"], order["status"]
    refund = refund_order(order_no, reason=status)
    texts = {
        "blocked": "요청하신 단체 상품은 예약이 불가하여 예약금을 즉시 전액 환불했습니다.",
        "rejected_refunded": "요청하신 단체 예약을 확정하지 못해 예약금을 전액 환불했습니다.",
        "expired_refunded": "24시간 내 확정되지 않아 예약금을 자동으로 전액 환불했습니다. "
        "담당자가 대체 일정을 제안드리겠습니다.",
        "cancelled": "예약이 취소되어 결제 금액을 환불했습니다.",
    }
    notify_customer(
        order_no,
        order["contact"]["mobile"],
        f"REFUND_{status.upper()}",
        f"[travelops] {order_no} {texts[status]} 환불액: {_won(refund['refunded_minor'])}",
    )
    return {"order_no": order_no, "status": status, "refunded_minor": refund["refunded_minor"]}


def after_confirmation(order: dict[str, Any]) -> dict[str, Any]:
    """Documents, confirmation message, fees, balance request, gift vouchers (all idempotent)."""
    order_no = order["order_no"]
    catalog = load_catalog()
    product = catalog.products[order["product_code"]]
    quote = load_quote(order["confirmed_quote_id"] or order["quote_id"])
    docs = make_documents(order_no)
    contact = order["contact"]
    if contact.get("email"):
        send_email(
            key=f"group-confirmation:{order_no}",
            to=[contact["email"]],
            subject=f"[travelops] 단체 예약 확정 {order_no} · {product.name}",
            text=(
                f"{contact.get('name', '')}님, 단체 예약이 확정되었습니다.\n"
                f"확정 금액 {_won(quote.total_minor)}, 예약금 {_won(quote.deposit_minor)}.\n"
                "전자약관과 일정표를 첨부합니다."
            ),
            attachments=pdf_attachments(docs),
        )
    notify_customer(
        order_no,
        contact["mobile"],
        "CONFIRMED",
        f"[travelops] {order_no} {product.name} 단체 예약이 확정되었습니다. "
        f"확정 금액 {_won(quote.total_minor)}",
    )
    fees = record_fees(order_no, order["company"])
    today = datetime.now(SEOUL).date()
    status = order["status"]
    if status == "confirmed":
        balance = balance_for(
            quote, Money(quote.deposit_minor, "KRW"), today, group_settings().balance_days_before
        )
        if balance.amount:
            pay = request_balance(
                order_no,
                balance.amount.amount_minor,
                f"단체 잔금 {order_no}",
                contact.get("name", ""),
            )
            set_status(
                order_no,
                "balance_due",
                reason=f"balance {balance.amount}",
                values={"balance_due_on": balance.due_on},
            )
            notify_customer(
                order_no,
                contact["mobile"],
                "BALANCE_REQUEST",
                f"[travelops] {order_no} 잔금 {balance.amount.format()}을 "
                f"{balance.due_on.isoformat()}까지 결제해 주세요: {pay['checkout_url']}",
            )
        else:
            set_status(order_no, "paid_in_full", reason="nothing left to pay")
    vouchers = schedule_or_send_vouchers(order, today)
    final = load_order(order_no)
    return {
        "order_no": order_no,
        "status": final["status"],
        "documents": docs,
        "fee_lines": fees,
        "vouchers": vouchers,
    }


def schedule_or_send_vouchers(order: dict[str, Any], today: date) -> dict[str, Any]:
    order_no = order["order_no"]
    product = load_catalog().products[order["product_code"]]
    req = request_of(order)
    plans = plan_vouchers(product, req.travellers, req.departure_date, today)
    if not plans:
        return {"planned": 0}
    plan_voucher_rows(order_no, plans)
    trigger, due = plans[0].trigger, plans[0].due_on
    if trigger == "confirmation":
        return send_gift_vouchers(order_no, today, trigger)
    at = datetime.combine(due, time(9, 0), SEOUL).astimezone(UTC)
    run_id = schedule_flow_run(
        "send-group-vouchers/send-group-vouchers",
        {"order_no": order_no, "trigger": trigger},
        at,
        f"group-vouchers:{order_no}:{trigger}",
    )
    return {"scheduled": run_id, "at": at.isoformat(), "trigger": trigger}


@flow(name="enforce-group-sla", flow_run_name="{order_no}-{point}", log_prints=True)
def enforce_group_sla(order_no: str, point: str, run_id: str = "") -> dict[str, Any]:
    """At 50 %/90 % remind ops; at the deadline refund in full unless ops decided first."""
    order = load_order(order_no)
    if order["status"] != "awaiting_ops":
        return {"order_no": order_no, "point": point, "status": order["status"], "acted": False}
    deadline = datetime.fromisoformat(order["deadline_at"])
    if point.startswith("remind-"):
        text = countdown(datetime.now(UTC), deadline)
        send_email(
            key=f"group-sla:{order_no}:{point}",
            to=[group_settings().ops_email],
            subject=f"[group SLA {point}] {order_no} 운영 확인 필요 — {text}",
            text=(
                f"{order_no} is waiting for an ops decision (AwaitingOpsDecision).\n{text}.\n"
                "If nobody decides by the deadline the deposit is refunded automatically."
            ),
        )
        return {"order_no": order_no, "point": point, "status": order["status"], "acted": True}
    wait_until(deadline)  # the run starts a little early; the refund never does
    won = set_status(
        order_no,
        "expired_refunded",
        actor="sla-deadline",
        reason=f"no ops decision by {deadline.isoformat()}",
    )
    if not won:
        return {
            "order_no": order_no,
            "point": point,
            "status": load_order(order_no)["status"],
            "acted": False,
        }
    result = refund_and_tell(load_order(order_no))
    if run_id:  # wake the order's run so it ends with the order's final state
        resume_run(run_id, {"action": "reject", "note": "SLA deadline", "decided_by": "sla"})
    return {**result, "point": point, "acted": True}


@flow(name="wake-paid-group-orders", log_prints=True)
def wake_paid_group_orders(older_than_seconds: float = 60.0) -> dict[str, int]:
    """Every minute: orders whose deposit is paid but whose run is still waiting for it (a lost
    wake-up) are resumed; runs that never started or crashed are started again."""
    result = wake_stalled_orders(older_than_seconds)
    if result["stalled"]:
        get_run_logger().warning("woke %(woken)s of %(stalled)s stalled paid orders", result)
    return result


@flow(name="send-group-vouchers", flow_run_name="{order_no}-vouchers-{trigger}", log_prints=True)
def send_group_vouchers(order_no: str, trigger: str) -> dict[str, Any]:
    """Gift vouchers on their trigger day, unless the order was cancelled before."""
    return send_gift_vouchers(order_no, datetime.now(SEOUL).date(), trigger)
