"""The invoice PDF on its own: Korean text extracts, long invoices run onto more pages."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

from pypdf import PdfReader

from db.models.fees import FeeInvoice, FeeLine
from tasks.fees_invoices import render_invoice_pdf


def _line(i: int, waived: bool = False) -> FeeLine:
    return FeeLine(
        id=i,
        line_key=f"k{i}",
        company="DAEHAN",
        legal_entity="",
        trip_key=f"HB-2026-{i:04d}",
        event_index=0,
        event_type="booking",
        kind="trip",
        rule="항공 포함 여행",
        amount_minor=10000,
        currency="KRW",
        payment_method="delayed_invoice",
        waived=waived,
        waiver_code="GOODWILL" if waived else None,
        source="manual",
        occurred_at=datetime(2026, 3, 31, 16, 0, tzinfo=UTC),  # 1 April in Seoul
    )


def test_long_invoice_paginates_and_every_line_is_in_the_text() -> None:
    lines = [_line(i) for i in range(1, 61)] + [_line(500, waived=True)]
    invoice = FeeInvoice(
        invoice_no="TF-202603-DAEHAN",
        company="DAEHAN",
        legal_entity="",
        period="2026-03",
        currency="KRW",
        total_minor=60 * 10000,
        waived_minor=10000,
        terms="NET60",
        issued_on=date(2026, 4, 1),
        due_on=date(2026, 5, 31),
        recipient="ap@daehan.example.com",
        notes="대한물산 주식회사",
    )
    pdf = render_invoice_pdf(invoice, lines)
    assert render_invoice_pdf(invoice, lines) == pdf  # the same invoice renders the same bytes
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 2
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert all(f"HB-2026-{i:04d}" in text for i in range(1, 61))
    assert "2026-04-01" in text  # dates shown in Asia/Seoul
    assert "600,000 KRW" in text
    assert "대한물산 주식회사" in text
    assert "2026-05-31" in text
    assert "면제된 수수료" in text
