"""Settlement against SQLite and PostgreSQL: postings, adjustments, reruns and concurrent runs."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from db.coupons import (
    change_reservation,
    complete_reservation,
    insert_reservations,
    ledger_for,
)
from db.models.coupons import Coupon, CouponUse, PackageReservation
from db.session import session_scope
from domain.coupons import (
    ACCOUNT_COMMISSION,
    ACCOUNT_COST_SHARE,
    ACCOUNT_SELLER_COUPON,
    TransferRefused,
    change_sale_price,
    seller_coupon_window,
    settlement_date_for_run,
    transfer_reservation,
)
from tasks.coupons_data import generate_reservations
from tasks.coupons_settlement import (
    compute_settlement_frames,
    load_settlement_inputs,
    post_settlement_ledger,
)

FRIDAY = date(2031, 3, 14)
MONDAY = date(2031, 3, 17)


def settle(day: date) -> tuple[int, Any]:
    computation = compute_settlement_frames(load_settlement_inputs.fn(day))
    return post_settlement_ledger.fn(day, computation.entries, "test"), computation


def _reservation(rid: str, day: date, **kw: Any) -> PackageReservation:
    values: dict[str, Any] = {
        "reservation_id": rid,
        "agency": "AG-1",
        "contract_type": "001",
        "channel": "PARTNER_PORTAL",
        "transaction_type": "R",
        "sale_price_minor": 1_290_000,
        "variable_price_minor": 0,
        "base_pct": "7",
        "over_pct": "0",
        "grade_pct": "0",
        "coupon_serial": None,
        "coupon_amount_minor": None,
        "agency_share_pct": None,
        "status": "completed",
        "settle_on": day,
        "travellers": [],
    }
    values.update(kw)
    return PackageReservation(**values)


def test_seed_cases_post_then_rerun_posts_nothing_then_change_adjusts(db_url: str) -> None:
    p = uuid.uuid4().hex[:6]
    with session_scope() as s:
        s.add_all(
            [
                _reservation(f"{p}-none", FRIDAY),
                _reservation(
                    f"{p}-old",
                    FRIDAY,
                    coupon_serial="CP00325496",
                    coupon_amount_minor=20_000,
                    agency_share_pct="0.4",
                ),
                _reservation(
                    f"{p}-new",
                    FRIDAY,
                    coupon_serial="CP10000001",
                    coupon_amount_minor=20_000,
                    agency_share_pct="50",
                ),
                _reservation(
                    f"{p}-sco",
                    FRIDAY,
                    channel="SCO",
                    base_pct="1.6",
                    coupon_serial="CP00325496",
                    coupon_amount_minor=20_000,
                    agency_share_pct="0",
                ),
                _reservation(
                    f"{p}-bad",
                    FRIDAY,
                    coupon_serial="CP10000001",
                    coupon_amount_minor=20_000,
                    agency_share_pct="51",
                ),
            ]
        )
    posted, computation = settle(FRIDAY)
    keys = [f"{p}-{k}" for k in ("none", "old", "new", "sco", "bad")]
    with session_scope() as s:
        lines = ledger_for(s, keys)
    amounts = {(e["business_key"], e["account"]): e["amount_minor"] for e in lines}
    assert amounts == {
        (f"{p}-none", ACCOUNT_COMMISSION): 90_300,
        (f"{p}-old", ACCOUNT_COMMISSION): 85_140,
        (f"{p}-old", ACCOUNT_COST_SHARE): 5_160,
        (f"{p}-new", ACCOUNT_COMMISSION): 80_300,
        (f"{p}-new", ACCOUNT_COST_SHARE): 10_000,
        (f"{p}-sco", ACCOUNT_COMMISSION): 20_320,
    }
    assert posted >= 6
    assert {e["kind"] for e in lines} == {"posting"}
    rejected = {r["reservation_id"]: r["error"] for r in computation.rejected}
    assert rejected[f"{p}-bad"].startswith("agency_share_pct='51'")

    again, _ = settle(FRIDAY)
    assert again == 0  # rerunning a settled day posts nothing new

    # a price change after posting: coupon amount fixed, commission recomputed → adjustment
    with session_scope() as s:
        outcome = change_reservation(
            s, f"{p}-new", lambda r: change_sale_price(r, 1_390_000), changed_on=MONDAY, actor="ops"
        )
    assert outcome.warnings
    with session_scope() as s, pytest.raises(TransferRefused):
        change_reservation(
            s,
            f"{p}-old",
            lambda r: transfer_reservation(r, agency="AG-2", contract_type="001"),
            changed_on=MONDAY,
            actor="ops",
        )
    settle(MONDAY)
    with session_scope() as s:
        lines = ledger_for(s, [f"{p}-new", f"{p}-old"])
        old_row = s.get(PackageReservation, f"{p}-old")
        assert old_row is not None
        assert old_row.agency == "AG-1"
        assert old_row.settle_on == FRIDAY
    new_lines = [e for e in lines if e["business_key"] == f"{p}-new"]
    adjustments = [e for e in new_lines if e["kind"] == "adjustment"]
    assert [(e["account"], e["amount_minor"]) for e in adjustments] == [
        (ACCOUNT_COMMISSION, 97_300 - 10_000 - 80_300)
    ]
    assert sum(e["amount_minor"] for e in new_lines if e["account"] == ACCOUNT_COMMISSION) == 87_300
    assert settle(MONDAY)[0] == 0
    assert settle(FRIDAY)[0] == 0


def test_cancellation_after_posting_reverses(db_url: str) -> None:
    p = uuid.uuid4().hex[:6]
    day, later = date(2031, 4, 1), date(2031, 4, 2)
    with session_scope() as s:
        s.add(
            _reservation(
                f"{p}-c",
                day,
                coupon_serial="CP10000001",
                coupon_amount_minor=20_000,
                agency_share_pct="50",
            )
        )
    settle(day)
    with session_scope() as s:
        row = s.get(PackageReservation, f"{p}-c")
        assert row is not None
        row.status, row.settle_on = "cancelled", later
    settle(later)
    with session_scope() as s:
        lines = ledger_for(s, [f"{p}-c"])
    by_account: dict[str, int] = {}
    for e in lines:
        by_account[e["account"]] = by_account.get(e["account"], 0) + e["amount_minor"]
    assert by_account == {ACCOUNT_COMMISSION: 0, ACCOUNT_COST_SHARE: 0}
    assert [e["kind"] for e in lines] == ["posting", "posting", "adjustment", "adjustment"]


def test_two_concurrent_settlements_of_one_day_post_once(db_url: str) -> None:
    day = date(2031, 5, 7) if db_url.startswith("sqlite") else date(2031, 5, 8)
    prefix = f"CC{uuid.uuid4().hex[:4]}"
    frame = generate_reservations(400, seed=3, prefix=prefix)
    with session_scope() as s:
        insert_reservations(s, frame, day)
    results: list[int] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        inputs = load_settlement_inputs.fn(day)
        computation = compute_settlement_frames(inputs)
        barrier.wait()
        results.append(post_settlement_ledger.fn(day, computation.entries, "race"))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expected = len(compute_settlement_frames(load_settlement_inputs.fn(day)).entries)
    assert sorted(results) == [0, expected]
    with session_scope() as s:
        lines = ledger_for(s, frame["reservation_id"].tolist())
    assert len(lines) == expected


def test_seller_borne_coupons_due_next_business_day(db_url: str) -> None:
    serial = f"CP1{uuid.uuid4().int % 10**7:07d}"
    with session_scope() as s:
        s.add(
            Coupon(
                serial=serial,
                name="봄맞이 쿠폰",
                vendor="VENDOR-9",
                scope="all_facilities",
                facilities=[],
                audience="everyone",
                discount_kind="fixed",
                amount_minor=5_000,
                issue_start=datetime(2031, 6, 1, tzinfo=UTC),
                issue_end=datetime(2031, 6, 30, tzinfo=UTC),
                seller_borne=True,
                created_by="test",
            )
        )
        s.flush()
        # Friday, Saturday (both due Monday), Monday (due Tuesday), a cancelled one
        for order, done, cancelled in (
            ("o1", date(2031, 6, 13), None),
            ("o2", date(2031, 6, 14), None),
            ("o3", date(2031, 6, 16), None),
            ("o4", date(2031, 6, 13), datetime(2031, 6, 12, tzinfo=UTC)),
        ):
            s.add(
                CouponUse(
                    serial=serial,
                    order_id=f"{serial}-{order}",
                    order_amount_minor=50_000,
                    discount_minor=5_000,
                    seller_borne=True,
                    usage_completed_on=done,
                    cancelled_at=cancelled,
                )
            )
    assert seller_coupon_window(date(2031, 6, 13)) == (date(2031, 6, 13), date(2031, 6, 16))
    assert settlement_date_for_run(date(2031, 6, 16)) == date(2031, 6, 13)
    _, computation = settle(date(2031, 6, 13))
    seller = computation.entries[computation.entries["account"] == ACCOUNT_SELLER_COUPON]
    mine = seller[seller["counterparty"] == "VENDOR-9"]
    assert len(mine) == 2
    assert int(mine["amount_minor"].sum()) == 10_000
    assert settle(date(2031, 6, 13))[0] == 0


def test_completion_queues_for_the_business_day(db_url: str) -> None:
    rid = f"done-{uuid.uuid4().hex[:6]}"
    with session_scope() as s:
        s.add(_reservation(rid, date(2031, 7, 1), status="booked"))
    with session_scope() as s:
        complete_reservation(s, rid, completed_on=date(2031, 7, 5), actor="ops")  # a Saturday
    with session_scope() as s:
        row = s.get(PackageReservation, rid)
        assert row is not None
        assert (row.status, row.settle_on) == ("completed", date(2031, 7, 7))
