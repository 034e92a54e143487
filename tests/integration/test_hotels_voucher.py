"""Vouchers: the price area is removed from the PDF's content, not covered; problems are caught."""

from __future__ import annotations

import io

import pymupdf
import pypdf
import pytest

from domain.hotels import contains_amount
from sandbox.hotels_sim import voucher_pdf
from tasks.hotels_voucher import VoucherProblem, extract_text, redact_and_stamp


def _texts(pdf: bytes) -> list[str]:
    a = "\n".join(p.get_text() for p in pymupdf.open(stream=pdf, filetype="pdf"))
    b = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    return [a, b]


def test_price_area_is_redacted_and_confirmation_stamped() -> None:
    original = voucher_pdf("Harbor Plaza Guam", "BK-20261123-000001", "KIM MINJI",
                           "2027-03-10 to 2027-03-13", "USD 843.00", True)  # fmt: skip
    assert contains_amount(extract_text(original))  # the hotel's PDF shows the amount
    clean = redact_and_stamp(original, "HP78812")
    for text in _texts(clean):
        assert "HP78812" in text
        assert "843" not in text
        assert not contains_amount(text)
        assert "KIM MINJI" in text  # the rest of the voucher stays
    assert b"843" not in clean


def test_voucher_without_price_area_is_refused() -> None:
    pdf = voucher_pdf("Harbor Plaza Guam", "BK-1", "KIM", "stay", "USD 843.00", False)
    with pytest.raises(VoucherProblem, match="price area not found"):
        redact_and_stamp(pdf, "HP1")


def test_malformed_pdf_is_refused() -> None:
    with pytest.raises(VoucherProblem, match="not a readable PDF"):
        redact_and_stamp(b"%PDF-1.4\n% truncated\n", "HP1")
