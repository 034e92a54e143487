"""The fee engine against the spec (tmc-fees.md) and seed 002's worked example."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.fees import (
    FeeEvent,
    FeeKind,
    InvoiceTerms,
    PaymentMethod,
    PaymentSetting,
    calculate,
    charge,
    check_waiver,
    invoice_due_date,
    parse_period,
    parse_schedule,
    previous_month,
    resolve_payment_setting,
    validate_payment_setting,
)
from domain.money import Money

SEED_EXAMPLE: dict[str, Any] = {
    "currency": "USD",
    "plan": "trip+transaction",
    "dynamic_trip_fee": True,
    "agent_fee": True,
    "trip_rules": [
        {
            "name": "trip with air",
            "when": {"booking_type": "air"},
            "regular": "20",
            "vip": "20",
            "agent_regular": "50",
            "agent_vip": "50",
        },
    ],
    "default_trip_rule": {"regular": "10", "vip": "10", "agent_regular": "30", "agent_vip": "30"},
    "transaction_rules": [
        {
            "name": "agent modification",
            "when": {"transaction": "modify", "agent_assisted": True},
            "regular": "9",
            "vip": "9",
        }
    ],
    "chargeable_transactions": ["modify"],
}

SPEC_SCHEDULE: dict[str, Any] = {
    "currency": "USD",
    "plan": "trip+transaction",
    "dynamic_trip_fee": True,
    "agent_fee": True,
    "trip_rules": [
        {
            "name": "air",
            "when": {"booking_type": "air"},
            "regular": "20",
            "vip": "15",
            "agent_regular": "50",
            "agent_vip": "40",
        }
    ],
    "default_trip_rule": {"regular": "10", "vip": "8", "agent_regular": "30", "agent_vip": "25"},
    "transaction_rules": [
        {
            "name": "agent modify",
            "when": {"transaction": "modify", "agent_assisted": True},
            "regular": "9",
            "vip": "9",
        },
        {
            "name": "agent contact",
            "when": {"transaction": "agent_contact"},
            "regular": "5",
            "vip": "3",
        },
        {"name": "booking", "when": {"transaction": "book"}, "regular": "1", "vip": "1"},
    ],
    "service_rules": [
        {"name": "virtual card", "when": {"service": "virtual_payment"}, "regular": "2", "vip": "2"}
    ],
    "chargeable_transactions": ["modify", "cancel", "add_service", "agent_contact"],
    "waiver": {"enabled": True, "reasons": [{"code": "GOODWILL", "description": "recovery"}]},
}

HOTEL = {"type": "booking", "booking_type": "hotel", "agent_assisted": False}
AIR_AGENT = {"type": "booking", "booking_type": "air", "agent_assisted": True}
MODIFY_AGENT = {"type": "modify", "booking_type": "air", "agent_assisted": True}
VCC = {"type": "service", "service": "virtual_payment", "booking_type": "hotel"}


def schedule(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(SPEC_SCHEDULE)
    doc.update(changes)
    return doc


def lines_of(result: dict[str, Any]) -> list[tuple[int, str, str, str, bool]]:
    return [
        (ln["event"], ln["kind"], ln["rule"], ln["amount"], ln["waived"]) for ln in result["lines"]
    ]


def test_seed_worked_example_is_77_dollars() -> None:
    trip = {"events": [AIR_AGENT, MODIFY_AGENT, MODIFY_AGENT, MODIFY_AGENT]}
    result = calculate(SEED_EXAMPLE, trip)
    assert lines_of(result) == [
        (0, "trip", "trip with air", "50.00", False),
        (1, "transaction", "agent modification", "9.00", False),
        (2, "transaction", "agent modification", "9.00", False),
        (3, "transaction", "agent modification", "9.00", False),
    ]
    assert result["total"] == "77.00"
    assert result["waived_total"] == "0.00"


def test_spec_calculator_example() -> None:
    trip = {
        "company": "ACME",
        "vip": False,
        "events": [HOTEL, AIR_AGENT, MODIFY_AGENT, {"type": "agent_contact"}, VCC],
        "waivers": [{"event": 2, "kind": "transaction", "reason": "GOODWILL"}],
    }
    result = calculate(SPEC_SCHEDULE, trip)
    assert result["currency"] == "USD"
    assert lines_of(result) == [
        (0, "trip", "default", "10.00", False),
        (1, "trip", "air", "40.00", False),
        (2, "transaction", "agent modify", "9.00", True),
        (3, "transaction", "agent contact", "5.00", False),
        (4, "service", "virtual card", "2.00", False),
    ]
    assert result["total"] == "57.00"
    assert result["waived_total"] == "9.00"


@pytest.mark.parametrize(
    ("order", "increments"),
    [
        ([AIR_AGENT, HOTEL], ["50.00"]),  # air first: the maximum at once, the hotel adds nothing
        ([HOTEL, AIR_AGENT], ["10.00", "40.00"]),
        ([HOTEL, HOTEL, HOTEL], ["10.00"]),
        ([{**HOTEL, "agent_assisted": True}, AIR_AGENT], ["30.00", "20.00"]),
    ],
)
def test_dynamic_trip_fee_charges_increments_up_to_the_highest(
    order: list[dict[str, Any]], increments: list[str]
) -> None:
    result = calculate(SPEC_SCHEDULE, {"events": order})
    assert [ln["amount"] for ln in result["lines"] if ln["kind"] == "trip"] == increments
    expected_total = sum(int(x.replace(".", "")) for x in increments)
    assert result["total"] == f"{expected_total // 100}.{expected_total % 100:02d}"
    assert expected_total == (
        5000
        if AIR_AGENT in order
        else max(1000, 3000 * ({**HOTEL, "agent_assisted": True} in order))
    )


def test_vip_amounts_and_agent_vip_amounts() -> None:
    result = calculate(
        SPEC_SCHEDULE, {"vip": True, "events": [HOTEL, AIR_AGENT, {"type": "agent_contact"}]}
    )
    assert lines_of(result) == [
        (0, "trip", "default", "8.00", False),
        (1, "trip", "air", "32.00", False),  # agent VIP 40 − 8
        (2, "transaction", "agent contact", "3.00", False),
    ]


def test_agent_amounts_ignored_when_agent_fee_off() -> None:
    result = calculate(schedule(agent_fee=False), {"events": [AIR_AGENT]})
    assert lines_of(result) == [(0, "trip", "air", "20.00", False)]


def test_static_trip_fee_decided_at_first_booking() -> None:
    doc = schedule(dynamic_trip_fee=False)
    hotel_first = calculate(doc, {"events": [HOTEL, AIR_AGENT]})
    assert [ln for ln in lines_of(hotel_first) if ln[1] == "trip"] == [
        (0, "trip", "default", "10.00", False)
    ]
    air_first = calculate(doc, {"events": [AIR_AGENT, HOTEL]})
    # agent amounts ignored without dynamic fees: the air rule's regular amount
    assert [ln for ln in lines_of(air_first) if ln[1] == "trip"] == [
        (0, "trip", "air", "20.00", False)
    ]


def test_first_full_match_wins_and_conditions_are_anded() -> None:
    doc = schedule(
        trip_rules=[
            {
                "name": "agent air",
                "when": {"booking_type": "air", "agent_assisted": True},
                "regular": "70",
                "vip": "70",
            },
            {"name": "air", "when": {"booking_type": "air"}, "regular": "20", "vip": "20"},
            {"name": "air again", "when": {"booking_type": "air"}, "regular": "99", "vip": "99"},
        ],
        agent_fee=False,
    )
    self_air = calculate(doc, {"events": [{"type": "booking", "booking_type": "air"}]})
    assert lines_of(self_air) == [(0, "trip", "air", "20.00", False)]
    agent_air = calculate(doc, {"events": [AIR_AGENT]})
    assert lines_of(agent_air) == [(0, "trip", "agent air", "70.00", False)]
    rail = calculate(doc, {"events": [{"type": "booking", "booking_type": "rail"}]})
    assert lines_of(rail) == [(0, "trip", "default", "10.00", False)]


def test_vip_condition() -> None:
    doc = schedule(
        trip_rules=[
            {
                "name": "vip rail",
                "when": {"booking_type": "rail", "vip": True},
                "regular": "1",
                "vip": "4",
            }
        ]
    )
    rail = {"type": "booking", "booking_type": "rail"}
    assert lines_of(calculate(doc, {"vip": True, "events": [rail]}))[0][2:4] == ("vip rail", "4.00")
    assert lines_of(calculate(doc, {"vip": False, "events": [rail]}))[0][2:4] == (
        "default",
        "10.00",
    )


def test_plan_trip_charges_no_transaction_fees_but_service_fees() -> None:
    result = calculate(
        schedule(plan="trip"), {"events": [HOTEL, MODIFY_AGENT, {"type": "agent_contact"}, VCC]}
    )
    assert [ln[1] for ln in lines_of(result)] == ["trip", "service"]


def test_plan_transaction_charges_no_trip_fee_but_service_fees() -> None:
    doc = schedule(plan="transaction", dynamic_trip_fee=False)
    result = calculate(doc, {"events": [HOTEL, MODIFY_AGENT, {"type": "agent_contact"}, VCC]})
    assert [(ln[1], ln[2]) for ln in lines_of(result)] == [
        ("transaction", "agent modify"),
        ("transaction", "agent contact"),
        ("service", "virtual card"),
    ]


def test_only_listed_transactions_are_chargeable_and_book_is_one() -> None:
    no_book = calculate(SPEC_SCHEDULE, {"events": [HOTEL]})
    assert [ln[1] for ln in lines_of(no_book)] == ["trip"]
    with_book = calculate(schedule(chargeable_transactions=["book", "modify"]), {"events": [HOTEL]})
    assert lines_of(with_book) == [
        (0, "trip", "default", "10.00", False),
        (0, "transaction", "booking", "1.00", False),
    ]
    unlisted = calculate(schedule(chargeable_transactions=["cancel"]), {"events": [MODIFY_AGENT]})
    assert lines_of(unlisted) == []


def test_transaction_without_matching_rule_has_no_fee() -> None:
    self_modify = {"type": "modify", "booking_type": "air", "agent_assisted": False}
    assert lines_of(calculate(SPEC_SCHEDULE, {"events": [self_modify]})) == []


def test_transaction_agent_amounts_apply_to_agent_assisted_events() -> None:
    doc = schedule(
        transaction_rules=[
            {
                "name": "cancel",
                "when": {"transaction": "cancel"},
                "regular": "5",
                "vip": "5",
                "agent_regular": "15",
                "agent_vip": "12",
            }
        ]
    )
    events = [{"type": "cancel"}, {"type": "cancel", "agent_assisted": True}]
    assert [ln[3] for ln in lines_of(calculate(doc, {"events": events}))] == ["5.00", "15.00"]
    assert [ln[3] for ln in lines_of(calculate(doc, {"vip": True, "events": events}))] == [
        "5.00",
        "12.00",
    ]
    doc["agent_fee"] = False
    assert [ln[3] for ln in lines_of(calculate(doc, {"events": events}))] == ["5.00", "5.00"]


def test_agent_contact_needs_dynamic_trip_fees_under_trip_plans() -> None:
    contact = {"type": "agent_contact"}
    assert lines_of(calculate(schedule(dynamic_trip_fee=False), {"events": [contact]})) == []
    assert len(lines_of(calculate(SPEC_SCHEDULE, {"events": [contact]}))) == 1


def test_service_fee_under_every_plan() -> None:
    for plan in ("trip", "transaction", "trip+transaction"):
        result = calculate(schedule(plan=plan), {"events": [VCC]})
        assert lines_of(result) == [(0, "service", "virtual card", "2.00", False)], plan


def test_company_schedule_replaces_the_tmc_schedule() -> None:
    own = {
        "currency": "KRW",
        "plan": "trip",
        "default_trip_rule": {"regular": "15000", "vip": "10000"},
    }
    doc = schedule(companies={"ACME": own})
    acme = calculate(doc, {"company": "ACME", "events": [AIR_AGENT, VCC]})
    assert acme["currency"] == "KRW"
    assert lines_of(acme) == [(0, "trip", "default", "15000", False)]  # no TMC service rule
    assert acme["total"] == "15000"
    other = calculate(doc, {"company": "OTHER", "events": [AIR_AGENT]})
    assert other["currency"] == "USD"
    assert calculate(doc, {"company": None, "events": [AIR_AGENT]})["total"] == "50.00"


@pytest.mark.parametrize(
    ("waiver", "field"),
    [
        ({"event": 1, "kind": "service", "reason": "GOODWILL"}, "waivers[0].kind"),
        ({"event": 0, "kind": "trip", "reason": "BOGUS"}, "waivers[0].reason"),
        ({"event": 0, "kind": "trip", "reason": "other"}, "waivers[0].text"),
        ({"event": 5, "kind": "trip", "reason": "GOODWILL"}, "waivers[0]"),
    ],
)
def test_bad_waivers_are_refused(waiver: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        calculate(SPEC_SCHEDULE, {"events": [HOTEL, VCC], "waivers": [waiver]})
    assert err.value.field == field


def test_waiver_other_with_text_and_disabled_waivers() -> None:
    trip = {
        "events": [HOTEL],
        "waivers": [{"event": 0, "kind": "trip", "reason": "other", "text": "VIP complaint"}],
    }
    result = calculate(SPEC_SCHEDULE, trip)
    assert result["total"] == "0.00"
    assert result["waived_total"] == "10.00"
    with pytest.raises(InvalidInput, match="not enabled"):
        calculate(schedule(waiver={"enabled": False}), trip)


def test_check_waiver_without_configured_reasons_accepts_free_reason() -> None:
    policy = parse_schedule(schedule(waiver={"enabled": True})).waiver
    assert check_waiver(policy, FeeKind.TRIP, "late change") == ("late change", None)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"plan": "per-trip"}, "plan"),
        ({"currency": "XYZ"}, "currency"),
        ({"trip_rules": [{"name": "air", "when": {"booking_type": "air"}}]}, "trip_rules[0]"),
        (
            {
                "trip_rules": [
                    {"name": "air", "when": {"booking_type": "air"}, "regular": "-1", "vip": "1"}
                ]
            },
            "trip_rules[0].regular",
        ),
        (
            {
                "trip_rules": [
                    {"name": "air", "when": {"booking_type": "air"}, "regular": "1.001", "vip": "1"}
                ]
            },
            "trip_rules[0].regular",
        ),
        (
            {
                "trip_rules": [
                    {"name": "air", "when": {"colour": "red"}, "regular": "1", "vip": "1"}
                ]
            },
            "trip_rules[0].when.colour",
        ),
        (
            {
                "trip_rules": [
                    {"name": "air", "when": {"agent_assisted": "yes"}, "regular": "1", "vip": "1"}
                ]
            },
            "trip_rules[0].when.agent_assisted",
        ),
        ({"default_trip_rule": None}, "default_trip_rule"),
        (
            {
                "service_rules": [
                    {"name": "s", "when": {"service": "lounge"}, "regular": "1", "vip": "1"}
                ]
            },
            "service_rules[0].when.service",
        ),
        ({"companies": {"ACME": {"currency": "USD", "plan": "nope"}}}, "companies.ACME.plan"),
    ],
)
def test_invalid_schedules_name_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_schedule(schedule(**change))
    assert err.value.field == field


def test_krw_amounts_have_no_decimals() -> None:
    doc = {
        "currency": "KRW",
        "plan": "trip",
        "default_trip_rule": {"regular": "15000", "vip": "9000"},
    }
    assert calculate(doc, {"events": [HOTEL]})["lines"][0]["amount"] == "15000"


# dynamic trip fee property -------------------------------------------------------------------
BOOKINGS = st.builds(
    FeeEvent,
    type=st.just("booking"),
    booking_type=st.sampled_from(["air", "hotel", "rail", "car"]),
    agent_assisted=st.booleans(),
)
OTHER_EVENTS = st.builds(
    FeeEvent,
    type=st.sampled_from(["modify", "cancel", "agent_contact"]),
    booking_type=st.sampled_from(["air", "hotel"]),
    agent_assisted=st.booleans(),
)
RULED = parse_schedule(
    schedule(
        trip_rules=[
            {
                "name": "air",
                "when": {"booking_type": "air"},
                "regular": "20",
                "vip": "15",
                "agent_regular": "50",
                "agent_vip": "40",
            },
            {
                "name": "rail",
                "when": {"booking_type": "rail"},
                "regular": "12",
                "vip": "11",
                "agent_regular": "35",
                "agent_vip": "33",
            },
        ]
    )
)


@settings(max_examples=150, deadline=None)
@given(
    events=st.lists(st.one_of(BOOKINGS, OTHER_EVENTS), min_size=1, max_size=8),
    vip=st.booleans(),
    data=st.data(),
)
def test_trip_fee_never_exceeds_the_highest_applicable_in_any_order(
    events: list[FeeEvent], vip: bool, data: st.DataObject
) -> None:
    from domain.fees import applicable_trip_fee

    shuffled = data.draw(st.permutations(events))
    bookings = [e for e in events if e.is_booking]
    highest = max(
        (applicable_trip_fee(RULED, e, vip)[1] for e in bookings), default=Money.zero("USD")
    )
    for order in (events, shuffled):
        lines, _state = charge(RULED, order, vip=vip)
        trip_lines = [ln for ln in lines if ln.kind == FeeKind.TRIP]
        assert all(ln.amount.amount_minor > 0 for ln in trip_lines)
        charged = sum(ln.amount.amount_minor for ln in trip_lines)
        assert charged == highest.amount_minor  # never more, and the whole fee in the end
        # and incrementally, one event at a time from the saved state, the same lines
        step_state = None
        step_lines = []
        for i, event in enumerate(order):
            added, step_state = charge(RULED, [event], vip=vip, state=step_state, first_index=i)
            step_lines.extend(added)
        assert step_lines == lines


# payment method ------------------------------------------------------------------------------
def test_company_admin_cannot_choose_delayed_invoicing() -> None:
    with pytest.raises(InvalidInput, match="company admins") as err:
        validate_payment_setting("delayed_invoice", role="company_admin", terms="NET30")
    assert err.value.field == "method"
    ok = validate_payment_setting("delayed_invoice", role="tmc_admin", terms="NET60")
    assert ok.terms is InvoiceTerms.NET60


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"method": "central_card", "role": "company_admin"}, "central_card_name"),
        ({"method": "delayed_invoice", "role": "tmc_admin", "terms": "NET45"}, "terms"),
        ({"method": "cash", "role": "tmc_admin"}, "method"),
        ({"method": "same_card", "role": "traveller"}, "role"),
    ],
)
def test_invalid_payment_settings(kwargs: dict[str, Any], field: str) -> None:
    method = kwargs.pop("method")
    with pytest.raises(InvalidInput) as err:
        validate_payment_setting(method, **kwargs)
    assert err.value.field == field


def test_legal_entity_overrides_company_payment_setting() -> None:
    company = PaymentSetting(PaymentMethod.CENTRAL_CARD, central_card_name="ACME Corporate")
    entity = PaymentSetting(PaymentMethod.DELAYED_INVOICE, terms=InvoiceTerms.NET30)
    settings_map = {("ACME", ""): company, ("ACME", "ACME Korea"): entity}
    assert resolve_payment_setting(settings_map, "ACME", "ACME Korea") is entity
    assert resolve_payment_setting(settings_map, "ACME", "ACME Japan") is company
    assert resolve_payment_setting(settings_map, "OTHER").method is PaymentMethod.SAME_CARD


def test_invoice_dates() -> None:
    assert invoice_due_date(date(2026, 12, 1), "NET30") == date(2026, 12, 31)
    assert invoice_due_date(date(2026, 12, 1), InvoiceTerms.NET60) == date(2027, 1, 30)
    assert previous_month(date(2027, 1, 1)) == "2026-12"
    assert parse_period("2026-12") == (date(2026, 12, 1), date(2027, 1, 1))
    with pytest.raises(InvalidInput):
        parse_period("2026/12")
