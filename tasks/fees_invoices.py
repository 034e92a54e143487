"""Delayed invoicing of TMC fees: group a month's fee lines, render the PDF, e-mail it once."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pymupdf
from prefect import task
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db.audit import transition
from db.models.fees import FeeInvoice, FeeLine
from db.session import session_scope
from db.types import utcnow
from domain import fees as rules
from domain.errors import BusinessRuleError
from domain.money import Money
from tasks.fees import payment_setting_for
from tasks.mail import Attachment, compose, deliver_once, load_mailer
from travelops.settings import core_settings
from travelops.settings_fees import fees_settings

KST = ZoneInfo("Asia/Seoul")
KIND_LABEL = {"trip": "여행 수수료", "transaction": "거래 수수료", "service": "부가 서비스"}


def invoice_number(period: str, company: str, legal_entity: str) -> str:
    """One stable number per company, legal entity and month: TF-202611-HANBIT[-3f2a1c]."""
    code = (
        company
        if len(company) <= 14
        else company[:8] + hashlib.sha256(company.encode()).hexdigest()[:6]
    )
    number = f"{fees_settings().invoice_prefix}-{period.replace('-', '')}-{code}"
    if legal_entity:
        number += "-" + hashlib.sha256(legal_entity.encode()).hexdigest()[:6]
    return number


def _period_end_utc(period: str) -> datetime:
    _, end = rules.parse_period(period)
    return datetime.combine(end, time(0), KST).astimezone(UTC)


@dataclass
class _Group:
    company: str
    legal_entity: str
    lines: list[FeeLine]


def prepare_invoices(period: str, issued_on: date) -> dict[str, Any]:
    """Attach every uninvoiced delayed-invoice fee line up to the end of `period` to its invoice.

    One invoice per company and legal entity for the month; lines left from earlier months are
    carried into it. A line is attached only while it has no invoice (compare-and-set), so a fee
    is never invoiced twice. Invoices already sent take no more lines.
    """
    end = _period_end_utc(period)
    prepared: list[str] = []
    rejected: list[dict[str, str]] = []
    with session_scope() as s:
        rows = s.scalars(
            select(FeeLine)
            .where(
                FeeLine.payment_method == rules.PaymentMethod.DELAYED_INVOICE.value,
                FeeLine.invoice_no.is_(None),
                FeeLine.occurred_at < end,
            )
            .order_by(FeeLine.occurred_at, FeeLine.id)
        ).all()
        groups: dict[tuple[str, str], _Group] = {}
        for row in rows:
            key = (row.company, row.legal_entity)
            groups.setdefault(key, _Group(row.company, row.legal_entity, [])).lines.append(row)
        for (company, entity), group in sorted(groups.items()):
            try:
                number = _attach(s, period, issued_on, group)
            except BusinessRuleError as exc:
                rejected.append({"company": company, "legal_entity": entity, "reason": str(exc)})
                continue
            if number:
                prepared.append(number)
        # invoices of the period issued earlier but not yet sent (a retried run) go out too
        pending = s.scalars(
            select(FeeInvoice.invoice_no).where(
                FeeInvoice.period == period, FeeInvoice.status == "issued"
            )
        ).all()
    return {"invoices": sorted(set(prepared) | set(pending)), "rejected": rejected}


def _attach(s: Session, period: str, issued_on: date, group: _Group) -> str | None:
    if not any(not ln.waived for ln in group.lines):
        return None  # nothing to charge yet: waived lines wait for the next invoice
    currencies = {ln.currency for ln in group.lines}
    if len(currencies) != 1:
        raise BusinessRuleError(f"fee lines in several currencies {sorted(currencies)}")
    setting = payment_setting_for(s, group.company, group.legal_entity)
    terms = setting.get("terms")
    if not terms:
        raise BusinessRuleError("no invoice terms (NET30/NET60) in the payment setting")
    if not setting.get("invoice_email"):
        raise BusinessRuleError("no invoice e-mail address in the payment setting")
    number = invoice_number(period, group.company, group.legal_entity)
    invoice = s.get(FeeInvoice, number, with_for_update=True)
    if invoice is None:
        s.add(
            FeeInvoice(
                invoice_no=number,
                company=group.company,
                legal_entity=group.legal_entity,
                period=period,
                currency=currencies.pop(),
                total_minor=0,
                waived_minor=0,
                line_count=0,
                terms=terms,
                issued_on=issued_on,
                due_on=rules.invoice_due_date(issued_on, terms),
                recipient=setting["invoice_email"],
                status="issued",
                notes=str(setting.get("customer_name") or group.company),
            )
        )
        s.flush()
    elif invoice.status != "issued":
        return None  # already sent: these lines go on next month's invoice
    s.execute(
        update(FeeLine)
        .where(FeeLine.id.in_([ln.id for ln in group.lines]), FeeLine.invoice_no.is_(None))
        .values(invoice_no=number)
        .execution_options(synchronize_session=False)
    )
    attached = s.scalars(select(FeeLine).where(FeeLine.invoice_no == number)).all()
    s.execute(
        update(FeeInvoice)
        .where(FeeInvoice.invoice_no == number)
        .values(
            total_minor=sum(ln.amount_minor for ln in attached if not ln.waived),
            waived_minor=sum(ln.amount_minor for ln in attached if ln.waived),
            line_count=len(attached),
        )
        .execution_options(synchronize_session=False)
    )
    return number


# the PDF -------------------------------------------------------------------------------------
class _Pdf:
    """A plain A4 document with a CJK font, so Korean renders and extracts as text."""

    WIDTH, HEIGHT, MARGIN = 595, 842, 48

    def __init__(self) -> None:
        self.doc = pymupdf.open()
        self.font = pymupdf.Font("korea")
        self.page: Any = None
        self.y = 0.0
        self.new_page()

    def new_page(self) -> None:
        self.page = self.doc.new_page(width=self.WIDTH, height=self.HEIGHT)
        self.page.insert_font(fontname="ko", fontbuffer=self.font.buffer)
        self.y = self.MARGIN

    def text(self, x: float, value: str, size: float = 9.5, right: float | None = None) -> None:
        if right is not None:
            x = right - self.font.text_length(value, fontsize=size)
        self.page.insert_text((x, self.y), value, fontname="ko", fontsize=size)

    def line(self, advance: float = 14) -> None:
        self.y += advance
        if self.y > self.HEIGHT - self.MARGIN:
            self.new_page()

    def rule(self) -> None:
        self.page.draw_line(
            (self.MARGIN, self.y - 9), (self.WIDTH - self.MARGIN, self.y - 9), width=0.5
        )

    def finish(self, title: str) -> bytes:
        self.doc.set_metadata({"title": title, "creator": "travelops", "producer": "travelops"})
        self.doc.subset_fonts()
        data: bytes = self.doc.tobytes(garbage=3, deflate=True, no_new_id=True)  # type: ignore[no-untyped-call]
        self.doc.close()  # type: ignore[no-untyped-call]
        return data


def _fmt(amount_minor: int, currency: str) -> str:
    return Money(amount_minor, currency).format()


def render_invoice_pdf(invoice: FeeInvoice, lines: list[FeeLine]) -> bytes:
    """Issuer, customer, fee lines, totals, due date; waived fees listed separately."""
    cfg = fees_settings()
    pdf = _Pdf()
    right = pdf.WIDTH - pdf.MARGIN
    m = pdf.MARGIN
    pdf.line(10)
    pdf.text(m, "TMC 수수료 청구서 · TMC Fee Invoice", size=16)
    pdf.line(24)
    pdf.text(m, f"청구서 번호 Invoice no.: {invoice.invoice_no}")
    pdf.text(330, f"청구 기간 Period: {invoice.period}")
    pdf.line()
    pdf.text(m, f"발행일 Issued: {invoice.issued_on.isoformat()}")
    pdf.text(330, f"지급 기한 Due: {invoice.due_on.isoformat()} ({invoice.terms})")
    pdf.line(24)
    pdf.text(m, "공급자 Issuer", size=10.5)
    pdf.text(330, "공급받는 자 Customer", size=10.5)
    pdf.line()
    issuer = [cfg.issuer_name, cfg.issuer_registration, cfg.issuer_address, cfg.issuer_email]
    customer = [
        invoice.notes or invoice.company,
        f"회사 코드 Company: {invoice.company}",
        f"법인 Legal entity: {invoice.legal_entity or '본사 (company default)'}",
        invoice.recipient or "",
    ]
    for left_text, right_text in zip(issuer, customer, strict=True):
        pdf.text(m, left_text)
        pdf.text(330, right_text)
        pdf.line()
    charged = [ln for ln in lines if not ln.waived]
    waived = [ln for ln in lines if ln.waived]

    def header(columns: str) -> None:
        pdf.line(10)
        pdf.text(m, columns, size=8.5)
        pdf.line()
        pdf.rule()

    def row(ln: FeeLine, extra: str = "") -> None:
        day = ln.occurred_at.astimezone(KST).date().isoformat()
        kind = KIND_LABEL.get(ln.kind, ln.kind)
        pdf.text(m, day, size=8.5)
        pdf.text(m + 62, ln.trip_key[:24], size=8.5)
        pdf.text(m + 190, kind, size=8.5)
        pdf.text(m + 262, (ln.rule + extra)[:34], size=8.5)
        pdf.text(0, _fmt(ln.amount_minor, ln.currency), size=8.5, right=right)
        pdf.line(12)

    pdf.line(6)
    pdf.text(m, f"청구 내역 Fees charged ({len(charged)})", size=10.5)
    header("일자 Date      여행 Trip                        구분 Kind          규칙 Rule")
    for ln in charged:
        row(ln)
    pdf.rule()
    pdf.line(4)
    pdf.text(m, "합계 Total due", size=11)
    pdf.text(0, _fmt(invoice.total_minor, invoice.currency), size=11, right=right)
    pdf.line(24)
    if waived:
        pdf.text(m, f"면제된 수수료 Waived fees — not charged ({len(waived)})", size=10.5)
        header(
            "일자 Date      여행 Trip                        구분 Kind          "
            "규칙 · 사유 Rule · reason"
        )
        for ln in waived:
            row(ln, f" · {ln.waiver_code or ''}")
        pdf.rule()
        pdf.line(4)
        pdf.text(m, "면제 합계 Waived total", size=9.5)
        pdf.text(0, _fmt(invoice.waived_minor, invoice.currency), size=9.5, right=right)
        pdf.line(24)
    pdf.text(
        m,
        f"{invoice.due_on.isoformat()}까지 지급해 주십시오. Please pay by "
        f"{invoice.due_on.isoformat()} ({invoice.terms}).",
    )
    return pdf.finish(f"TMC Fee Invoice {invoice.invoice_no}")


def invoice_document(invoice_no: str) -> tuple[dict[str, Any], bytes]:
    """The invoice's summary and its PDF, rendered from what is stored (same input, same PDF)."""
    with session_scope() as s:
        invoice = s.get(FeeInvoice, invoice_no)
        if invoice is None:
            raise LookupError(f"fee invoice {invoice_no} does not exist")
        lines = list(
            s.scalars(
                select(FeeLine)
                .where(FeeLine.invoice_no == invoice_no)
                .order_by(FeeLine.occurred_at, FeeLine.id)
            )
        )
        pdf = render_invoice_pdf(invoice, lines)
        summary = {
            "invoice_no": invoice.invoice_no,
            "company": invoice.company,
            "legal_entity": invoice.legal_entity,
            "period": invoice.period,
            "recipient": invoice.recipient,
            "total": Money(invoice.total_minor, invoice.currency).format(),
            "waived": Money(invoice.waived_minor, invoice.currency).format(),
            "lines": invoice.line_count,
            "due_on": invoice.due_on.isoformat(),
            "status": invoice.status,
        }
    return summary, pdf


def send_invoice(invoice_no: str, mailer_name: str | None = None) -> dict[str, Any]:
    """E-mail one invoice with its PDF, once per invoice number, then mark it sent (audited)."""
    summary, pdf = invoice_document(invoice_no)
    folder = core_settings().exports_dir / "fee-invoices"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{invoice_no}.pdf").write_bytes(pdf)
    digest = hashlib.sha256(pdf).hexdigest()
    customer = summary["company"] + (
        f" / {summary['legal_entity']}" if summary["legal_entity"] else ""
    )
    message = compose(
        key=f"fee-invoice:{invoice_no}",
        to=[str(summary["recipient"])],
        subject=f"[TMC 수수료 청구서] {summary['period']} {customer} ({invoice_no})",
        text=(
            f"안녕하세요.\n\n{summary['period']} TMC 수수료 청구서를 첨부합니다.\n"
            f"청구 금액: {summary['total']}\n지급 기한: {summary['due_on']}\n\n"
            f"Please find attached the TMC fee invoice {invoice_no} for {summary['period']}: "
            f"{summary['total']}, due {summary['due_on']}.\n\n{fees_settings().issuer_name}\n"
        ),
        attachments=[Attachment(f"{invoice_no}.pdf", pdf, "application/pdf")],
    )
    outcome = deliver_once(load_mailer(mailer_name), f"fee-invoice:{invoice_no}", message)
    with session_scope() as s:
        transition(
            s,
            FeeInvoice,
            invoice_no,
            "sent",
            allowed_from=["issued"],
            actor="invoice-delayed-fees",
            reason=f"e-mailed to {summary['recipient']} ({outcome.provider_ref})",
            values={"sent_at": utcnow(), "pdf_sha256": digest},
        )
    return {**summary, "status": "sent", "message_id": outcome.provider_ref, "pdf_sha256": digest}


@task(name="prepare-fee-invoices", retries=2, retry_delay_seconds=2)
def prepare_fee_invoices(period: str, issued_on: date) -> dict[str, Any]:
    """Group the period's delayed-invoice fee lines into invoices (one per company/entity)."""
    return prepare_invoices(period, issued_on)


@task(name="send-fee-invoices", retries=2, retry_delay_seconds=5)
def send_fee_invoices(invoice_nos: list[str], mailer_name: str | None) -> dict[str, Any]:
    """Send each invoice once; one failure does not stop the others (they are reported)."""
    sent: list[dict[str, Any]] = []
    failed: list[dict[str, str]] = []
    for number in invoice_nos:
        try:
            sent.append(send_invoice(number, mailer_name))
        except Exception as exc:  # reported per invoice; the flow fails after the others
            failed.append({"invoice_no": number, "error": f"{type(exc).__name__}: {exc}"})
    return {"sent": sent, "failed": failed}


def invoices_of(period: str) -> dict[str, list[dict[str, Any]]]:
    """Invoices of a period with their lines (for reports and tests)."""
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    with session_scope() as s:
        for ln in s.scalars(
            select(FeeLine)
            .join(FeeInvoice, FeeInvoice.invoice_no == FeeLine.invoice_no)
            .where(FeeInvoice.period == period)
            .order_by(FeeLine.id)
        ):
            out[str(ln.invoice_no)].append(
                {"id": ln.id, "amount": _fmt(ln.amount_minor, ln.currency), "waived": ln.waived}
            )
    return dict(out)


__all__ = [
    "invoice_document",
    "invoice_number",
    "invoices_of",
    "prepare_fee_invoices",
    "prepare_invoices",
    "render_invoice_pdf",
    "send_fee_invoices",
    "send_invoice",
]
