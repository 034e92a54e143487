"""Status changes as guarded compare-and-set updates, each written to the audit trail."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute, Session

from db.models.core import StatusTransition
from db.types import utcnow
from domain.states import StateMachine


def record_transition(
    session: Session,
    *,
    entity_type: str,
    entity_key: str,
    from_status: str | None,
    to_status: str,
    actor: str,
    reason: str = "",
    accepted: bool = True,
    flow_run_id: str | None = None,
) -> None:
    session.add(
        StatusTransition(
            entity_type=entity_type,
            entity_key=entity_key,
            from_status=from_status,
            to_status=to_status,
            accepted=accepted,
            actor=actor,
            reason=reason,
            flow_run_id=flow_run_id,
            at=utcnow(),
        )
    )


def transition(
    session: Session,
    model: type[DeclarativeBase],
    key: str,
    to_status: str,
    *,
    machine: StateMachine | None = None,
    allowed_from: Iterable[str] | None = None,
    actor: str,
    reason: str = "",
    flow_run_id: str | None = None,
    values: dict[str, Any] | None = None,
    status_attr: str = "status",
    idempotent: bool = False,
) -> bool:
    """Move `model[key]` to `to_status` only if its current status allows it.

    The UPDATE carries the guard in its WHERE clause, so of two racing callers exactly one wins;
    the loser gets False and its refusal is recorded in the audit trail. `values` are set in the
    same statement as the status. With `idempotent`, finding the row already at `to_status` is
    not a refusal (two reports of the same event): False, and nothing is recorded.
    """
    sources = set(allowed_from or ())
    if machine is not None:
        sources |= machine.sources(to_status)
    if not sources:
        raise ValueError(f"no source status allows {to_status!r}")
    pk: InstrumentedAttribute[Any] = _primary_key(model)
    status_col: InstrumentedAttribute[Any] = getattr(model, status_attr)
    current = session.execute(select(status_col).where(pk == key)).scalar_one_or_none()
    if current is None:
        raise LookupError(f"{model.__tablename__} {key!r} does not exist")
    result = session.execute(
        update(model)
        .where(pk == key, status_col.in_(sorted(sources)))
        .values({status_attr: to_status, **(values or {})})
        .execution_options(synchronize_session=False)
    )
    won = bool(getattr(result, "rowcount", 0) == 1)
    if not won and idempotent:
        now = session.execute(select(status_col).where(pk == key)).scalar_one_or_none()
        if now == to_status:
            return False
    record_transition(
        session,
        entity_type=model.__tablename__,
        entity_key=key,
        from_status=current,
        to_status=to_status,
        actor=actor,
        reason=reason if won else f"refused: status was {current!r}. {reason}".strip(),
        accepted=won,
        flow_run_id=flow_run_id,
    )
    session.flush()
    return won


def history(session: Session, entity_type: str, entity_key: str) -> list[StatusTransition]:
    return list(
        session.scalars(
            select(StatusTransition)
            .where(
                StatusTransition.entity_type == entity_type,
                StatusTransition.entity_key == entity_key,
            )
            .order_by(StatusTransition.id)
        )
    )


def _primary_key(model: type[DeclarativeBase]) -> InstrumentedAttribute[Any]:
    cols = model.__table__.primary_key.columns  # type: ignore[attr-defined]
    if len(cols) != 1:
        raise TypeError(f"{model.__name__} needs a single-column primary key for transitions")
    return getattr(model, next(iter(cols)).key)  # type: ignore[no-any-return]
