"""TMC fees flows: waive a fee line (ops, from the UI) and invoice the delayed fees monthly."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import (
    acreate_markdown_artifact,
    acreate_table_artifact,
    create_markdown_artifact,
)
from prefect.runtime import flow_run

from domain.errors import BusinessRuleError
from domain.fees import parse_period, previous_month
from flows._clients import one_sync_client
from tasks.fees import waive_fee_line
from tasks.fees_invoices import KST, prepare_fee_invoices, send_fee_invoices


@task(name="waive-fee-line")
def waive_fee(fee_line_id: int, reason_code: str, who: str, text: str | None) -> dict[str, Any]:
    """Waive the line (compare-and-set; the audit trail keeps refusals too)."""
    return waive_fee_line(fee_line_id, reason_code, who, text)


@flow(name="waive-fee", flow_run_name="waive-fee-{fee_line_id}-by-{who}", log_prints=True)
def waive_fee_flow(
    fee_line_id: int, reason_code: str, who: str, text: str | None = None
) -> dict[str, Any]:
    """An agent waives one fee (not a value-added-service fee) with a configured reason code.

    `reason_code` is one of the schedule's waiver codes, or `other` with `text`.
    """
    line = waive_fee(fee_line_id, reason_code, who, text)
    create_markdown_artifact(
        key="fee-waiver",
        markdown=(
            f"### Fee waived\n\n| field | value |\n|---|---|\n"
            f"| fee line | {line['id']} (`{line['line_key']}`) |\n"
            f"| trip | {line['trip_key']} ({line['company'] or 'no company'}) |\n"
            f"| fee | {line['kind']} · {line['rule']} · {line['amount']} {line['currency']} |\n"
            f"| reason | {line['waiver_code']} {line['waiver_text'] or ''} |\n"
            f"| by | {line['waived_by']} |\n"
        ),
        description="Fee waiver",
    )
    return line


def _invoice_run_name() -> str:
    month = flow_run.parameters.get("month") if flow_run.parameters else None
    return f"invoice-delayed-fees-{month or 'previous-month'}"


@flow(name="invoice-delayed-fees", flow_run_name=_invoice_run_name, log_prints=True)
@one_sync_client
async def invoice_delayed_fees(
    month: str | None = None, mailer: str = "fees-billing"
) -> dict[str, Any]:
    """Invoice the month's unwaived delayed-invoice fees: one PDF per company and legal entity.

    `month` is YYYY-MM; by default the month before today (Asia/Seoul). Each invoice is e-mailed
    once; a rerun sends only what was not sent and never invoices a fee line twice.
    """
    today = datetime.now(KST).date()
    period = month or previous_month(today)
    parse_period(period)
    prepared = prepare_fee_invoices(period, today)
    result = send_fee_invoices(prepared["invoices"], mailer)
    rows = [
        {
            k: inv[k]
            for k in (
                "invoice_no",
                "company",
                "legal_entity",
                "total",
                "waived",
                "lines",
                "due_on",
                "recipient",
            )
        }
        for inv in result["sent"]
    ]
    await acreate_table_artifact(
        key="fee-invoices",
        table=rows or [{"invoice_no": "(none)"}],
        description=f"Delayed-invoice TMC fees for {period}",
    )
    problems = [*prepared["rejected"], *result["failed"]]
    if problems:
        await acreate_markdown_artifact(
            key="fee-invoice-problems",
            markdown="### Not invoiced\n\n" + "\n".join(f"- {p}" for p in problems),
        )
        raise BusinessRuleError(f"{len(problems)} invoice(s) not sent for {period}: {problems}")
    get_run_logger().info("%s: %d invoice(s) sent", period, len(rows))
    return {"period": period, "invoices": rows}
