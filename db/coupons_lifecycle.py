"""Coupon lifecycle in the database: create/edit/stop/copy, downloads under the issue limit, uses.

A download is one conditional UPDATE (`issued_count < issue_limit` in its WHERE clause) in the
same transaction as the download row: of concurrent downloads at most `issue_limit` succeed, on
PostgreSQL (row lock, re-checked WHERE) as on SQLite (BEGIN IMMEDIATE).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.audit import record_transition
from db.models.coupons import Coupon, CouponDownload, CouponUse
from domain.coupons_lifecycle import (
    COUPON_STATES,
    Actor,
    CouponSpec,
    CouponState,
    CouponStateError,
    DownloadRefused,
    UseDecision,
    check_download,
    check_edit,
    check_may_manage,
    check_use,
    copy_spec,
    next_serial,
    state_at,
    validate_spec,
)

ENTITY = "coupon"


def _spec(c: Coupon) -> CouponSpec:
    return CouponSpec(
        name=c.name,
        vendor=c.vendor,
        scope=c.scope,
        facilities=tuple((str(f["partner"]), str(f["facility"])) for f in c.facilities or []),
        audience=c.audience,
        discount_kind=c.discount_kind,
        amount=c.amount_minor,
        rate_pct=c.rate_pct,
        min_order=c.min_order_minor,
        issue_limit=c.issue_limit,
        issue_start=c.issue_start,
        issue_end=c.issue_end,
        validity_days=c.validity_days,
        valid_from=c.valid_from,
        valid_until=c.valid_until,
        seller_borne=c.seller_borne,
        agency_share_pct_new=c.agency_share_pct_new,
    )


def _apply(c: Coupon, spec: CouponSpec) -> None:
    c.name = spec.name
    c.vendor = spec.vendor
    c.scope = spec.scope
    c.facilities = [{"partner": p, "facility": f} for p, f in spec.facilities]
    c.audience = spec.audience
    c.discount_kind = spec.discount_kind
    c.amount_minor = spec.amount
    c.rate_pct = spec.rate_pct
    c.min_order_minor = spec.min_order
    c.issue_limit = spec.issue_limit
    c.issue_start = spec.issue_start
    c.issue_end = spec.issue_end
    c.validity_days = spec.validity_days
    c.valid_from = spec.valid_from
    c.valid_until = spec.valid_until
    c.seller_borne = spec.seller_borne
    c.agency_share_pct_new = spec.agency_share_pct_new


def _get(session: Session, serial: str, lock: bool = False) -> Coupon:
    coupon = session.get(Coupon, serial, with_for_update=lock)
    if coupon is None:
        raise LookupError(f"coupon {serial!r} does not exist")
    return coupon


def _new_serial(session: Session) -> str:
    highest = session.scalar(select(func.max(Coupon.serial)).where(Coupon.serial >= "CP1"))
    return next_serial([highest] if highest else [])


def create_coupon(session: Session, actor: Actor, spec: CouponSpec, now: datetime) -> str:
    """Register a coupon (waiting, or already issuing if its period has begun)."""
    spec = validate_spec(spec)
    check_may_manage(actor, spec)
    for attempt in range(5):  # two creators may draw the same next serial: draw again
        coupon = Coupon(
            serial=_new_serial(session), created_by=actor.user, issued_count=0, used_count=0
        )
        _apply(coupon, spec)
        coupon.state = str(state_at(spec, now, CouponState.WAITING))
        coupon.currency = "KRW"
        try:
            with session.begin_nested():
                session.add(coupon)
                session.flush()
            break
        except IntegrityError:  # the savepoint rolled back; the failed object is gone
            if attempt == 4:
                raise
    record_transition(
        session,
        entity_type=ENTITY,
        entity_key=coupon.serial,
        from_status=None,
        to_status=coupon.state,
        actor=actor.user,
        reason="created",
    )
    return coupon.serial


def edit_coupon(
    session: Session, actor: Actor, serial: str, changes: dict[str, Any], now: datetime
) -> CouponSpec:
    coupon = _get(session, serial, lock=True)
    current = _spec(coupon)
    check_may_manage(actor, current)
    updated = check_edit(CouponState(coupon.state), current, changes, now)
    check_may_manage(actor, updated)
    _apply(coupon, updated)
    record_transition(
        session,
        entity_type=ENTITY,
        entity_key=serial,
        from_status=coupon.state,
        to_status=coupon.state,
        actor=actor.user,
        reason=f"edited: {', '.join(sorted(changes))}",
    )
    return updated


def stop_coupon(
    session: Session, actor: Actor, serial: str, reason: str = "stopped by hand"
) -> None:
    """발급중지: issuing stops; coupons already downloaded stay usable."""
    coupon = _get(session, serial, lock=True)
    check_may_manage(actor, _spec(coupon))
    won = session.execute(
        update(Coupon)
        .where(Coupon.serial == serial, Coupon.state == CouponState.ISSUING)
        .values(state=CouponState.STOPPED)
        .execution_options(synchronize_session=False)
    ).rowcount
    record_transition(
        session,
        entity_type=ENTITY,
        entity_key=serial,
        from_status=coupon.state,
        to_status=CouponState.STOPPED,
        actor=actor.user,
        reason=reason,
        accepted=bool(won),
    )
    if not won:
        raise CouponStateError(f"a {coupon.state} coupon cannot be stopped (only while issuing)")


def copy_coupon(
    session: Session,
    actor: Actor,
    serial: str,
    *,
    issue_start: datetime,
    issue_end: datetime,
    now: datetime,
) -> str:
    """Stopped and completed coupons can be copied into a new coupon with a new period."""
    coupon = _get(session, serial)
    if coupon.state not in (CouponState.STOPPED, CouponState.COMPLETED):
        raise CouponStateError(f"a {coupon.state} coupon is edited, not copied")
    spec = copy_spec(_spec(coupon), issue_start=issue_start, issue_end=issue_end)
    return create_coupon(session, actor, spec, now)


def download_coupon(
    session: Session,
    serial: str,
    customer_id: str,
    now: datetime,
    *,
    is_channel_friend: bool = False,
) -> int:
    """One customer's download. At the limit-th download the coupon stops issuing by itself."""
    coupon = _get(session, serial)
    spec = _spec(coupon)
    until = check_download(
        CouponState(coupon.state),
        spec,
        now=now,
        issued=coupon.issued_count,
        is_channel_friend=is_channel_friend,
    )
    limit_reached = (Coupon.issue_limit.is_not(None)) & (
        Coupon.issued_count + 1 >= Coupon.issue_limit
    )
    claimed = session.execute(
        update(Coupon)
        .where(
            Coupon.serial == serial,
            Coupon.state == CouponState.ISSUING,
            (Coupon.issue_limit.is_(None)) | (Coupon.issued_count < Coupon.issue_limit),
        )
        .values(
            issued_count=Coupon.issued_count + 1,
            state=case((limit_reached, CouponState.STOPPED.value), else_=Coupon.state),
        )
        .returning(Coupon.issued_count, Coupon.state)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if claimed is None:
        raise DownloadRefused("issue limit reached or coupon no longer issuing")
    try:
        with session.begin_nested():
            download = CouponDownload(
                serial=serial, customer_id=customer_id, downloaded_at=now, valid_until=until
            )
            session.add(download)
            session.flush()
    except IntegrityError:
        raise DownloadRefused(f"customer {customer_id} already downloaded {serial}") from None
    if claimed.state == CouponState.STOPPED:
        record_transition(
            session,
            entity_type=ENTITY,
            entity_key=serial,
            from_status=CouponState.ISSUING,
            to_status=CouponState.STOPPED,
            actor="system",
            reason=f"issue limit {coupon.issue_limit} reached",
        )
    return download.id


def use_coupon(
    session: Session,
    download_id: int,
    order_id: str,
    order_amount: int,
    now: datetime,
) -> UseDecision:
    """Apply a downloaded coupon to an order; the discount is fixed now, at first use."""
    download = session.get(CouponDownload, download_id, with_for_update=True)
    if download is None:
        raise LookupError(f"coupon download {download_id} does not exist")
    coupon = _get(session, download.serial)
    decision = check_use(
        _spec(coupon),
        download_state=download.state,
        download_valid_until=download.valid_until,
        now=now,
        order_amount=order_amount,
    )
    won = session.execute(
        update(CouponDownload)
        .where(CouponDownload.id == download_id, CouponDownload.state == "available")
        .values(state="used")
        .execution_options(synchronize_session=False)
    ).rowcount
    if not won:
        raise DownloadRefused("coupon was used concurrently")
    session.add(
        CouponUse(
            download_id=download_id,
            serial=coupon.serial,
            order_id=order_id,
            order_amount_minor=order_amount,
            discount_minor=decision.discount,
            seller_borne=coupon.seller_borne,
            used_at=now,
        )
    )
    session.execute(
        update(Coupon)
        .where(Coupon.serial == coupon.serial)
        .values(used_count=Coupon.used_count + 1)
        .execution_options(synchronize_session=False)
    )
    return decision


def cancel_use(session: Session, order_id: str, now: datetime) -> int:
    """The booking was cancelled: the use no longer counts; a still-valid coupon is usable again."""
    uses = session.scalars(
        select(CouponUse).where(CouponUse.order_id == order_id, CouponUse.cancelled_at.is_(None))
    ).all()
    for use in uses:
        use.cancelled_at = now
        session.execute(
            update(Coupon)
            .where(Coupon.serial == use.serial)
            .values(used_count=Coupon.used_count - 1)
            .execution_options(synchronize_session=False)
        )
        if use.download_id is not None:
            download = session.get(CouponDownload, use.download_id)
            if download is not None and download.valid_until >= now:
                download.state = "available"
    return len(uses)


def complete_usage(session: Session, order_id: str, completed_on: Any) -> int:
    """이용완료: seller-borne coupons of the order become due on the next business day."""
    uses = session.scalars(
        select(CouponUse).where(CouponUse.order_id == order_id, CouponUse.cancelled_at.is_(None))
    ).all()
    for use in uses:
        use.usage_completed_on = completed_on
    return len(uses)


def coupon_counts(session: Session, serial: str) -> dict[str, int]:
    """Issued = downloads; used = uses in bookings, cancellations excluded."""
    issued = session.scalar(select(func.count()).where(CouponDownload.serial == serial)) or 0
    used = (
        session.scalar(
            select(func.count()).where(CouponUse.serial == serial, CouponUse.cancelled_at.is_(None))
        )
        or 0
    )
    return {"issued": int(issued), "used": int(used)}


def advance_coupon_states(session: Session, now: datetime) -> dict[str, int]:
    """Move coupons across their period boundaries (waiting → issuing → completed)."""
    moved: dict[str, int] = {}
    for to_state, where in (
        (
            CouponState.COMPLETED,
            (Coupon.state.in_([CouponState.WAITING, CouponState.ISSUING]))
            & (Coupon.issue_end <= now),
        ),
        (
            CouponState.ISSUING,
            (Coupon.state == CouponState.WAITING)
            & (Coupon.issue_start <= now)
            & (Coupon.issue_end > now),
        ),
    ):
        rows = session.execute(select(Coupon.serial, Coupon.state).where(where)).all()
        sources = COUPON_STATES.sources(to_state)
        for serial, from_state in rows:
            won = session.execute(
                update(Coupon)
                .where(Coupon.serial == serial, Coupon.state.in_(sorted(sources)))
                .where(where)
                .values(state=to_state)
                .execution_options(synchronize_session=False)
            ).rowcount
            if won:
                record_transition(
                    session,
                    entity_type=ENTITY,
                    entity_key=serial,
                    from_status=from_state,
                    to_status=to_state,
                    actor="advance-coupon-states",
                    reason=f"issue period boundary at {now.astimezone(UTC).isoformat()}",
                )
                moved[str(to_state)] = moved.get(str(to_state), 0) + 1
    return moved
