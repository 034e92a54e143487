"""TMC fees: fee schedules, the rule engine, dynamic trip fees, waivers and payment methods.

A schedule (spec/tmc-fees.md) is parsed once into typed rules; `charge` turns a trip's events
into fee lines. The engine is incremental: it takes the state left by the trip's earlier events
(`TripFeeState`), so a flow can record the fee lines of one event at a time and still charge the
trip fee as increments up to the highest applicable fee, whatever the order of bookings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from domain.errors import InvalidInput
from domain.money import Money, currency_digits, total


class Plan(StrEnum):
    TRIP = "trip"
    TRANSACTION = "transaction"
    TRIP_AND_TRANSACTION = "trip+transaction"

    @property
    def charges_trip_fee(self) -> bool:
        return self is not Plan.TRANSACTION

    @property
    def charges_transaction_fee(self) -> bool:
        return self is not Plan.TRIP


class FeeKind(StrEnum):
    TRIP = "trip"
    TRANSACTION = "transaction"
    SERVICE = "service"


#: Event fields a rule condition may compare (by equality).
CONDITION_FIELDS = ("booking_type", "transaction", "agent_assisted", "service", "vip")
#: The transaction type of a booking event.
BOOK = "book"
AGENT_CONTACT = "agent_contact"
VIRTUAL_PAYMENT = "virtual_payment"
#: Value-added services that can carry a fee (virtual payment is the only one today).
SERVICES = (VIRTUAL_PAYMENT,)
OTHER_REASON = "other"
DEFAULT_RULE_NAME = "default"


class PaymentMethod(StrEnum):
    SAME_CARD = "same_card"
    CENTRAL_CARD = "central_card"
    DELAYED_INVOICE = "delayed_invoice"


class InvoiceTerms(StrEnum):
    NET30 = "NET30"
    NET60 = "NET60"

    @property
    def days(self) -> int:
        return int(self.value.removeprefix("NET"))


# schedule ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FeeRule:
    """A named rule: conditions (ANDed equalities) and amounts for regular/VIP, agent or not."""

    name: str
    when: Mapping[str, str | bool]
    regular: Money
    vip: Money
    agent_regular: Money | None = None
    agent_vip: Money | None = None

    def matches(self, facts: Mapping[str, object]) -> bool:
        return all(facts.get(key) == value for key, value in self.when.items())

    def amount(self, *, vip: bool, agent: bool) -> Money:
        """The amount for this traveller; agent amounts only when asked and configured."""
        if agent:
            chosen = self.agent_vip if vip else self.agent_regular
            if chosen is not None:
                return chosen
        return self.vip if vip else self.regular


@dataclass(frozen=True)
class WaiverPolicy:
    enabled: bool = False
    reasons: Mapping[str, str] = field(default_factory=dict)  # code → description


@dataclass(frozen=True)
class FeeSchedule:
    """One schedule (TMC-level or a company's); `companies` only on the TMC-level one."""

    currency: str
    plan: Plan
    dynamic_trip_fee: bool
    agent_fee: bool
    trip_rules: tuple[FeeRule, ...]
    default_trip_rule: FeeRule | None
    transaction_rules: tuple[FeeRule, ...]
    service_rules: tuple[FeeRule, ...]
    chargeable_transactions: frozenset[str]
    waiver: WaiverPolicy
    companies: Mapping[str, FeeSchedule] = field(default_factory=dict)

    def for_company(self, company: str | None) -> FeeSchedule:
        """A company's own schedule replaces the TMC-level one entirely."""
        if company and company in self.companies:
            return self.companies[company]
        return self


def _field(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _amount(doc: Mapping[str, Any], key: str, currency: str, path: str) -> Money | None:
    raw = doc.get(key)
    if raw is None:
        return None
    name = _field(path, key)
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        raise InvalidInput(name, raw, "amount must be a decimal string")
    money = Money.of_exact(str(raw), currency, field=name)
    if money.is_negative():
        raise InvalidInput(name, raw, "amount must not be negative")
    return money


def _rule(doc: Any, currency: str, path: str, *, default: bool = False) -> FeeRule:
    if not isinstance(doc, Mapping):
        raise InvalidInput(path, doc, "a rule must be an object")
    name = DEFAULT_RULE_NAME if default else doc.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(_field(path, "name"), name, "a rule needs a name")
    when_raw = {} if default else doc.get("when", {})
    if not isinstance(when_raw, Mapping) or (not default and not when_raw):
        raise InvalidInput(_field(path, "when"), when_raw, "a rule needs at least one condition")
    when: dict[str, str | bool] = {}
    for key, value in when_raw.items():
        if key not in CONDITION_FIELDS:
            raise InvalidInput(
                _field(path, f"when.{key}"), value, f"unknown condition; use {CONDITION_FIELDS}"
            )
        expected_bool = key in ("agent_assisted", "vip")
        if expected_bool != isinstance(value, bool) or not isinstance(value, (str, bool)):
            kind = "true or false" if expected_bool else "a string"
            raise InvalidInput(_field(path, f"when.{key}"), value, f"must be {kind}")
        when[key] = value
    regular = _amount(doc, "regular", currency, path)
    vip = _amount(doc, "vip", currency, path)
    if regular is None and vip is None:
        raise InvalidInput(path, name, "rule without amounts (regular and vip are required)")
    if regular is None or vip is None:
        missing = "regular" if regular is None else "vip"
        raise InvalidInput(_field(path, missing), None, "amount missing")
    return FeeRule(
        name=name.strip(),
        when=when,
        regular=regular,
        vip=vip,
        agent_regular=_amount(doc, "agent_regular", currency, path),
        agent_vip=_amount(doc, "agent_vip", currency, path),
    )


def _rules(doc: Mapping[str, Any], key: str, currency: str, path: str) -> tuple[FeeRule, ...]:
    raw = doc.get(key, [])
    if not isinstance(raw, list):
        raise InvalidInput(_field(path, key), raw, "must be a list of rules")
    return tuple(_rule(r, currency, _field(path, f"{key}[{i}]")) for i, r in enumerate(raw))


def _flag(doc: Mapping[str, Any], key: str, path: str) -> bool:
    value = doc.get(key, False)
    if not isinstance(value, bool):
        raise InvalidInput(_field(path, key), value, "must be true or false")
    return value


def _waiver(doc: Any, path: str) -> WaiverPolicy:
    if doc is None:
        return WaiverPolicy()
    if not isinstance(doc, Mapping):
        raise InvalidInput(path, doc, "must be an object")
    reasons: dict[str, str] = {}
    raw = doc.get("reasons", [])
    if not isinstance(raw, list):
        raise InvalidInput(_field(path, "reasons"), raw, "must be a list")
    for i, reason in enumerate(raw):
        code = reason.get("code") if isinstance(reason, Mapping) else None
        if not isinstance(code, str) or not code.strip():
            raise InvalidInput(_field(path, f"reasons[{i}].code"), code, "a reason needs a code")
        if code.strip().lower() == OTHER_REASON:
            raise InvalidInput(_field(path, f"reasons[{i}].code"), code, "'other' is reserved")
        reasons[code.strip()] = str(reason.get("description", ""))
    return WaiverPolicy(enabled=_flag(doc, "enabled", path), reasons=reasons)


def parse_schedule(doc: Any, path: str = "", *, nested: bool = False) -> FeeSchedule:
    """Validate a schedule document (tmc-fees.md shape); errors name the field."""
    if not isinstance(doc, Mapping):
        raise InvalidInput(path or "schedule", doc, "must be a JSON object")
    currency = doc.get("currency")
    if not isinstance(currency, str):
        raise InvalidInput(_field(path, "currency"), currency, "missing currency code")
    currency_digits(currency)
    plan_raw = doc.get("plan")
    try:
        plan = Plan(str(plan_raw))
    except ValueError:
        raise InvalidInput(
            _field(path, "plan"), plan_raw, f"unknown plan; use one of {[p.value for p in Plan]}"
        ) from None
    default_raw = doc.get("default_trip_rule")
    default = (
        _rule(default_raw, currency, _field(path, "default_trip_rule"), default=True)
        if default_raw is not None
        else None
    )
    if plan.charges_trip_fee and default is None:
        raise InvalidInput(
            _field(path, "default_trip_rule"), None, f"plan {plan.value} needs a default trip rule"
        )
    chargeable = doc.get("chargeable_transactions", [])
    if not isinstance(chargeable, list) or not all(
        isinstance(t, str) and t.strip() for t in chargeable
    ):
        raise InvalidInput(
            _field(path, "chargeable_transactions"), chargeable, "must be a list of names"
        )
    service_rules = _rules(doc, "service_rules", currency, path)
    for i, rule in enumerate(service_rules):
        service = rule.when.get("service")
        if service is not None and service not in SERVICES:
            raise InvalidInput(
                _field(path, f"service_rules[{i}].when.service"), service, "unknown service"
            )
    companies: dict[str, FeeSchedule] = {}
    raw_companies = doc.get("companies", {}) or {}
    if not isinstance(raw_companies, Mapping) or (nested and raw_companies):
        raise InvalidInput(
            _field(path, "companies"), raw_companies, "company schedules only at the TMC level"
        )
    for code, sub in raw_companies.items():
        companies[str(code)] = parse_schedule(sub, _field(path, f"companies.{code}"), nested=True)
    return FeeSchedule(
        currency=currency,
        plan=plan,
        dynamic_trip_fee=_flag(doc, "dynamic_trip_fee", path),
        agent_fee=_flag(doc, "agent_fee", path),
        trip_rules=_rules(doc, "trip_rules", currency, path),
        default_trip_rule=default,
        transaction_rules=_rules(doc, "transaction_rules", currency, path),
        service_rules=service_rules,
        chargeable_transactions=frozenset(t.strip() for t in chargeable),
        waiver=_waiver(doc.get("waiver"), _field(path, "waiver")),
        companies=companies,
    )


# events and lines ----------------------------------------------------------------------------
@dataclass(frozen=True)
class FeeEvent:
    """Something that happened on a trip: a booking, a transaction (modify…) or a service."""

    type: str  # "booking" | "service" | a transaction type ("modify", "agent_contact"…)
    booking_type: str | None = None
    agent_assisted: bool = False
    service: str | None = None

    @property
    def is_booking(self) -> bool:
        return self.type == "booking"

    @property
    def is_service(self) -> bool:
        return self.type == "service"

    @property
    def transaction(self) -> str | None:
        """The transaction type this event is: `book` for a booking, none for a service."""
        if self.is_service:
            return None
        return BOOK if self.is_booking else self.type


def parse_event(doc: Any, path: str) -> FeeEvent:
    if not isinstance(doc, Mapping):
        raise InvalidInput(path, doc, "an event must be an object")
    etype = doc.get("type")
    if not isinstance(etype, str) or not etype.strip():
        raise InvalidInput(_field(path, "type"), etype, "an event needs a type")
    if etype == "transaction":  # {"type": "transaction", "transaction": "modify"} also works
        etype = doc.get("transaction")
        if not isinstance(etype, str) or not etype.strip():
            raise InvalidInput(_field(path, "transaction"), etype, "name the transaction type")
    if etype == BOOK:
        etype = "booking"
    booking_type = doc.get("booking_type")
    if booking_type is not None and not isinstance(booking_type, str):
        raise InvalidInput(_field(path, "booking_type"), booking_type, "must be a string")
    if etype == "booking" and not booking_type:
        raise InvalidInput(_field(path, "booking_type"), booking_type, "a booking needs its type")
    agent = doc.get("agent_assisted", False)
    if agent is None:
        agent = False
    if not isinstance(agent, bool):
        raise InvalidInput(_field(path, "agent_assisted"), agent, "must be true or false")
    service = doc.get("service")
    if etype == "service" and service not in SERVICES:
        raise InvalidInput(_field(path, "service"), service, f"unknown service; use {SERVICES}")
    return FeeEvent(
        type=etype.strip(), booking_type=booking_type, agent_assisted=agent, service=service
    )


@dataclass(frozen=True)
class FeeLine:
    """One fee charged at one event (a trip line carries the increment at that event)."""

    event: int
    kind: FeeKind
    rule: str
    amount: Money
    waived: bool = False
    waiver_reason: str | None = None
    waiver_text: str | None = None


@dataclass(frozen=True)
class TripFeeState:
    """What earlier events of the trip left behind: needed to charge the next one."""

    currency: str
    booking_seen: bool = False
    trip_charged: Money | None = None  # sum of trip lines so far (waived ones included)
    highest_trip_fee: Money | None = None
    highest_trip_rule: str | None = None

    @property
    def charged(self) -> Money:
        return self.trip_charged or Money.zero(self.currency)


def _facts(event: FeeEvent, vip: bool) -> dict[str, object]:
    return {
        "booking_type": event.booking_type,
        "transaction": event.transaction,
        "agent_assisted": event.agent_assisted,
        "service": event.service,
        "vip": vip,
    }


def first_match(rules: Iterable[FeeRule], facts: Mapping[str, object]) -> FeeRule | None:
    """Rules are evaluated in order; the first whose conditions all hold applies."""
    for rule in rules:
        if rule.matches(facts):
            return rule
    return None


def applicable_trip_fee(schedule: FeeSchedule, event: FeeEvent, vip: bool) -> tuple[FeeRule, Money]:
    """The trip fee this booking alone calls for (first matching trip rule, else the default).

    Agent amounts count only with dynamic trip fees and agent fees both on.
    """
    assert schedule.default_trip_rule is not None
    rule = first_match(schedule.trip_rules, _facts(event, vip)) or schedule.default_trip_rule
    agent = schedule.dynamic_trip_fee and schedule.agent_fee and event.agent_assisted
    return rule, rule.amount(vip=vip, agent=agent)


def charge_event(
    schedule: FeeSchedule, state: TripFeeState, index: int, event: FeeEvent, *, vip: bool
) -> tuple[list[FeeLine], TripFeeState]:
    """The fee lines one event adds to a trip, and the trip's state after it."""
    if state.currency != schedule.currency:
        raise InvalidInput("currency", schedule.currency, f"trip is charged in {state.currency}")
    lines: list[FeeLine] = []
    facts = _facts(event, vip)

    if event.is_booking and schedule.plan.charges_trip_fee:
        if schedule.dynamic_trip_fee:
            rule, fee = applicable_trip_fee(schedule, event, vip)
            highest = state.highest_trip_fee
            if highest is None or fee > highest:
                state = replace(state, highest_trip_fee=fee, highest_trip_rule=rule.name)
            assert state.highest_trip_fee is not None
            increment = state.highest_trip_fee - state.charged
            if increment.amount_minor > 0:
                lines.append(
                    FeeLine(index, FeeKind.TRIP, state.highest_trip_rule or rule.name, increment)
                )
                state = replace(state, trip_charged=state.charged + increment)
        elif not state.booking_seen:
            rule, fee = applicable_trip_fee(schedule, event, vip)
            state = replace(state, highest_trip_fee=fee, highest_trip_rule=rule.name)
            if fee.amount_minor > 0:
                lines.append(FeeLine(index, FeeKind.TRIP, rule.name, fee))
                state = replace(state, trip_charged=state.charged + fee)
    if event.is_booking:
        state = replace(state, booking_seen=True)

    transaction = event.transaction
    if (
        transaction is not None
        and schedule.plan.charges_transaction_fee
        and transaction in schedule.chargeable_transactions
        and not (
            transaction == AGENT_CONTACT
            and schedule.plan.charges_trip_fee
            and not schedule.dynamic_trip_fee
        )
    ):
        t_rule = first_match(schedule.transaction_rules, facts)
        if t_rule is not None:
            agent = schedule.agent_fee and event.agent_assisted
            fee = t_rule.amount(vip=vip, agent=agent)
            if fee.amount_minor > 0:
                lines.append(FeeLine(index, FeeKind.TRANSACTION, t_rule.name, fee))

    if event.is_service:
        s_rule = first_match(schedule.service_rules, facts)
        if s_rule is not None:
            fee = s_rule.amount(vip=vip, agent=False)
            if fee.amount_minor > 0:
                lines.append(FeeLine(index, FeeKind.SERVICE, s_rule.name, fee))
    return lines, state


def charge(
    schedule: FeeSchedule,
    events: Sequence[FeeEvent],
    *,
    vip: bool = False,
    state: TripFeeState | None = None,
    first_index: int = 0,
) -> tuple[list[FeeLine], TripFeeState]:
    """Fee lines for `events` in order, continuing from `state` (a new trip when None)."""
    state = state or TripFeeState(schedule.currency)
    lines: list[FeeLine] = []
    for offset, event in enumerate(events):
        added, state = charge_event(schedule, state, first_index + offset, event, vip=vip)
        lines.extend(added)
    return lines, state


# waivers -------------------------------------------------------------------------------------
def check_waiver(
    policy: WaiverPolicy, kind: FeeKind | str, reason: str | None, text: str | None = None
) -> tuple[str, str | None]:
    """Whether an agent may waive a fee of `kind` with this reason; the (code, text) to record."""
    if not policy.enabled:
        raise InvalidInput("waiver", kind, "fee waivers are not enabled in this schedule")
    if str(kind) == FeeKind.SERVICE:
        raise InvalidInput("kind", str(kind), "value-added-service fees cannot be waived")
    if str(kind) not in (FeeKind.TRIP, FeeKind.TRANSACTION):
        raise InvalidInput("kind", str(kind), "unknown fee kind")
    code = (reason or "").strip()
    if not policy.reasons:
        return code or OTHER_REASON, (text or None)
    if code.lower() == OTHER_REASON:
        if not text or not text.strip():
            raise InvalidInput("text", text, "reason 'other' needs a text")
        return OTHER_REASON, text.strip()
    if code not in policy.reasons:
        raise InvalidInput(
            "reason", reason, f"unknown waiver reason code; use {sorted(policy.reasons)} or other"
        )
    return code, (text or None)


def apply_waivers(schedule: FeeSchedule, lines: Sequence[FeeLine], waivers: Any) -> list[FeeLine]:
    """Mark the waived lines (TRIP.json `waivers`: event index, kind, reason, optional text)."""
    if waivers is None:
        return list(lines)
    if not isinstance(waivers, list):
        raise InvalidInput("waivers", waivers, "must be a list")
    out = list(lines)
    for i, waiver in enumerate(waivers):
        if not isinstance(waiver, Mapping):
            raise InvalidInput(f"waivers[{i}]", waiver, "must be an object")
        event, kind = waiver.get("event"), waiver.get("kind")
        if isinstance(event, bool) or not isinstance(event, int):
            raise InvalidInput(f"waivers[{i}].event", event, "must be an event index")
        text = waiver.get("text")
        try:
            code, text = check_waiver(schedule.waiver, str(kind), waiver.get("reason"), text)
        except InvalidInput as exc:
            raise InvalidInput(f"waivers[{i}].{exc.field}", exc.value, exc.reason) from None
        hits = [j for j, line in enumerate(out) if line.event == event and line.kind == kind]
        if not hits:
            raise InvalidInput(f"waivers[{i}]", {"event": event, "kind": kind}, "no such fee")
        for j in hits:
            if out[j].waived:
                raise InvalidInput(f"waivers[{i}]", {"event": event, "kind": kind}, "waived twice")
            out[j] = replace(out[j], waived=True, waiver_reason=code, waiver_text=text)
    return out


# the calculator contract ---------------------------------------------------------------------
def calculate(schedule_doc: Any, trip_doc: Any) -> dict[str, Any]:
    """`travelops fees`: the fee lines of a whole trip, with totals, as the spec's JSON."""
    tmc = parse_schedule(schedule_doc)
    if not isinstance(trip_doc, Mapping):
        raise InvalidInput("trip", trip_doc, "must be a JSON object")
    company = trip_doc.get("company")
    if company is not None and not isinstance(company, str):
        raise InvalidInput("company", company, "must be a string or null")
    vip = trip_doc.get("vip", False)
    if not isinstance(vip, bool):
        raise InvalidInput("vip", vip, "must be true or false")
    raw_events = trip_doc.get("events")
    if not isinstance(raw_events, list):
        raise InvalidInput("events", raw_events, "must be a list")
    schedule = tmc.for_company(company)
    events = [parse_event(e, f"events[{i}]") for i, e in enumerate(raw_events)]
    lines, _ = charge(schedule, events, vip=vip)
    lines = apply_waivers(schedule, lines, trip_doc.get("waivers"))
    cur = schedule.currency
    return {
        "currency": cur,
        "lines": [
            {
                "event": line.event,
                "kind": str(line.kind),
                "rule": line.rule,
                "amount": line.amount.amount_str(),
                "waived": line.waived,
            }
            for line in lines
        ],
        "total": total((ln.amount for ln in lines if not ln.waived), cur).amount_str(),
        "waived_total": total((ln.amount for ln in lines if ln.waived), cur).amount_str(),
    }


# payment method ------------------------------------------------------------------------------
@dataclass(frozen=True)
class PaymentSetting:
    """How a company (or one legal entity) pays TMC fees, and whether travellers see them."""

    method: PaymentMethod
    central_card_name: str | None = None
    terms: InvoiceTerms | None = None
    show_to_traveller: bool = True


COMPANY_ADMIN = "company_admin"
TMC_ADMIN = "tmc_admin"
ROLES = (COMPANY_ADMIN, TMC_ADMIN)


def validate_payment_setting(
    method: str,
    *,
    role: str,
    central_card_name: str | None = None,
    terms: str | None = None,
    show_to_traveller: bool = True,
) -> PaymentSetting:
    """Check a payment-method choice: delayed invoicing is for TMC admins only, with terms."""
    if role not in ROLES:
        raise InvalidInput("role", role, f"use one of {ROLES}")
    try:
        chosen = PaymentMethod(method)
    except ValueError:
        raise InvalidInput(
            "method", method, f"use one of {[m.value for m in PaymentMethod]}"
        ) from None
    if chosen is PaymentMethod.CENTRAL_CARD and not (central_card_name or "").strip():
        raise InvalidInput("central_card_name", central_card_name, "name the company card")
    parsed_terms: InvoiceTerms | None = None
    if chosen is PaymentMethod.DELAYED_INVOICE:
        if role == COMPANY_ADMIN:
            raise InvalidInput(
                "method", method, "delayed invoicing is not selectable by company admins"
            )
        try:
            parsed_terms = InvoiceTerms(terms or "")
        except ValueError:
            raise InvalidInput("terms", terms, "delayed invoicing needs NET30 or NET60") from None
    return PaymentSetting(
        method=chosen,
        central_card_name=(central_card_name or "").strip() or None
        if chosen is PaymentMethod.CENTRAL_CARD
        else None,
        terms=parsed_terms,
        show_to_traveller=show_to_traveller,
    )


def resolve_payment_setting(
    settings: Mapping[tuple[str, str], PaymentSetting], company: str, legal_entity: str = ""
) -> PaymentSetting:
    """A legal entity's own setting, else its company's, else the booking's card."""
    return (
        settings.get((company, legal_entity))
        or settings.get((company, ""))
        or PaymentSetting(PaymentMethod.SAME_CARD)
    )


def invoice_due_date(issued_on: date, terms: InvoiceTerms | str) -> date:
    return issued_on + timedelta(days=InvoiceTerms(terms).days)


def previous_month(today: date) -> str:
    """The invoicing period a run on `today` covers: the previous month as YYYY-MM."""
    first = today.replace(day=1)
    last = first - timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


def parse_period(period: str) -> tuple[date, date]:
    """YYYY-MM → [first day, first day of the next month)."""
    try:
        year, month = (int(p) for p in period.split("-"))
        start = date(year, month, 1)
    except (ValueError, TypeError):
        raise InvalidInput("month", period, "expected YYYY-MM") from None
    end = date(year + (month == 12), month % 12 + 1, 1)
    return start, end
