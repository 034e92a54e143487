"""Fee schedules, payment settings and fee lines in the database (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import select

from db.audit import history
from db.models.fees import FeeLine, FeeSchedule
from db.session import session_scope
from domain.errors import InvalidInput
from tasks.fees import (
    FeeLineNotWaivable,
    active_schedule,
    load_fee_data,
    payment_setting_for,
    record_fee_events,
    save_schedule,
    set_payment_setting,
    trip_fee_lines,
    waive_fee_line,
)


def _key(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _booking(key: str, booking_type: str, agent: bool = False) -> dict[str, Any]:
    return {
        "event_key": key,
        "type": "booking",
        "booking_type": booking_type,
        "agent_assisted": agent,
    }


def test_schedules_load_from_data_once(db_url: str) -> None:
    with session_scope() as s:
        load_fee_data(s)
        load_fee_data(s)
        versions = s.scalars(select(FeeSchedule.owner).where(FeeSchedule.active.is_(True))).all()
        schedule = active_schedule(s)
    assert sorted(versions) == ["HANBIT", "TMC"]
    assert schedule.currency == "KRW"
    assert schedule.for_company("HANBIT").plan.value == "trip"
    assert schedule.for_company("DAEHAN") is schedule


def test_new_schedule_version_replaces_the_active_one(db_url: str) -> None:
    owner = _key("CO")[:20]
    doc = {"currency": "USD", "plan": "trip", "default_trip_rule": {"regular": "10", "vip": "8"}}
    with session_scope() as s:
        assert save_schedule(s, owner, doc) == 1
        assert save_schedule(s, owner, doc) == 1  # unchanged: no new version
        assert save_schedule(s, owner, {**doc, "plan": "trip+transaction"}) == 2
        active = s.scalars(
            select(FeeSchedule.version).where(
                FeeSchedule.owner == owner, FeeSchedule.active.is_(True)
            )
        ).all()
        assert active == [2]
        with pytest.raises(InvalidInput, match="plan"):
            save_schedule(s, owner, {**doc, "plan": "monthly"})
        # keep the shared TMC schedule free of this test company
        s.query(FeeSchedule).filter(FeeSchedule.owner == owner).delete()


def test_vcc_service_fee_recorded_once_under_retries(db_url: str) -> None:
    booking_no = _key("HB")
    event = {
        "event_key": f"hotel-vcc:{booking_no}:virtual_payment",
        "type": "service",
        "service": "virtual_payment",
        "booking_type": "hotel",
    }
    first = record_fee_events("DAEHAN", booking_no, [event], source="hotel_vcc")
    again = record_fee_events("DAEHAN", booking_no, [event], source="hotel_vcc")
    assert first == again
    assert [(ln["kind"], ln["rule"], ln["amount"], ln["currency"]) for ln in first] == [
        ("service", "가상 결제", "2000", "KRW")
    ]
    assert first[0]["payment_method"] == "delayed_invoice"
    assert len(trip_fee_lines(booking_no)) == 1


def test_company_schedule_and_legal_entity_payment_override(db_url: str) -> None:
    trip = _key("GR")
    lines = record_fee_events(
        "HANBIT",
        trip,
        [_booking(f"group:{trip}:booking", "package", agent=True)],
        source="group",
        legal_entity="HANBIT-VN",
    )
    assert [(ln["kind"], ln["rule"], ln["amount"]) for ln in lines] == [
        ("trip", "default", "15000")
    ]
    assert lines[0]["payment_method"] == "central_card"
    assert lines[0]["show_to_traveller"] is True
    with session_scope() as s:
        assert payment_setting_for(s, "HANBIT", "HANBIT-VN")["central_card_name"] == (
            "Hanbit Vietnam Corporate Visa"
        )
        assert payment_setting_for(s, "HANBIT", "HANBIT-KR")["method"] == "delayed_invoice"


def test_trip_fee_increments_across_calls_and_seed_total(db_url: str) -> None:
    trip = _key("TR")
    hotel = record_fee_events(None, trip, [_booking(f"{trip}:hotel", "hotel")], source="manual")
    air = record_fee_events(
        None,
        trip,
        [
            _booking(f"{trip}:air", "air", agent=True),
            *[
                {
                    "event_key": f"{trip}:modify:{i}",
                    "type": "transaction",
                    "transaction": "modify",
                    "booking_type": "air",
                    "agent_assisted": True,
                }
                for i in range(3)
            ],
        ],
        source="manual",
    )
    assert [ln["amount"] for ln in hotel] == ["10000"]
    assert [(ln["kind"], ln["amount"]) for ln in air] == [
        ("trip", "40000"),
        ("transaction", "9000"),
        ("transaction", "9000"),
        ("transaction", "9000"),
    ]
    assert sum(ln["amount_minor"] for ln in trip_fee_lines(trip)) == 50000 + 3 * 9000
    assert air[0]["payment_method"] == "same_card"


def test_concurrent_calls_record_each_event_once(db_url: str) -> None:
    trip = _key("CC")
    events = [
        _booking(f"{trip}:b{i}", bt, agent=i == 2)
        for i, bt in enumerate(["hotel", "rail", "air", "hotel"])
    ]

    def call(i: int) -> list[dict[str, Any]]:
        return record_fee_events("DAEHAN", trip, [events[i % 4]], source="manual")

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(call, range(16)))
    for i, result in enumerate(results):
        assert result == results[i % 4]  # the same stored lines for every caller of an event
    lines = trip_fee_lines(trip)
    assert len({ln["line_key"] for ln in lines}) == len(lines)
    assert sum(ln["amount_minor"] for ln in lines if ln["kind"] == "trip") == 50000


def test_bad_events_are_refused_naming_the_field(db_url: str) -> None:
    with pytest.raises(InvalidInput) as err:
        record_fee_events(
            None,
            _key("X"),
            [{"event_key": "k", "type": "service", "service": "lounge"}],
            source="manual",
        )
    assert err.value.field == "events[0].service"
    with pytest.raises(InvalidInput) as err:
        record_fee_events(
            None, _key("X"), [{"type": "booking", "booking_type": "air"}], source="manual"
        )
    assert err.value.field == "events[0].event_key"


def test_company_admin_cannot_choose_delayed_invoice(db_url: str) -> None:
    with session_scope() as s:
        with pytest.raises(InvalidInput, match="company admins"):
            set_payment_setting(
                s,
                company="MIRAE",
                method="delayed_invoice",
                role="company_admin",
                terms="NET30",
                invoice_email="a@b.example",
            )
        row = set_payment_setting(
            s,
            company="MIRAE",
            method="central_card",
            role="company_admin",
            central_card_name="Mirae Amex",
        )
        assert row.central_card_name == "Mirae Amex"
        set_payment_setting(s, company="MIRAE", method="same_card", role="tmc_admin")


def test_waive_fee_with_audit_trail(db_url: str) -> None:
    trip = _key("WV")
    lines = record_fee_events(
        "DAEHAN",
        trip,
        [
            _booking(f"{trip}:air", "air"),
            {"event_key": f"{trip}:vcc", "type": "service", "service": "virtual_payment"},
        ],
        source="manual",
    )
    trip_line, service_line = lines
    with pytest.raises(InvalidInput, match="reason"):
        waive_fee_line(trip_line["id"], "NOT_A_CODE", "agent:lee")
    with pytest.raises(InvalidInput, match="cannot be waived"):
        waive_fee_line(service_line["id"], "GOODWILL", "agent:lee")
    waived = waive_fee_line(trip_line["id"], "GOODWILL", "agent:lee")
    assert waived["waived"] is True
    with pytest.raises(FeeLineNotWaivable):
        waive_fee_line(trip_line["id"], "GOODWILL", "agent:park")
    with session_scope() as s:
        row = s.get(FeeLine, trip_line["id"])
        assert row is not None
        assert (row.waiver_code, row.waived_by) == ("GOODWILL", "agent:lee")
        trail = [(t.accepted, t.actor) for t in history(s, "fee_lines", str(trip_line["id"]))]
    assert trail == [(False, "agent:lee"), (True, "agent:lee"), (False, "agent:park")]
    other = waive_fee_line(
        record_fee_events("DAEHAN", _key("WV"), [_booking(_key("ev"), "hotel")], source="manual")[
            0
        ]["id"],
        "other",
        "agent:lee",
        text="고객 불만 응대",
    )
    assert other["waiver_text"] == "고객 불만 응대"
