"""Coupon lifecycle in the database (SQLite and PostgreSQL): states, downloads, uses, counts."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from db.coupons_lifecycle import (
    advance_coupon_states,
    cancel_use,
    complete_usage,
    copy_coupon,
    coupon_counts,
    create_coupon,
    download_coupon,
    edit_coupon,
    stop_coupon,
    use_coupon,
)
from db.models.core import StatusTransition
from db.models.coupons import Coupon
from db.session import session_scope
from domain.coupons_lifecycle import (
    Actor,
    CouponPermissionDenied,
    CouponSpec,
    CouponStateError,
    DownloadRefused,
    Role,
    UseRefused,
)

ADMIN = Actor("kim", Role.VENDOR_ADMIN, "V-LC")


def _spec(start: datetime, end: datetime, **kw: Any) -> CouponSpec:
    base: dict[str, Any] = {
        "name": "가을 쿠폰",
        "vendor": "V-LC",
        "scope": "facilities",
        "facilities": (("P1", "F1"),),
        "audience": "everyone",
        "discount_kind": "fixed",
        "amount": 3_000,
        "rate_pct": None,
        "min_order": 20_000,
        "issue_limit": None,
        "issue_start": start,
        "issue_end": end,
        "validity_days": 7,
        "seller_borne": True,
    }
    base.update(kw)
    return CouponSpec(**base)


def _state(serial: str) -> str:
    with session_scope() as s:
        coupon = s.get(Coupon, serial)
        assert coupon is not None
        return coupon.state


def test_lifecycle_create_edit_advance_stop_copy(db_url: str) -> None:
    now = datetime(2032, 3, 2, 0, 0, tzinfo=UTC)
    start, end = now + timedelta(hours=1), now + timedelta(days=3)
    with session_scope() as s:
        serial = create_coupon(s, ADMIN, _spec(start, end), now)
    assert serial.startswith("CP1")
    assert _state(serial) == "waiting"
    with session_scope() as s:
        edit_coupon(s, ADMIN, serial, {"amount": 4_000, "name": "가을 특가"}, now)
    reseller = Actor("park", Role.PARTNER_ADMIN, "V-LC", partner="P1", via_reseller=True)
    with pytest.raises(CouponPermissionDenied), session_scope() as s:
        edit_coupon(s, reseller, serial, {"amount": 5_000}, now)

    with session_scope() as s:
        moved = advance_coupon_states(s, start + timedelta(minutes=10))
    assert moved.get("issuing", 0) >= 1
    assert _state(serial) == "issuing"
    with pytest.raises(CouponStateError), session_scope() as s:
        edit_coupon(s, ADMIN, serial, {"amount": 5_000}, start + timedelta(minutes=10))
    with session_scope() as s:
        edit_coupon(s, ADMIN, serial, {"issue_end": end + timedelta(days=1)}, start)
        download_id = download_coupon(s, serial, "cust-1", start + timedelta(minutes=20))
        stop_coupon(s, ADMIN, serial)
    assert _state(serial) == "stopped"
    with pytest.raises(DownloadRefused), session_scope() as s:
        download_coupon(s, serial, "cust-2", start + timedelta(minutes=30))
    # a coupon downloaded before the stop stays usable
    with session_scope() as s:
        decision = use_coupon(s, download_id, "ORD-1", 25_000, start + timedelta(hours=1))
    assert decision.discount == 4_000
    with pytest.raises(CouponStateError), session_scope() as s:
        edit_coupon(s, ADMIN, serial, {"issue_end": end + timedelta(days=2)}, start)
    with session_scope() as s:
        copy = copy_coupon(
            s,
            ADMIN,
            serial,
            issue_start=end + timedelta(days=5),
            issue_end=end + timedelta(days=9),
            now=start,
        )
        copied = s.get(Coupon, copy)
        assert copied is not None
        assert (copied.state, copied.amount_minor, copied.issued_count) == ("waiting", 4_000, 0)
        history = s.scalars(
            select(StatusTransition.to_status).where(StatusTransition.entity_key == serial)
        ).all()
    assert list(history)[:2] == ["waiting", "waiting"]
    assert "stopped" in history


def test_minimum_order_use_cancel_and_counts(db_url: str) -> None:
    now = datetime(2032, 4, 1, 0, 0, tzinfo=UTC)
    with session_scope() as s:
        serial = create_coupon(s, ADMIN, _spec(now, now + timedelta(days=1)), now)
        d1 = download_coupon(s, serial, "c1", now)
        d2 = download_coupon(s, serial, "c2", now)
    with pytest.raises(DownloadRefused), session_scope() as s:
        download_coupon(s, serial, "c1", now)  # one download per customer
    with pytest.raises(UseRefused), session_scope() as s:
        use_coupon(s, d1, f"{serial}-A", 20_000, now)  # must exceed 20,000
    with session_scope() as s:
        use_coupon(s, d1, f"{serial}-A", 20_010, now)
        use_coupon(s, d2, f"{serial}-B", 90_000, now)
    with session_scope() as s:
        assert coupon_counts(s, serial) == {"issued": 2, "used": 2}
        assert cancel_use(s, f"{serial}-B", now + timedelta(hours=1)) == 1
        assert complete_usage(s, f"{serial}-A", date(2032, 4, 3)) == 1
    with session_scope() as s:
        assert coupon_counts(s, serial) == {"issued": 2, "used": 1}
        coupon = s.get(Coupon, serial)
        assert coupon is not None
        assert (coupon.issued_count, coupon.used_count) == (2, 1)
    with session_scope() as s:  # the cancelled booking's coupon is usable again
        use_coupon(s, d2, f"{serial}-C", 30_000, now + timedelta(hours=2))


def test_concurrent_downloads_never_exceed_the_issue_limit(db_url: str) -> None:
    now = datetime(2032, 5, 1, 0, 0, tzinfo=UTC)
    with session_scope() as s:
        serial = create_coupon(s, ADMIN, _spec(now, now + timedelta(days=1), issue_limit=5), now)
    won: list[str] = []
    lost: list[str] = []
    barrier = threading.Barrier(8)

    def grab(i: int) -> None:
        barrier.wait()
        try:
            with session_scope() as s:
                download_coupon(s, serial, f"cust-{uuid.uuid4().hex[:6]}-{i}", now)
            won.append(str(i))
        except DownloadRefused:
            lost.append(str(i))

    threads = [threading.Thread(target=grab, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 5
    assert len(lost) == 3
    with session_scope() as s:
        coupon = s.get(Coupon, serial)
        assert coupon is not None
        assert (coupon.issued_count, coupon.state) == (5, "stopped")
        assert coupon_counts(s, serial)["issued"] == 5


def test_advance_completes_coupons_whose_period_ended(db_url: str) -> None:
    now = datetime(2032, 6, 1, 0, 0, tzinfo=UTC)
    with session_scope() as s:
        serial = create_coupon(
            s, ADMIN, _spec(now + timedelta(hours=1), now + timedelta(hours=2)), now
        )
    with session_scope() as s:
        advance_coupon_states(s, now + timedelta(hours=3))
    assert _state(serial) == "completed"
    with session_scope() as s:
        assert advance_coupon_states(s, now + timedelta(hours=3)).get("completed", 0) == 0


def test_concurrent_creations_get_distinct_serials(db_url: str) -> None:
    now = datetime(2032, 7, 1, 0, 0, tzinfo=UTC)
    serials: list[str] = []
    barrier = threading.Barrier(4)

    def create() -> None:
        barrier.wait()
        with session_scope() as s:
            serials.append(create_coupon(s, ADMIN, _spec(now, now + timedelta(days=1)), now))

    threads = [threading.Thread(target=create) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(serials)) == 4
