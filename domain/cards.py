"""Card-number shapes: Luhn, masking for display, and scrubbing card data out of free text."""

from __future__ import annotations

import re

from domain.hotels import BOOKING_NO_RE

MASK_DOT = "•"

# 13–19 digits, optionally grouped by single spaces or dashes, not glued to other digits.
_PAN_RE = re.compile(r"(?<![\d])(?:\d[ -]?){12,18}\d(?![\d])")
# A CVC/CVV/CSC label followed by 3–4 digits: "CVC: 123", "cvv=1234", "보안코드 123".
_CVC_RE = re.compile(
    r"(?i)(\b(?:cvc2?|cvv2?|csc|cid|security\s*code)\b|보안\s*코드)(\s*[:=#]?\s*[\"']?)(\d{3,4})(?!\d)"
)


def digits_only(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def luhn_valid(number: str) -> bool:
    """The Luhn checksum every payment card number carries."""
    digits = digits_only(number)
    if not 12 <= len(digits) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def mask_pan(pan: str) -> str:
    """Display form keeping the first 4 and last 4 digits: "5412 •••• •••• 1234"."""
    digits = digits_only(pan)
    if len(digits) < 8:
        return MASK_DOT * 4
    middle_len = len(digits) - 8
    groups = [MASK_DOT * 4] * (middle_len // 4)
    if middle_len % 4:
        groups.append(MASK_DOT * (middle_len % 4))
    return " ".join([digits[:4], *groups, digits[-4:]])


def last4(pan: str) -> str:
    return digits_only(pan)[-4:]


def mask_card_data(text: str) -> str:
    """Replace anything shaped like a card number (Luhn-valid) or a labelled CVC with its mask."""
    if not text:
        return text

    # Our booking numbers (BK-YYYYMMDD-NNNNNN): a date and a serial that pass Luhn one time in
    # ten, never a card number. Digits wholly inside one are left alone.
    bookings = [m.span() for m in BOOKING_NO_RE.finditer(text)]

    def _pan(match: re.Match[str]) -> str:
        candidate = match.group(0)
        if any(start <= match.start() and match.end() <= end for start, end in bookings):
            return candidate
        return mask_pan(candidate) if luhn_valid(candidate) else candidate

    masked = _PAN_RE.sub(_pan, text)
    return _CVC_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}{'•' * len(m.group(3))}", masked)


def contains_card_data(text: str) -> bool:
    return mask_card_data(text) != text
