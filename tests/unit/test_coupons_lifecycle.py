"""Coupon lifecycle rules (seed 004): fields, states, roles, download and use."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.coupons_lifecycle import (
    Actor,
    CouponPermissionDenied,
    CouponSpec,
    CouponState,
    CouponStateError,
    DownloadRefused,
    Role,
    UseRefused,
    check_download,
    check_edit,
    check_may_manage,
    check_use,
    next_serial,
    state_at,
    validate_spec,
)
from domain.errors import InvalidInput

START = datetime(2031, 1, 10, 1, 0, tzinfo=UTC)
END = datetime(2031, 1, 20, 1, 0, tzinfo=UTC)


def spec(**kw: Any) -> CouponSpec:
    base: dict[str, Any] = {
        "name": "겨울 특가 쿠폰",
        "vendor": "V1",
        "scope": "facilities",
        "facilities": (("P1", "F1"), ("P1", "F2")),
        "audience": "everyone",
        "discount_kind": "fixed",
        "amount": 5_000,
        "rate_pct": None,
        "min_order": 50_000,
        "issue_limit": 100,
        "issue_start": START,
        "issue_end": END,
        "validity_days": 30,
    }
    base.update(kw)
    return CouponSpec(**base)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "가" * 14}, "name"),
        ({"name": "  "}, "name"),
        ({"amount": 5}, "amount"),
        ({"amount": 10_000_000}, "amount"),
        ({"amount": 1_005}, "amount"),
        ({"issue_start": START.replace(minute=5)}, "issue_start"),
        ({"issue_end": END.replace(second=30)}, "issue_end"),
        ({"issue_end": START}, "issue_end"),
        ({"audience": "channel_friends", "scope": "all_facilities", "facilities": ()}, "audience"),
        ({"audience": "channel_friends", "facilities": (("P1", "F1"), ("P2", "F9"))}, "audience"),
        ({"issue_limit": 0}, "issue_limit"),
        ({"validity_days": None}, "validity_days"),
        ({"scope": "facilities", "facilities": ()}, "facilities"),
        ({"discount_kind": "percent", "rate_pct": "0"}, "rate_pct"),
        ({"agency_share_pct_new": 51}, "agency_share_pct_new"),
    ],
)
def test_field_rules_name_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        validate_spec(spec(**overrides))
    assert exc.value.field == field


@pytest.mark.parametrize("amount", [10, 20, 9_999_990, 5_000])
def test_amount_bounds_and_step_accepted(amount: int) -> None:
    assert validate_spec(spec(amount=amount)).amount == amount


def test_thirteen_characters_and_channel_friends_for_one_partner_are_fine() -> None:
    assert validate_spec(spec(name="가" * 13, audience="channel_friends")).name == "가" * 13


def test_roles() -> None:
    vendor = Actor("kim", Role.VENDOR_ADMIN, "V1")
    check_may_manage(vendor, spec(scope="all_facilities", facilities=()))
    for role in (Role.PARTNER_ADMIN, Role.PARTNER_MASTER):
        check_may_manage(Actor("lee", role, "V1", partner="P1"), spec())
    refused = [
        Actor("park", Role.PARTNER_STAFF, "V1", partner="P1"),
        Actor("choi", Role.PARTNER_ADMIN, "V1", partner="P1", via_reseller=True),
        Actor("jung", Role.PARTNER_ADMIN, "V1", partner="P2"),
        Actor("kang", Role.VENDOR_ADMIN, "V2"),
    ]
    for actor in refused:
        with pytest.raises(CouponPermissionDenied):
            check_may_manage(actor, spec())
    with pytest.raises(CouponPermissionDenied):  # direct partners issue per facility only
        check_may_manage(
            Actor("lee", Role.PARTNER_ADMIN, "V1", partner="P1"),
            spec(scope="all_facilities", facilities=()),
        )


def test_states_follow_the_period_and_stay_stopped() -> None:
    s = spec()
    assert state_at(s, START - timedelta(minutes=10), CouponState.WAITING) is CouponState.WAITING
    assert state_at(s, START, CouponState.WAITING) is CouponState.ISSUING
    assert state_at(s, END, CouponState.ISSUING) is CouponState.COMPLETED
    assert state_at(s, START, CouponState.STOPPED) is CouponState.STOPPED


def test_what_is_editable_in_which_state() -> None:
    s, now = spec(), START + timedelta(days=1)
    assert (
        check_edit(CouponState.WAITING, s, {"amount": 7_000, "name": "새 이름"}, now).amount
        == 7_000
    )
    later = END + timedelta(days=1)
    assert check_edit(CouponState.ISSUING, s, {"issue_end": later}, now).issue_end == later
    with pytest.raises(CouponStateError):
        check_edit(CouponState.ISSUING, s, {"amount": 7_000}, now)
    with pytest.raises(InvalidInput):
        check_edit(CouponState.ISSUING, s, {"issue_end": now - timedelta(hours=1)}, now)
    for state in (CouponState.STOPPED, CouponState.COMPLETED):
        with pytest.raises(CouponStateError):
            check_edit(state, s, {"issue_end": later}, now)


def test_serials_of_new_coupons_start_at_cp10000001() -> None:
    assert next_serial([]) == "CP10000001"
    assert next_serial(["CP00325496", "CP10000041"]) == "CP10000042"


def test_download_rules() -> None:
    now = START + timedelta(hours=1)
    until = check_download(CouponState.ISSUING, spec(), now=now, issued=99, is_channel_friend=False)
    assert until == now + timedelta(days=30)
    with pytest.raises(DownloadRefused):
        check_download(CouponState.ISSUING, spec(), now=now, issued=100, is_channel_friend=False)
    with pytest.raises(DownloadRefused):
        check_download(CouponState.WAITING, spec(), now=now, issued=0, is_channel_friend=False)
    friends = spec(audience="channel_friends")
    with pytest.raises(DownloadRefused):
        check_download(CouponState.ISSUING, friends, now=now, issued=0, is_channel_friend=False)
    check_download(CouponState.ISSUING, friends, now=now, issued=0, is_channel_friend=True)


def test_minimum_order_must_be_exceeded() -> None:
    now = START + timedelta(hours=1)
    kw: dict[str, Any] = {
        "download_state": "available",
        "download_valid_until": now + timedelta(days=1),
        "now": now,
    }
    with pytest.raises(UseRefused):
        check_use(spec(), order_amount=50_000, **kw)
    assert check_use(spec(), order_amount=50_010, **kw).discount == 5_000
    assert check_use(spec(min_order=None), order_amount=3_000, **kw).discount == 3_000
    percent = replace(spec(), discount_kind="percent", amount=None, rate_pct="5", min_order=None)
    assert check_use(percent, order_amount=128_950, **kw).discount == 6_447
    with pytest.raises(UseRefused):
        check_use(spec(), order_amount=60_000, **{**kw, "download_state": "used"})
    with pytest.raises(UseRefused):
        check_use(spec(), order_amount=60_000, **{**kw, "now": now + timedelta(days=2)})
