"""waive-fee and invoice-delayed-fees run for real: database, PDF, SMTP out and IMAP back."""

from __future__ import annotations

import asyncio
import io
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from pydantic import SecretStr
from pypdf import PdfReader

from blocks.mail import ImapMailbox
from flows.fees import invoice_delayed_fees, waive_fee_flow
from tasks.fees import FeeLineNotWaivable, record_fee_events, waive_fee_line
from tasks.fees_invoices import invoice_number, invoices_of
from tests import runs

PERIOD = "2026-03"


def _mailbox(sandbox: dict[str, Any], address: str) -> ImapMailbox:
    return ImapMailbox(
        host=sandbox["host"],
        port=sandbox["services"]["imap"]["port"],
        security="none",
        username=address,
        password=SecretStr(sandbox["password"]),
    )


def _invoice_mails(sandbox: dict[str, Any], address: str) -> list[Any]:
    box = _mailbox(sandbox, address)
    uids = box.search("SUBJECT", '"TMC"')
    return [m.parsed() for m in box.fetch(uids)] if uids else []


def _pdf_text(message: Any) -> str:
    pdfs = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert len(pdfs) == 1
    reader = PdfReader(io.BytesIO(pdfs[0].get_content()))
    return "\n".join(page.extract_text() for page in reader.pages)


def _booking(key: str, booking_type: str, agent: bool = False) -> dict[str, Any]:
    return {
        "event_key": key,
        "type": "booking",
        "booking_type": booking_type,
        "agent_assisted": agent,
    }


def test_waive_fee_flow_waives_and_refuses_service_fees(prefect_api: str) -> None:
    trip = f"WF-{uuid.uuid4().hex[:8]}"
    trip_line, service_line = record_fee_events(
        "DAEHAN",
        trip,
        [
            _booking(f"{trip}:b", "hotel"),
            {"event_key": f"{trip}:vcc", "type": "service", "service": "virtual_payment"},
        ],
        source="manual",
    )
    done = waive_fee_flow(fee_line_id=trip_line["id"], reason_code="GOODWILL", who="agent:kim")
    assert done["waived"] is True
    assert done["waiver_code"] == "GOODWILL"
    state = waive_fee_flow(
        fee_line_id=service_line["id"], reason_code="GOODWILL", who="agent:kim", return_state=True
    )
    assert state.is_failed()
    assert "cannot be waived" in str(state.message)
    runs_named = runs.flow_runs(names=[f"waive-fee-{trip_line['id']}-by-agent:kim"])
    assert runs_named
    assert "fee-waiver" in [a["key"] for a in runs.artifacts(runs_named[0].id)]


def test_monthly_invoices_grouped_by_company_and_entity_sent_once(
    prefect_api: str, sandbox: dict[str, Any]
) -> None:
    with time_machine.travel(datetime(2026, 3, 10, 2, 0, tzinfo=UTC), tick=True):
        daehan = record_fee_events(
            "DAEHAN",
            "HB-DAEHAN-0310",
            [
                _booking("inv:daehan:air", "air", agent=True),
                {
                    "event_key": "inv:daehan:modify",
                    "type": "transaction",
                    "transaction": "modify",
                    "booking_type": "air",
                    "agent_assisted": True,
                },
                {"event_key": "inv:daehan:vcc", "type": "service", "service": "virtual_payment"},
            ],
            source="manual",
        )
        logis = record_fee_events(
            "DAEHAN",
            "GR-LOGIS-0310",
            [_booking("inv:logis:pkg", "package")],
            source="group",
            legal_entity="DAEHAN-LOGIS",
        )
        hanbit = record_fee_events(
            "HANBIT", "GR-HANBIT-0310", [_booking("inv:hanbit:air", "air")], source="group"
        )
        mirae = record_fee_events(
            "MIRAE", "HB-MIRAE-0310", [_booking("inv:mirae:hotel", "hotel")], source="manual"
        )
    with time_machine.travel(datetime(2026, 4, 2, 2, 0, tzinfo=UTC), tick=True):
        april = record_fee_events(
            "DAEHAN", "HB-DAEHAN-0402", [_booking("inv:daehan:april", "hotel")], source="manual"
        )
    assert mirae[0]["payment_method"] == "same_card"
    waive_fee_line(daehan[1]["id"], "GOODWILL", "agent:kim")  # the agent modification

    result = asyncio.run(invoice_delayed_fees(month=PERIOD))
    numbers = {inv["invoice_no"]: inv for inv in result["invoices"]}
    daehan_no = invoice_number(PERIOD, "DAEHAN", "")
    logis_no = invoice_number(PERIOD, "DAEHAN", "DAEHAN-LOGIS")
    hanbit_no = invoice_number(PERIOD, "HANBIT", "")
    assert set(numbers) == {daehan_no, logis_no, hanbit_no}
    assert numbers[daehan_no]["total"] == "52,000 KRW"  # 50,000 agent air trip + 2,000 card
    assert numbers[daehan_no]["waived"] == "9,000 KRW"
    assert numbers[logis_no]["total"] == "10,000 KRW"
    assert numbers[hanbit_no]["total"] == "25,000 KRW"
    invoiced = {ln["id"] for lines in invoices_of(PERIOD).values() for ln in lines}
    assert {ln["id"] for ln in daehan + logis + hanbit} == invoiced
    assert april[0]["id"] not in invoiced
    assert mirae[0]["id"] not in invoiced

    (daehan_mail,) = _invoice_mails(sandbox, "ap@daehan.example.com")
    text = _pdf_text(daehan_mail)
    for expected in (
        "TMC 수수료 청구서",
        daehan_no,
        "트래블옵스 주식회사",
        "대한물산 주식회사",
        "HB-DAEHAN-0310",
        "항공 포함 여행",
        "가상 결제",
        "52,000 KRW",
        "면제된 수수료",
        "GOODWILL",
        "9,000 KRW",
        "NET60",
    ):
        assert expected in text, expected
    (hanbit_mail,) = _invoice_mails(sandbox, "finance@hanbit.example.com")
    hanbit_text = _pdf_text(hanbit_mail)
    assert "한빛 항공 여행" in hanbit_text
    assert "면제된 수수료" not in hanbit_text  # nothing waived: no waived section
    assert "NET30" in hanbit_text

    # a rerun sends nothing again and invoices no line twice; invoiced lines cannot be waived
    again = asyncio.run(invoice_delayed_fees(month=PERIOD))
    assert again["invoices"] == []
    assert len(_invoice_mails(sandbox, "ap@daehan.example.com")) == 1
    assert len(_invoice_mails(sandbox, "ap@daehan-logis.example.com")) == 1
    with pytest.raises(FeeLineNotWaivable):
        waive_fee_line(daehan[0]["id"], "GOODWILL", "agent:kim")
