"""Coupon lifecycle rules (seed 004): fields, states, who may manage, download and use."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from domain.calendar import require_aware
from domain.errors import BusinessRuleError, InvalidInput
from domain.money import parse_decimal
from domain.states import StateMachine

NAME_MAX = 13
AMOUNT_MIN, AMOUNT_MAX, AMOUNT_STEP = 10, 9_999_990, 10
PERIOD_STEP_MINUTES = 10
FIRST_NEW_SERIAL = 10_000_001


class CouponState(StrEnum):
    WAITING = "waiting"  # 발급대기: before the issue period, everything editable
    ISSUING = "issuing"  # 발급중: only "stop" and a new issue end
    COMPLETED = "completed"  # 발급완료: period over, copy only
    STOPPED = "stopped"  # 발급중지: stopped by hand or by the issue limit, copy only


COUPON_STATES = StateMachine.build(
    "coupon",
    initial=CouponState.WAITING,
    edges={
        CouponState.WAITING: [CouponState.ISSUING, CouponState.COMPLETED],
        CouponState.ISSUING: [CouponState.COMPLETED, CouponState.STOPPED],
    },
    terminal=[CouponState.COMPLETED, CouponState.STOPPED],
)

STATE_LABELS = {
    CouponState.WAITING: "발급대기",
    CouponState.ISSUING: "발급중",
    CouponState.COMPLETED: "발급완료",
    CouponState.STOPPED: "발급중지",
}


class Role(StrEnum):
    VENDOR_ADMIN = "vendor_admin"  # 벤더사 관리자
    PARTNER_ADMIN = "partner_admin"  # 파트너 관리자
    PARTNER_MASTER = "partner_master"  # 파트너 마스터
    PARTNER_STAFF = "partner_staff"


class CouponPermissionDenied(BusinessRuleError):
    """The actor may not create or manage this coupon."""


class CouponStateError(BusinessRuleError):
    """The coupon's state does not allow the request."""


class DownloadRefused(BusinessRuleError):
    """A customer cannot download the coupon now (state, audience, limit, already has it)."""


class UseRefused(BusinessRuleError):
    """The coupon cannot be used on this order (expired, used, minimum order not exceeded)."""


@dataclass(frozen=True, slots=True)
class Actor:
    user: str
    role: Role
    vendor: str
    partner: str | None = None  # partners only
    via_reseller: bool = False  # came through an official reseller (공식협력사): no coupon rights


@dataclass(frozen=True, slots=True)
class CouponSpec:
    """The editable fields of a coupon."""

    name: str
    vendor: str
    scope: str  # all_facilities | facilities
    facilities: tuple[tuple[str, str], ...]  # (partner, facility)
    audience: str  # everyone | channel_friends
    discount_kind: str  # fixed | percent
    amount: int | None
    rate_pct: str | None
    min_order: int | None
    issue_limit: int | None
    issue_start: datetime
    issue_end: datetime
    validity_days: int | None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    seller_borne: bool = False
    agency_share_pct_new: int | None = None

    def partners(self) -> set[str]:
        return {p for p, _ in self.facilities}


FIELDS = frozenset(CouponSpec.__dataclass_fields__)
ISSUING_EDITABLE = frozenset({"issue_end"})


def _on_grid(moment: datetime, field_name: str) -> datetime:
    require_aware(moment, field_name)
    if moment.second or moment.microsecond or moment.minute % PERIOD_STEP_MINUTES:
        raise InvalidInput(field_name, moment.isoformat(), "must fall on a 10-minute boundary")
    return moment


def validate_amount(amount: int) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidInput("amount", amount, "must be whole won")
    if not AMOUNT_MIN <= amount <= AMOUNT_MAX or amount % AMOUNT_STEP:
        raise InvalidInput("amount", amount, "must be 10–9,999,990 KRW in steps of 10")
    return amount


def validate_spec(spec: CouponSpec) -> CouponSpec:
    """Every field rule of the registration form; the first broken one raises, naming it."""
    name = spec.name.strip()
    if not name or len(name) > NAME_MAX:
        raise InvalidInput("name", spec.name, f"1–{NAME_MAX} characters")
    if spec.scope not in ("all_facilities", "facilities"):
        raise InvalidInput("scope", spec.scope, "must be all_facilities or facilities")
    if spec.scope == "facilities" and not spec.facilities:
        raise InvalidInput("facilities", [], "choose at least one facility")
    if spec.scope == "all_facilities" and spec.facilities:
        raise InvalidInput("facilities", list(spec.facilities), "only for a facility-scoped coupon")
    if spec.audience not in ("everyone", "channel_friends"):
        raise InvalidInput("audience", spec.audience, "must be everyone or channel_friends")
    if spec.audience == "channel_friends" and (
        spec.scope != "facilities" or len(spec.partners()) != 1
    ):
        raise InvalidInput(
            "audience", spec.audience, "channel friends only for facilities of exactly one partner"
        )
    if spec.discount_kind == "fixed":
        if spec.amount is None:
            raise InvalidInput("amount", None, "is required for a fixed-amount coupon")
        validate_amount(spec.amount)
    elif spec.discount_kind == "percent":
        rate = parse_decimal(spec.rate_pct or "", "rate_pct")
        if rate <= 0 or rate > 100:
            raise InvalidInput("rate_pct", spec.rate_pct, "must be more than 0 and at most 100")
    else:
        raise InvalidInput("discount_kind", spec.discount_kind, "must be fixed or percent")
    if spec.min_order is not None and spec.min_order < 0:
        raise InvalidInput("min_order", spec.min_order, "cannot be negative")
    if spec.issue_limit is not None and spec.issue_limit < 1:
        raise InvalidInput("issue_limit", spec.issue_limit, "unlimited (empty) or at least 1")
    _on_grid(spec.issue_start, "issue_start")
    _on_grid(spec.issue_end, "issue_end")
    if spec.issue_end <= spec.issue_start:
        raise InvalidInput("issue_end", spec.issue_end.isoformat(), "must be after issue_start")
    fixed_period = spec.valid_from is not None or spec.valid_until is not None
    if (spec.validity_days is None) == (not fixed_period):
        raise InvalidInput("validity_days", spec.validity_days, "N days, or a fixed period")
    if spec.validity_days is not None and spec.validity_days < 1:
        raise InvalidInput("validity_days", spec.validity_days, "at least 1 day")
    if fixed_period:
        if spec.valid_from is None or spec.valid_until is None:
            raise InvalidInput("valid_until", spec.valid_until, "a fixed period needs both ends")
        require_aware(spec.valid_from, "valid_from")
        require_aware(spec.valid_until, "valid_until")
        if spec.valid_until <= spec.valid_from:
            raise InvalidInput("valid_until", spec.valid_until.isoformat(), "must be after start")
    if spec.agency_share_pct_new is not None and not 0 <= spec.agency_share_pct_new <= 50:
        raise InvalidInput("agency_share_pct_new", spec.agency_share_pct_new, "whole 0–50")
    return replace(spec, name=name)


def check_may_manage(actor: Actor, spec: CouponSpec) -> None:
    """Vendor admins, and direct partners' admins/masters for their own facilities only."""
    if actor.vendor != spec.vendor:
        raise CouponPermissionDenied(f"{actor.user} does not belong to vendor {spec.vendor}")
    if actor.role is Role.VENDOR_ADMIN:
        return
    if actor.role not in (Role.PARTNER_ADMIN, Role.PARTNER_MASTER):
        raise CouponPermissionDenied(f"role {actor.role} may not manage coupons")
    if actor.via_reseller:
        raise CouponPermissionDenied("partners that came through an official reseller may not")
    if spec.scope != "facilities" or spec.partners() != {actor.partner}:
        raise CouponPermissionDenied("a partner issues coupons for its own facilities only")


def state_at(spec: CouponSpec, now: datetime, current: CouponState) -> CouponState:
    """Where the coupon belongs at `now` (a stopped or completed coupon stays where it is)."""
    if current in (CouponState.STOPPED, CouponState.COMPLETED):
        return current
    if now >= spec.issue_end:
        return CouponState.COMPLETED
    if now >= spec.issue_start:
        return CouponState.ISSUING
    return CouponState.WAITING


def check_edit(
    state: CouponState, current: CouponSpec, changes: Mapping[str, Any], now: datetime
) -> CouponSpec:
    """Waiting: every field. Issuing: only a new issue end. Completed/stopped: copy only."""
    unknown = set(changes) - FIELDS
    if unknown:
        raise InvalidInput("changes", sorted(unknown), "not coupon fields")
    if state in (CouponState.COMPLETED, CouponState.STOPPED):
        raise CouponStateError(f"a {state} coupon cannot be edited, only copied")
    if state is CouponState.ISSUING:
        extra = set(changes) - ISSUING_EDITABLE
        if extra:
            raise CouponStateError(
                f"while issuing only the issue end can change, not {', '.join(sorted(extra))}"
            )
        end = changes.get("issue_end")
        if end is not None and end <= now:
            raise InvalidInput("issue_end", end.isoformat(), "must be in the future")
    updated = replace(current, **dict(changes))
    return validate_spec(updated)


def copy_spec(current: CouponSpec, *, issue_start: datetime, issue_end: datetime) -> CouponSpec:
    """A copy is a new waiting coupon with the same fields and a new issue period."""
    return validate_spec(replace(current, issue_start=issue_start, issue_end=issue_end))


def next_serial(existing: Iterable[str]) -> str:
    """New coupons are numbered from CP10000001 upward."""
    numbers = [int(s[2:]) for s in existing if s.startswith("CP") and s[2:].isdigit()]
    highest = max((n for n in numbers if n >= FIRST_NEW_SERIAL), default=FIRST_NEW_SERIAL - 1)
    return f"CP{highest + 1:08d}"


def check_download(
    state: CouponState,
    spec: CouponSpec,
    *,
    now: datetime,
    issued: int,
    is_channel_friend: bool,
) -> datetime:
    """May this customer download now? Returns how long the downloaded copy stays valid."""
    if state is not CouponState.ISSUING or not spec.issue_start <= now < spec.issue_end:
        raise DownloadRefused(f"coupon is {state}: not issuing now")
    if spec.audience == "channel_friends" and not is_channel_friend:
        raise DownloadRefused("only channel friends can download this coupon")
    if spec.issue_limit is not None and issued >= spec.issue_limit:
        raise DownloadRefused("issue limit reached")
    return valid_until(spec, now)


def valid_until(spec: CouponSpec, downloaded_at: datetime) -> datetime:
    if spec.validity_days is not None:
        return downloaded_at + timedelta(days=spec.validity_days)
    assert spec.valid_until is not None  # validate_spec guarantees one of the two
    return spec.valid_until


@dataclass(frozen=True, slots=True)
class UseDecision:
    discount: int
    warnings: tuple[str, ...] = field(default_factory=tuple)


def check_use(
    spec: CouponSpec,
    *,
    download_state: str,
    download_valid_until: datetime,
    now: datetime,
    order_amount: int,
) -> UseDecision:
    """Usable when available, not expired, and the order amount exceeds the minimum order.
    The discount is fixed here, at first use (percent coupons floor the rate of the order)."""
    if download_state != "available":
        raise UseRefused(f"coupon already {download_state}")
    if now > download_valid_until:
        raise UseRefused("coupon expired")
    if spec.valid_from is not None and now < spec.valid_from:
        raise UseRefused("coupon not valid yet")
    if order_amount <= 0:
        raise InvalidInput("order_amount", order_amount, "must be positive")
    if spec.min_order is not None and order_amount <= spec.min_order:
        raise UseRefused(f"order amount must exceed the minimum order {spec.min_order:,} KRW")
    if spec.discount_kind == "percent":
        rate = parse_decimal(spec.rate_pct or "0", "rate_pct")
        discount = int(
            (Decimal(order_amount) * rate / 100).to_integral_value(rounding="ROUND_FLOOR")
        )
    else:
        discount = int(spec.amount or 0)
    return UseDecision(min(discount, order_amount))
