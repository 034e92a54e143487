"""Electronic terms and itinerary of a confirmed group order as PDFs (Korean text, CJK font)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pymupdf

from domain.group import Product, Quote
from domain.money import Money
from tasks.mail import Attachment

TERMS = [
    "1. 본 예약은 예약금 결제 후 확정된 단체 여행 계약입니다.",
    "2. 잔금은 출발 14일 전까지 결제해야 하며, 출발이 14일 이내인 경우 즉시 결제합니다.",
    "3. 확정 전 공급 불가 시 예약금은 즉시 전액 환불됩니다.",
    "4. 확정 후 취소 시 환불은 국외·국내여행 표준약관의 취소 수수료 규정을 따릅니다.",
    "5. 모바일 상품권은 여행자별 1회 발송되며, 예약 취소 시 발송되지 않습니다.",
]


@functools.cache
def _korean_font() -> pymupdf.Font:
    return pymupdf.Font("korea")  # the built-in CJK font: loaded once per process


class _Pdf:
    """A4 pages with the built-in Korean CJK font, so Hangul renders and extracts as text.

    Text goes through a `TextWriter` with a `Font` object: glyph widths come from the font
    directly. (`Page.insert_text` with a CJK font first tabulates the width of every code point
    up to the highest one in the text — 55,000 calls for Hangul — on every new document.)
    """

    WIDTH, HEIGHT, MARGIN = 595, 842, 50

    def __init__(self) -> None:
        self.doc = pymupdf.open()
        self.font = _korean_font()
        self.page: Any = None
        self.writer: Any = None
        self.y = 0.0
        self._new_page()

    def _new_page(self) -> None:
        self._flush()
        self.page = self.doc.new_page(width=self.WIDTH, height=self.HEIGHT)
        self.writer = pymupdf.TextWriter(self.page.rect)
        self.y = self.MARGIN

    def _flush(self) -> None:
        if self.writer is not None:
            self.writer.write_text(self.page)
            self.writer = None

    def write(self, text: str, size: float = 10.5, gap: float = 8) -> None:
        if self.y > self.HEIGHT - self.MARGIN:
            self._new_page()
        self.y += size
        self.writer.append((self.MARGIN, self.y), text, font=self.font, fontsize=size)
        self.y += gap

    def bytes(self, title: str) -> bytes:
        self._flush()
        self.doc.set_metadata({"title": title, "creator": "travelops", "producer": "travelops"})
        self.doc.subset_fonts()
        data: bytes = self.doc.tobytes(garbage=3, deflate=True, no_new_id=True)  # type: ignore[no-untyped-call]
        self.doc.close()  # type: ignore[no-untyped-call]
        return data


def _won(amount: int, currency: str) -> str:
    return Money(amount, currency).format()


def render_terms(order: dict[str, Any], quote: Quote, product: Product) -> bytes:
    pdf = _Pdf()
    pdf.write(f"단체 여행 전자약관 · {order['order_no']}", 16, 14)
    pdf.write(f"상품: {product.name} / 출발일: {order['departure_date']} / 인원: {quote.party}명")
    pdf.write(f"예약자: {order['contact'].get('name', '')} / 단체 모델: {quote.model}")
    pdf.write("")
    for line in quote.lines:
        pdf.write(f"- {line.label} × {line.quantity}: {_won(line.low or 0, quote.currency)}", 10)
    pdf.write(f"확정 금액: {_won(quote.total_minor, quote.currency)}", 12)
    pdf.write(f"예약금: {_won(quote.deposit_minor, quote.currency)}", 12)
    pdf.write("")
    for notice in quote.notices:
        pdf.write(notice, 9)
    for clause in TERMS:
        pdf.write(clause, 10)
    return pdf.bytes(f"전자약관 {order['order_no']}")


def render_itinerary(order: dict[str, Any], product: Product) -> bytes:
    pdf = _Pdf()
    pdf.write(f"여행 일정표 · {product.name}", 16, 14)
    pdf.write(f"예약번호 {order['order_no']} · 출발일 {order['departure_date']}")
    pdf.write("")
    for step in product.itinerary:
        pdf.write(step, 11)
    pdf.write("")
    pdf.write("여행자 명단", 12)
    for i, t in enumerate(order["travellers"], 1):
        pdf.write(
            f"{i}. {t['name']} ({'성인' if t.get('type', 'adult') == 'adult' else '아동'})", 10
        )
    return pdf.bytes(f"일정표 {order['order_no']}")


def write_documents(
    folder: Path, order: dict[str, Any], quote: Quote, product: Product
) -> dict[str, str]:
    """Write both PDFs (same bytes on a rerun) and return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    terms = folder / f"{order['order_no']}-terms.pdf"
    itinerary = folder / f"{order['order_no']}-itinerary.pdf"
    terms.write_bytes(render_terms(order, quote, product))
    itinerary.write_bytes(render_itinerary(order, product))
    return {"terms": str(terms), "itinerary": str(itinerary)}


def pdf_attachments(paths: dict[str, str]) -> list[Attachment]:
    return [
        Attachment(Path(path).name, Path(path).read_bytes(), "application/pdf")
        for path in paths.values()
    ]
