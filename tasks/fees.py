"""TMC fees in the database: schedules as data, payment settings, fee lines once per event, waivers.

`record_fee_events` is what the other processes call when a chargeable event happens (the
hotel-VCC flow when it issues a virtual card, the group flow when an order is confirmed).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prefect import task
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.audit import record_transition
from db.models.fees import (
    FeeEventRecord,
    FeeLine,
    FeePaymentSetting,
    FeeSchedule,
    FeeTrip,
)
from db.session import session_scope
from domain import fees as rules
from domain.errors import BusinessRuleError, InvalidInput
from domain.money import Money
from travelops.settings_fees import fees_settings

TMC_OWNER = "TMC"


class FeeLineNotWaivable(BusinessRuleError):
    """The fee line cannot be waived (service fee, already waived, already invoiced)."""


# schedules -----------------------------------------------------------------------------------
def save_schedule(session: Session, owner: str, document: dict[str, Any]) -> int:
    """Store a new active version of `owner`'s schedule (validated); returns its version.

    Saving the same document as the active one changes nothing.
    """
    if owner == TMC_OWNER:
        doc = {k: v for k, v in document.items() if k != "companies"}
        rules.parse_schedule(doc)
    else:
        rules.parse_schedule(document, f"companies.{owner}", nested=True)
        doc = document
    current = session.scalars(
        select(FeeSchedule)
        .where(FeeSchedule.owner == owner, FeeSchedule.active.is_(True))
        .order_by(FeeSchedule.version.desc())
    ).first()
    if current is not None and current.document == doc:
        return current.version
    version = (
        session.scalar(select(func.max(FeeSchedule.version)).where(FeeSchedule.owner == owner)) or 0
    ) + 1
    session.execute(
        update(FeeSchedule)
        .where(FeeSchedule.owner == owner, FeeSchedule.active.is_(True))
        .values(active=False)
        .execution_options(synchronize_session=False)
    )
    session.add(FeeSchedule(owner=owner, version=version, active=True, document=doc))
    session.flush()
    return version


def schedule_document(session: Session) -> dict[str, Any] | None:
    """The TMC schedule with every company schedule under `companies` (the spec's shape)."""
    rows = session.scalars(select(FeeSchedule).where(FeeSchedule.active.is_(True))).all()
    tmc = next((r for r in rows if r.owner == TMC_OWNER), None)
    if tmc is None:
        return None
    companies = {r.owner: r.document for r in rows if r.owner != TMC_OWNER}
    return {**tmc.document, "companies": companies}


def load_fee_data(session: Session, directory: Path | None = None) -> dict[str, int]:
    """Load `schedule.json` and `payment_settings.json` from `data/fees` (idempotent)."""
    folder = directory or fees_settings().data_dir
    document = json.loads((folder / "schedule.json").read_text(encoding="utf-8"))
    rules.parse_schedule(document)  # all or nothing
    counts = {"schedules": 0, "payment_settings": 0}
    save_schedule(session, TMC_OWNER, document)
    counts["schedules"] += 1
    for company, sub in (document.get("companies") or {}).items():
        save_schedule(session, company, sub)
        counts["schedules"] += 1
    settings_file = folder / "payment_settings.json"
    if settings_file.exists():
        for i, item in enumerate(json.loads(settings_file.read_text(encoding="utf-8"))):
            try:
                set_payment_setting(session, role=rules.TMC_ADMIN, **item)
            except InvalidInput as exc:
                raise InvalidInput(
                    f"payment_settings[{i}].{exc.field}", exc.value, exc.reason
                ) from None
            counts["payment_settings"] += 1
    return counts


_PARSED: dict[tuple[str, tuple[tuple[str, int], ...]], rules.FeeSchedule] = {}


def active_schedule(session: Session) -> rules.FeeSchedule:
    """The parsed TMC schedule (with company schedules); loaded from `data/fees` on first use.

    Parsed schedules are cached by the active (owner, version) pairs, which change on every save.
    """
    versions = (
        str(session.get_bind().url),
        tuple(
            sorted(
                (owner, version)
                for owner, version in session.execute(
                    select(FeeSchedule.owner, FeeSchedule.version).where(
                        FeeSchedule.active.is_(True)
                    )
                )
            )
        ),
    )
    if versions in _PARSED:
        return _PARSED[versions]
    document = schedule_document(session)
    if document is None:
        try:
            with session.begin_nested():
                load_fee_data(session)
        except IntegrityError:  # loaded concurrently by another caller
            pass
        return active_schedule(session)
    parsed = rules.parse_schedule(document)
    if len(_PARSED) > 32:
        _PARSED.clear()
    _PARSED[versions] = parsed
    return parsed


# payment settings ----------------------------------------------------------------------------
def set_payment_setting(
    session: Session,
    *,
    company: str,
    method: str,
    role: str,
    legal_entity: str = "",
    central_card_name: str | None = None,
    terms: str | None = None,
    show_to_traveller: bool = True,
    invoice_email: str | None = None,
    customer_name: str | None = None,
) -> FeePaymentSetting:
    """Set how `company` (or one of its legal entities) pays TMC fees; admins' limits enforced."""
    if not company.strip():
        raise InvalidInput("company", company, "required")
    checked = rules.validate_payment_setting(
        method,
        role=role,
        central_card_name=central_card_name,
        terms=terms,
        show_to_traveller=show_to_traveller,
    )
    if checked.method is rules.PaymentMethod.DELAYED_INVOICE and not invoice_email:
        existing_email = session.scalar(
            select(FeePaymentSetting.invoice_email).where(
                FeePaymentSetting.company == company, FeePaymentSetting.legal_entity == ""
            )
        )
        if not existing_email:
            raise InvalidInput("invoice_email", invoice_email, "delayed invoicing needs an address")
    row = session.scalars(
        select(FeePaymentSetting).where(
            FeePaymentSetting.company == company, FeePaymentSetting.legal_entity == legal_entity
        )
    ).one_or_none()
    if row is None:
        row = FeePaymentSetting(company=company, legal_entity=legal_entity)
        session.add(row)
    row.method = checked.method.value
    row.central_card_name = checked.central_card_name
    row.terms = checked.terms.value if checked.terms else None
    row.show_to_traveller = checked.show_to_traveller
    row.invoice_email = invoice_email
    row.customer_name = customer_name
    row.set_by_role = role
    session.flush()
    return row


def payment_setting_for(session: Session, company: str, legal_entity: str = "") -> dict[str, Any]:
    """The setting that applies to a legal entity (its own, else its company's, else same card)."""
    rows = session.scalars(
        select(FeePaymentSetting).where(
            FeePaymentSetting.company == company,
            FeePaymentSetting.legal_entity.in_(sorted({legal_entity, ""})),
        )
    ).all()
    by_entity = {r.legal_entity: r for r in rows}
    row = by_entity.get(legal_entity) or by_entity.get("")
    company_row = by_entity.get("")
    if row is None:
        return {"method": rules.PaymentMethod.SAME_CARD.value, "show_to_traveller": True}
    return {
        "method": row.method,
        "central_card_name": row.central_card_name,
        "terms": row.terms,
        "show_to_traveller": row.show_to_traveller,
        "invoice_email": row.invoice_email or (company_row.invoice_email if company_row else None),
        "customer_name": row.customer_name
        or (company_row.customer_name if company_row else None)
        or company,
    }


# fee lines -----------------------------------------------------------------------------------
def line_dict(line: FeeLine, show_to_traveller: bool | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": line.id,
        "line_key": line.line_key,
        "event_key": line.event_key,
        "trip_key": line.trip_key,
        "company": line.company,
        "legal_entity": line.legal_entity,
        "event_index": line.event_index,
        "event_type": line.event_type,
        "kind": line.kind,
        "rule": line.rule,
        "amount_minor": line.amount_minor,
        "currency": line.currency,
        "amount": Money(line.amount_minor, line.currency).amount_str(),
        "payment_method": line.payment_method,
        "waived": line.waived,
        "invoice_no": line.invoice_no,
    }
    if show_to_traveller is not None:
        out["show_to_traveller"] = show_to_traveller
    return out


def _lock_trip(
    session: Session, trip_key: str, company: str, legal_entity: str, vip: bool, currency: str
) -> FeeTrip:
    """The trip's fee state, locked until commit (SQLite: the write lock is already held)."""
    query = select(FeeTrip).where(FeeTrip.trip_key == trip_key).with_for_update()
    trip = session.scalars(query).one_or_none()
    if trip is None:
        try:
            with session.begin_nested():
                session.add(
                    FeeTrip(
                        trip_key=trip_key,
                        company=company,
                        legal_entity=legal_entity,
                        vip=vip,
                        currency=currency,
                        booking_seen=False,
                        trip_charged_minor=0,
                        event_count=0,
                    )
                )
        except IntegrityError:  # created concurrently: wait for its lock below
            pass
        trip = session.scalars(query.execution_options(populate_existing=True)).one()
    return trip


def _parse_events(events: Any) -> list[tuple[str, rules.FeeEvent, dict[str, Any]]]:
    if not isinstance(events, list) or not events:
        raise InvalidInput("events", events, "a non-empty list of events")
    parsed = []
    seen: set[str] = set()
    for i, raw in enumerate(events):
        if not isinstance(raw, Mapping):
            raise InvalidInput(f"events[{i}]", raw, "an event must be an object")
        key = raw.get("event_key")
        if not isinstance(key, str) or not key.strip() or len(key) > 190:
            raise InvalidInput(f"events[{i}].event_key", key, "a business key up to 190 chars")
        if key in seen:
            raise InvalidInput(f"events[{i}].event_key", key, "given twice in one call")
        seen.add(key)
        parsed.append((key, rules.parse_event(raw, f"events[{i}]"), dict(raw)))
    return parsed


def record_fee_events(
    company: str | None,
    trip_key: str,
    events: list[dict[str, Any]],
    *,
    source: str,
    vip: bool = False,
    legal_entity: str = "",
) -> list[dict[str, Any]]:
    """Charge `events` of a trip through the fee engine and store their fee lines, once per event.

    Each event is ``{"event_key", "type" ("booking"|"transaction"|"service"), "booking_type",
    "agent_assisted", "service"}`` (a transaction names its type in ``"transaction"``). An event
    whose key is already recorded is not charged again: its stored lines are returned, so a
    retried or concurrent call gets the same lines. The trip's state is locked while charging, so
    the trip fee is charged in increments up to the highest applicable fee, never more.
    Returns every fee line of the given events (possibly none), in event order.
    """
    if not isinstance(trip_key, str) or not trip_key.strip() or len(trip_key) > 80:
        raise InvalidInput("trip_key", trip_key, "a business key up to 80 chars")
    if not source or len(source) > 30:
        raise InvalidInput("source", source, "name the calling process (up to 30 chars)")
    parsed = _parse_events(events)
    company_code = company or ""
    with session_scope() as s:
        tmc = active_schedule(s)
        schedule = tmc.for_company(company)
        trip = _lock_trip(s, trip_key, company_code, legal_entity, vip, schedule.currency)
        setting = payment_setting_for(s, trip.company, trip.legal_entity)
        keys = [key for key, _, _ in parsed]
        known = set(
            s.scalars(select(FeeEventRecord.event_key).where(FeeEventRecord.event_key.in_(keys)))
        )
        for key, event, raw in parsed:
            if key in known:
                continue
            state = rules.TripFeeState(
                currency=trip.currency,
                booking_seen=trip.booking_seen,
                trip_charged=Money(trip.trip_charged_minor, trip.currency),
                highest_trip_fee=(
                    Money(trip.highest_trip_minor, trip.currency)
                    if trip.highest_trip_minor is not None
                    else None
                ),
                highest_trip_rule=trip.highest_trip_rule,
            )
            lines, state = rules.charge_event(
                schedule, state, trip.event_count, event, vip=trip.vip
            )
            s.add(
                FeeEventRecord(
                    event_key=key,
                    trip_key=trip_key,
                    event_index=trip.event_count,
                    event_type=event.type,
                    payload=raw,
                    source=source,
                )
            )
            for line in lines:
                s.add(
                    FeeLine(
                        line_key=f"{key}:{line.kind}",
                        event_key=key,
                        company=trip.company,
                        legal_entity=trip.legal_entity,
                        trip_key=trip_key,
                        event_index=line.event,
                        event_type=event.type,
                        kind=str(line.kind),
                        rule=line.rule,
                        amount_minor=line.amount.amount_minor,
                        currency=line.amount.currency,
                        payment_method=setting["method"],
                        waived=False,
                        source=source,
                    )
                )
            trip.booking_seen = state.booking_seen
            trip.trip_charged_minor = state.charged.amount_minor
            trip.highest_trip_minor = (
                state.highest_trip_fee.amount_minor if state.highest_trip_fee else None
            )
            trip.highest_trip_rule = state.highest_trip_rule
            trip.event_count += 1
        s.flush()
        stored = s.scalars(
            select(FeeLine).where(FeeLine.event_key.in_(keys)).order_by(FeeLine.id)
        ).all()
        order = {key: i for i, key in enumerate(keys)}
        ordered = sorted(stored, key=lambda ln: (order[ln.event_key or ""], ln.id))
        return [line_dict(ln, setting["show_to_traveller"]) for ln in ordered]


@task(name="record-fee-events", retries=2, retry_delay_seconds=1)
def record_fee_events_task(
    company: str | None,
    trip_key: str,
    events: list[dict[str, Any]],
    source: str,
    vip: bool = False,
    legal_entity: str = "",
) -> list[dict[str, Any]]:
    """`record_fee_events` as a task (safe to retry: once per event key)."""
    return record_fee_events(
        company, trip_key, events, source=source, vip=vip, legal_entity=legal_entity
    )


def trip_fee_lines(trip_key: str) -> list[dict[str, Any]]:
    with session_scope() as s:
        rows = s.scalars(
            select(FeeLine).where(FeeLine.trip_key == trip_key).order_by(FeeLine.id)
        ).all()
        return [line_dict(r) for r in rows]


# waivers -------------------------------------------------------------------------------------
def waive_fee_line(line_id: int, reason: str, who: str, text: str | None = None) -> dict[str, Any]:
    """Waive one fee line (compare-and-set, audited); service fees and bad reasons are refused."""
    if not who or not who.strip():
        raise InvalidInput("who", who, "name the agent waiving the fee")
    with session_scope() as s:
        line = s.get(FeeLine, line_id)
        if line is None:
            raise InvalidInput("fee_line_id", line_id, "no such fee line")
        tmc = active_schedule(s)
        schedule = tmc.for_company(line.company or None)
        try:
            code, note = rules.check_waiver(schedule.waiver, line.kind, reason, text)
        except InvalidInput as exc:
            record_transition(
                s,
                entity_type="fee_lines",
                entity_key=str(line_id),
                from_status="charged",
                to_status="waived",
                actor=who,
                reason=f"refused: {exc}",
                accepted=False,
            )
            s.commit()
            raise
        result = s.execute(
            update(FeeLine)
            .where(
                FeeLine.id == line_id,
                FeeLine.waived.is_(False),
                FeeLine.kind != rules.FeeKind.SERVICE.value,
                FeeLine.invoice_no.is_(None),
            )
            .values(waived=True, waiver_code=code, waiver_text=note, waived_by=who)
            .execution_options(synchronize_session=False)
        )
        won = getattr(result, "rowcount", 0) == 1
        current = "waived" if line.waived else ("invoiced" if line.invoice_no else "charged")
        record_transition(
            s,
            entity_type="fee_lines",
            entity_key=str(line_id),
            from_status=current,
            to_status="waived",
            actor=who,
            reason=f"{code}: {note}" if note else code,
            accepted=won,
        )
        if not won:
            s.commit()  # keep the refusal on the audit trail
            raise FeeLineNotWaivable(f"fee line {line_id} is {current}: cannot waive it")
        s.expire_all()
        refreshed = s.get(FeeLine, line_id)
        assert refreshed is not None
        out = line_dict(refreshed)
        out.update(waiver_code=code, waiver_text=note, waived_by=who)
        return out
