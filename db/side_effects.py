"""The side-effect table: a claim before an external call, the outcome after it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.models.core import SideEffect
from db.types import utcnow


@dataclass(frozen=True)
class Claim:
    """What the caller may do about `key` now."""

    key: str
    status: str  # succeeded | failed | claimed | busy
    ambiguous: bool = False  # an earlier attempt may have reached the provider: look it up first
    result: dict[str, Any] | None = None
    provider_ref: str | None = None
    error: str | None = None


def claim(session: Session, key: str, kind: str, owner: str, lease: timedelta) -> Claim:
    """Take `key` for one attempt, or report its recorded outcome.

    - no row: insert a pending claim → `claimed` (clean);
    - succeeded / failed: return the recorded outcome;
    - pending held by another owner within its lease → `busy` (wait and ask again);
    - pending with an expired lease (crash or timeout) → taken over, `claimed` and `ambiguous`.
    """
    now = utcnow()
    row = session.get(SideEffect, key)
    if row is None:
        try:
            with session.begin_nested():
                session.add(
                    SideEffect(
                        key=key,
                        kind=kind,
                        status="pending",
                        attempts=1,
                        owner=owner,
                        created_at=now,
                        updated_at=now,
                    )
                )
        except IntegrityError:
            row = session.get(SideEffect, key)
            session.refresh(row)  # type: ignore[arg-type]
        else:
            return Claim(key, "claimed")
    assert row is not None
    if row.status == "succeeded":
        return Claim(key, "succeeded", result=row.result, provider_ref=row.provider_ref)
    if row.status == "failed":
        return Claim(key, "failed", error=row.error, result=row.result)
    held_until: datetime = row.updated_at + lease
    if row.owner != owner and held_until > now:
        return Claim(key, "busy")
    taken = session.execute(
        update(SideEffect)
        .where(SideEffect.key == key, SideEffect.status == "pending", SideEffect.owner == row.owner)
        .values(owner=owner, attempts=SideEffect.attempts + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(taken, "rowcount", 0) != 1:
        return Claim(key, "busy")
    return Claim(key, "claimed", ambiguous=True)


def complete(
    session: Session, key: str, owner: str, provider_ref: str | None, result: dict[str, Any]
) -> None:
    session.execute(
        update(SideEffect)
        .where(SideEffect.key == key, SideEffect.status == "pending")
        .values(
            status="succeeded",
            provider_ref=provider_ref,
            result=result,
            owner=owner,
            error=None,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )


def fail(session: Session, key: str, owner: str, error: str, result: dict[str, Any] | None) -> None:
    """A definite, final refusal by the provider (not an outage)."""
    session.execute(
        update(SideEffect)
        .where(SideEffect.key == key, SideEffect.status == "pending", SideEffect.owner == owner)
        .values(status="failed", error=error, result=result, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def release(session: Session, key: str, owner: str, error: str) -> None:
    """An attempt ended without a known outcome: keep it pending, expire the lease at once."""
    session.execute(
        update(SideEffect)
        .where(SideEffect.key == key, SideEffect.status == "pending", SideEffect.owner == owner)
        .values(error=error, updated_at=utcnow() - timedelta(days=3650))
        .execution_options(synchronize_session=False)
    )


def get(session: Session, key: str) -> SideEffect | None:
    return session.scalars(select(SideEffect).where(SideEffect.key == key)).one_or_none()
