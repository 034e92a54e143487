from __future__ import annotations

import pytest

from domain.cards import contains_card_data, luhn_valid, mask_card_data, mask_pan
from domain.states import IllegalTransition, StateMachine

CANARY = "5555555555554444"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PAN 5555555555554444 ok", "PAN 5555 •••• •••• 4444 ok"),
        ("5555 5555 5555 4444", "5555 •••• •••• 4444"),
        ("5555-5555-5555-4444", "5555 •••• •••• 4444"),
        ("amex 378282246310005", "amex 3782 •••• ••• 0005"),
        ("CVC: 123 and cvv=4567", "CVC: ••• and cvv=••••"),
        ("보안코드 987", "보안코드 •••"),
        (
            "booking BK-20261122-0042, order 2026112200420001",
            "booking BK-20261122-0042, order 2026112200420001",
        ),
        ("phone 010-1234-5678", "phone 010-1234-5678"),
        ("Flow run 'BK-20261125-000178'", "Flow run 'BK-20261125-000178'"),  # Luhn-valid digits
        ("bk 20261125 000178 / 5555555555554444", "bk 20261125 000178 / 5555 •••• •••• 4444"),
        ("ref 20261125-000178", "ref 2026 •••• •• 0178"),  # without BK it may be a card
    ],
)
def test_mask_card_data(text: str, expected: str) -> None:
    assert mask_card_data(text) == expected


def test_mask_pan_display_form() -> None:
    assert mask_pan("5412751234561234") == "5412 •••• •••• 1234"
    assert luhn_valid(CANARY)
    assert not luhn_valid("5555555555554445")
    assert contains_card_data(f"pan={CANARY};")  # glued to letters is still a card number
    assert not contains_card_data(f"{CANARY}1")  # 17 digits failing Luhn: not a card


MACHINE = StateMachine.build(
    "demo",
    "quoted",
    {"quoted": ["paid", "cancelled"], "paid": ["confirmed", "refunded"]},
    terminal=["confirmed", "refunded", "cancelled"],
)


def test_state_machine_sources_and_checks() -> None:
    assert MACHINE.sources("refunded") == {"paid"}
    assert MACHINE.allows("quoted", "paid")
    with pytest.raises(IllegalTransition, match="confirmed → paid"):
        MACHINE.check("confirmed", "paid")
    assert "refunded" in MACHINE.states
