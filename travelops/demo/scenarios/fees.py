"""TMC fees scenario: two companies' trips charged, one fee waived, the month invoiced by e-mail.

One company is on the TMC-level schedule (dynamic trip fee, agent fees, transaction fees), the
other on its own schedule (a static trip fee). Both pay by delayed invoice. Company codes carry a
per-run suffix so the scenario can run again against the same database.
"""

from __future__ import annotations

import io
import json
import uuid
from datetime import datetime
from typing import Any

from pydantic import SecretStr

from travelops.demo import DemoContext, Scenario, ScenarioResult


def _setup_companies(suffix: str) -> tuple[str, str]:
    from db.session import session_scope
    from tasks.fees import load_fee_data, save_schedule, set_payment_setting
    from travelops.settings_fees import fees_settings

    on_tmc, own = f"DAEHAN{suffix}", f"HANBIT{suffix}"
    shipped = json.loads((fees_settings().data_dir / "schedule.json").read_text(encoding="utf-8"))
    with session_scope() as s:
        load_fee_data(s)
        save_schedule(s, own, shipped["companies"]["HANBIT"])
        set_payment_setting(
            s,
            company=on_tmc,
            method="delayed_invoice",
            role="tmc_admin",
            terms="NET60",
            invoice_email="ap@daehan.example.com",
            customer_name="대한물산 주식회사",
        )
        set_payment_setting(
            s,
            company=own,
            method="delayed_invoice",
            role="tmc_admin",
            terms="NET30",
            show_to_traveller=False,
            invoice_email="finance@hanbit.example.com",
            customer_name="한빛전자 주식회사",
        )
    return on_tmc, own


def _record_trips(on_tmc: str, own: str, suffix: str) -> dict[str, list[dict[str, Any]]]:
    from tasks.fees import record_fee_events

    tmc_trip, own_trip = f"HB-DEMO-{suffix}", f"GR-DEMO-{suffix}"
    tmc_lines = record_fee_events(
        on_tmc,
        tmc_trip,
        [
            {"event_key": f"{tmc_trip}:hotel", "type": "booking", "booking_type": "hotel"},
            {
                "event_key": f"{tmc_trip}:air",
                "type": "booking",
                "booking_type": "air",
                "agent_assisted": True,
            },
            *[
                {
                    "event_key": f"{tmc_trip}:modify:{i}",
                    "type": "transaction",
                    "transaction": "modify",
                    "booking_type": "air",
                    "agent_assisted": True,
                }
                for i in range(3)
            ],
            {
                "event_key": f"hotel-vcc:{tmc_trip}:virtual_payment",
                "type": "service",
                "service": "virtual_payment",
                "booking_type": "hotel",
            },
        ],
        source="manual",
    )
    own_lines = record_fee_events(
        own,
        own_trip,
        [
            {
                "event_key": f"group:{own_trip}:booking",
                "type": "booking",
                "booking_type": "package",
            },
            {"event_key": f"{own_trip}:air", "type": "booking", "booking_type": "air"},
        ],
        source="group",
    )
    return {tmc_trip: tmc_lines, own_trip: own_lines}


def _invoice_pdf_text(ctx: DemoContext, address: str, invoice_no: str) -> str:
    from pypdf import PdfReader

    from blocks.mail import ImapMailbox

    box = ImapMailbox(
        host=ctx.sandbox["host"],
        port=ctx.sandbox["services"]["imap"]["port"],
        security="none",
        username=address,
        password=SecretStr(ctx.sandbox["password"]),
    )
    uids = box.search("SUBJECT", f'"{invoice_no}"')
    if len(uids) != 1:
        raise AssertionError(f"{address}: {len(uids)} e-mails for {invoice_no}, expected 1")
    message = box.fetch(uids)[0].parsed()
    (pdf,) = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    reader = PdfReader(io.BytesIO(pdf.get_content()))
    return "\n".join(page.extract_text() for page in reader.pages)


def run(ctx: DemoContext) -> ScenarioResult:
    from prefect.deployments import run_deployment

    from tasks.fees_invoices import KST, invoice_number

    suffix = uuid.uuid4().hex[:4].upper()
    on_tmc, own = _setup_companies(suffix)
    trips = _record_trips(on_tmc, own, suffix)
    statuses: dict[str, str] = {}
    modification = next(ln for ln in next(iter(trips.values())) if ln["kind"] == "transaction")
    waiver = run_deployment(
        "waive-fee/waive-fee",
        parameters={
            "fee_line_id": modification["id"],
            "reason_code": "GOODWILL",
            "who": "agent:demo",
        },
        timeout=120,
    )
    statuses[waiver.name] = waiver.state.name if waiver.state else "unknown"
    refused = run_deployment(
        "waive-fee/waive-fee",
        parameters={
            "fee_line_id": next(iter(trips.values()))[-1]["id"],  # the virtual-card service fee
            "reason_code": "GOODWILL",
            "who": "agent:demo",
        },
        timeout=120,
    )
    statuses[f"{refused.name} (service fee)"] = refused.state.name if refused.state else "unknown"
    month = datetime.now(KST).strftime("%Y-%m")
    invoicing = run_deployment(
        "invoice-delayed-fees/invoice-delayed-fees",
        parameters={"month": month},
        timeout=180,
    )
    statuses[invoicing.name] = invoicing.state.name if invoicing.state else "unknown"
    tmc_no, own_no = invoice_number(month, on_tmc, ""), invoice_number(month, own, "")
    tmc_text = _invoice_pdf_text(ctx, "ap@daehan.example.com", tmc_no)
    own_text = _invoice_pdf_text(ctx, "finance@hanbit.example.com", own_no)
    checks = {
        "waiver completed": bool(waiver.state and waiver.state.is_completed()),
        "service-fee waiver refused": bool(refused.state and refused.state.is_failed()),
        "invoicing completed": bool(invoicing.state and invoicing.state.is_completed()),
        # TMC schedule: 50,000 (agent air, charged 10,000 + 40,000) + 2 × 9,000 + 2,000 card
        "TMC-schedule invoice total": "70,000 KRW" in tmc_text,
        "waived line listed": "면제된 수수료" in tmc_text and "GOODWILL" in tmc_text,
        # own schedule: static trip fee decided at the first booking (package → 15,000)
        "own-schedule invoice total": "15,000 KRW" in own_text and "NET30" in own_text,
    }
    lines = [ln for trip in trips.values() for ln in trip]
    statuses.update({tmc_no: "sent", own_no: "sent"})
    failed = [name for name, ok in checks.items() if not ok]
    return ScenarioResult(
        ok=not failed,
        statuses=statuses,
        counts={
            "fee_lines": len(lines),
            "fees_recorded_krw": sum(ln["amount_minor"] for ln in lines),
            "waived": 1,
            "invoices_emailed": 2,
        },
        details={
            "checks": checks,
            "trips": {k: [ln["amount"] for ln in v] for k, v in trips.items()},
        },
        error=f"failed checks: {failed}" if failed else None,
    )


SCENARIO = Scenario(
    name="fees",
    description="TMC fees: two companies' trips (TMC and own schedule), a waiver, "
    "the month's delayed-invoice PDFs e-mailed",
    run=run,
)
