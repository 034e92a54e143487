"""Group bookings (5+ travellers): quotes with price versions, traffic-light routing, SLA, refunds.

Everything a customer or finance could dispute about a group order is computed here, once:
the quote's items and range, the agency charge, the deposit, the balance and its due date, the
traffic light and its reasons, the SLA deadline and reminders, what may still be refunded and the
gift vouchers owed. Pure: reference data comes in as plain dicts (see data/group_*.json).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from domain.errors import BusinessRuleError, InvalidInput
from domain.money import Money, Rounding, parse_percent
from domain.states import StateMachine

MIN_PARTY = 5

#: Customer-facing notices (Korean, as the spec words them).
NOTICE_ESTIMATE = (
    "지금 금액은 실시간 예상가이며, 예약금 결제 후 24시간 내 확정됩니다. "
    "불가 시 즉시 전액 환불됩니다."
)
NOTICE_UNKNOWN = "가격 미정 항목은 확정 후 잔금에 반영됩니다."
NOTICE_MODEL = {
    "A": "단체 주문에는 1인당 여행사 차지 30,000원이 포함되어 있습니다. 당사가 직접 운영합니다.",
    "B": "본 단체 상품은 협력 여행사가 운영하며, 당사는 견적·결제를 대행합니다. "
    "1인당 여행사 차지 30,000원이 포함되어 있습니다.",
    "C": "본 단체 상품은 협력 여행사가 판매·운영하며, 당사는 수수료를 받습니다.",
}
NOTICE_MICE = "MICE 지원 예상 금액은 확정 금액이 아님 (결과보고 승인 후 확정됩니다)."

GroupModel = Literal["A", "B", "C"]
Light = Literal["red", "yellow", "green"]
LIGHT_EMOJI = {"red": "🔴", "yellow": "🟡", "green": "🟢"}

#: The order's life (spec "States"); transitions are CAS-guarded in the database.
ORDER_STATES = StateMachine.build(
    "group-order",
    initial="quoted",
    edges={
        "quoted": ["deposit_paid", "blocked", "cancelled"],
        "deposit_paid": ["auto_confirmed", "awaiting_ops", "blocked"],
        "auto_confirmed": ["confirmed"],
        "awaiting_ops": ["confirmed", "rejected_refunded", "expired_refunded"],
        "confirmed": ["balance_due", "paid_in_full", "cancelled"],
        "balance_due": ["paid_in_full", "cancelled"],
        "paid_in_full": ["completed", "cancelled"],
    },
    terminal=["blocked", "rejected_refunded", "expired_refunded", "cancelled", "completed"],
)
CONFIRMED_STATES = frozenset({"confirmed", "balance_due", "paid_in_full", "completed"})
REFUNDED_STATES = frozenset({"blocked", "rejected_refunded", "expired_refunded", "cancelled"})


# --------------------------------------------------------------------------------------------
# Reference data
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Price:
    """One version of an item's price: v1 exact; v0 a range or unknown (low = high = None)."""

    version: Literal["v0", "v1"]
    low: int | None
    high: int | None

    @property
    def known(self) -> bool:
        return self.low is not None and self.high is not None

    @classmethod
    def from_dict(cls, item: str, doc: Mapping[str, Any]) -> Price:
        version = doc.get("version")
        if version == "v1":
            amount = doc.get("amount")
            if not isinstance(amount, int) or amount < 0:
                raise InvalidInput(f"prices[{item}].amount", amount, "v1 needs an exact amount")
            return cls("v1", amount, amount)
        if version == "v0":
            low, high = doc.get("low"), doc.get("high")
            if (low is None) != (high is None):
                raise InvalidInput(f"prices[{item}]", dict(doc), "give both low and high or none")
            if low is not None and (not isinstance(low, int) or not isinstance(high, int)):
                raise InvalidInput(f"prices[{item}]", dict(doc), "amounts are integer minor units")
            if low is not None and high is not None and not 0 <= low <= high:
                raise InvalidInput(f"prices[{item}]", dict(doc), "need 0 <= low <= high")
            return cls("v0", low, high)
        raise InvalidInput(f"prices[{item}].version", version, "must be v0 or v1")


@dataclass(frozen=True)
class Option:
    code: str
    name: str
    per: Literal["person", "group"]
    standard: bool


@dataclass(frozen=True)
class VoucherRule:
    trigger: Literal["confirmation", "departure", "event_end"]
    amount_minor: int
    message: str


@dataclass(frozen=True)
class Supply:
    vehicle_seats: int
    rooms: int
    guides: int


@dataclass(frozen=True)
class Product:
    code: str
    name: str
    region: str
    active: bool
    template: bool
    nights: int
    max_party: int
    auto_confirm_limit: int
    lead_days: int
    deposit_percent: Decimal
    deposit_step: int
    guides_needed: int
    buffer: Supply
    options: tuple[str, ...]
    voucher: VoucherRule | None
    itinerary: tuple[str, ...]


@dataclass(frozen=True)
class Catalog:
    """Products, options, current prices (by version) and supply per date."""

    currency: str
    products: Mapping[str, Product]
    options: Mapping[str, Option]
    prices: Mapping[str, tuple[Price, ...]]
    supply: Mapping[str, Mapping[str, Supply]]
    agency_charge_minor: int = 30_000
    commission_percent: Decimal = Decimal("8")
    mice_estimate_minor: int = 0

    @classmethod
    def from_dicts(
        cls, catalog: Mapping[str, Any], prices: Mapping[str, Any], supply: Mapping[str, Any]
    ) -> Catalog:
        products = {}
        for p in catalog["products"]:
            v = p.get("voucher")
            products[p["code"]] = Product(
                code=p["code"],
                name=p["name"],
                region=p.get("region", ""),
                active=bool(p.get("active", True)),
                template=bool(p.get("template", False)),
                nights=int(p.get("nights", 0)),
                max_party=int(p["max_party"]),
                auto_confirm_limit=int(p.get("auto_confirm_limit", 20)),
                lead_days=int(p.get("lead_days", 7)),
                deposit_percent=parse_percent(
                    str(p.get("deposit_percent", "20")), "deposit_percent"
                ),
                deposit_step=int(p.get("deposit_step", 1000)),
                guides_needed=int(p.get("guides_needed", 0)),
                buffer=Supply(**p.get("buffer", {"vehicle_seats": 0, "rooms": 0, "guides": 0})),
                options=tuple(p.get("options", ())),
                voucher=VoucherRule(v["trigger"], int(v["amount"]), v["message"]) if v else None,
                itinerary=tuple(p.get("itinerary", ())),
            )
        options = {
            o["code"]: Option(o["code"], o["name"], o["per"], bool(o.get("standard", True)))
            for o in catalog["options"]
        }
        price_map = {
            item: tuple(Price.from_dict(item, d) for d in versions)
            for item, versions in prices["prices"].items()
        }
        supply_map = {
            code: {day: Supply(**s) for day, s in by_day.items()}
            for code, by_day in supply["supply"].items()
        }
        return cls(
            currency=catalog.get("currency", "KRW"),
            products=products,
            options=options,
            prices=price_map,
            supply=supply_map,
            agency_charge_minor=int(catalog.get("agency_charge_per_traveller", 30_000)),
            commission_percent=parse_percent(str(catalog.get("commission_percent", "8"))),
            mice_estimate_minor=int(catalog.get("mice_subsidy_per_traveller_estimate", 0)),
        )

    def price(self, item: str) -> Price | None:
        """The newest version of an item's price (v1 wins over v0); None if never priced."""
        versions = self.prices.get(item, ())
        confirmed = [p for p in versions if p.version == "v1"]
        if confirmed:
            return confirmed[-1]
        return versions[-1] if versions else None

    def supply_on(self, product_code: str, day: date) -> Supply:
        by_day = self.supply.get(product_code, {})
        found = by_day.get(day.isoformat()) or by_day.get("default")
        return found or Supply(0, 0, 0)

    def with_prices(self, updates: Mapping[str, Price]) -> Catalog:
        """A catalog whose items carry one more price version (a later price change)."""
        prices = dict(self.prices)
        for item, p in updates.items():
            prices[item] = (*prices.get(item, ()), p)
        return replace(self, prices=prices)


# --------------------------------------------------------------------------------------------
# The order
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Traveller:
    name: str
    mobile: str
    type: Literal["adult", "child"] = "adult"


@dataclass(frozen=True)
class GroupOrderRequest:
    product_code: str
    departure_date: date
    travellers: tuple[Traveller, ...]
    options: tuple[str, ...]
    model: GroupModel
    contact_name: str
    contact_mobile: str
    contact_email: str = ""

    @property
    def party(self) -> int:
        return len(self.travellers)

    def count(self, kind: str) -> int:
        return sum(1 for t in self.travellers if t.type == kind)


def _mobile_ok(mobile: str) -> bool:
    digits = mobile.replace("-", "").replace(" ", "")
    return digits.isdigit() and digits.startswith("01") and 10 <= len(digits) <= 11


def validate_order(req: GroupOrderRequest, catalog: Catalog, today: date) -> None:
    """Refuse what is not a group order at all (4xx); everything else is routed by the light."""
    if req.party < MIN_PARTY:
        raise InvalidInput(
            "travellers",
            req.party,
            f"a group order needs at least {MIN_PARTY} travellers; book 1–4 as an individual trip",
        )
    if req.product_code not in catalog.products:
        raise InvalidInput("product_code", req.product_code, "unknown product")
    if req.departure_date <= today:
        raise InvalidInput(
            "departure_date", req.departure_date.isoformat(), "must be in the future"
        )
    if req.model not in NOTICE_MODEL:
        raise InvalidInput("group_model", req.model, "must be A, B or C")
    for i, t in enumerate(req.travellers):
        if not t.name.strip():
            raise InvalidInput(f"travellers[{i}].name", t.name, "required")
        if not _mobile_ok(t.mobile):
            raise InvalidInput(f"travellers[{i}].mobile", t.mobile, "not a Korean mobile number")
        if t.type not in ("adult", "child"):
            raise InvalidInput(f"travellers[{i}].type", t.type, "must be adult or child")
    for code in req.options:
        if code not in catalog.options:
            raise InvalidInput("options", code, "unknown option")
    if len(set(req.options)) != len(req.options):
        raise InvalidInput("options", list(req.options), "an option is listed twice")


# --------------------------------------------------------------------------------------------
# Quote
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QuoteLine:
    item: str
    label: str
    version: str
    quantity: int
    unit_low: int | None
    unit_high: int | None

    @property
    def low(self) -> int | None:
        return None if self.unit_low is None else self.unit_low * self.quantity

    @property
    def high(self) -> int | None:
        return None if self.unit_high is None else self.unit_high * self.quantity

    def as_dict(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "label": self.label,
            "version": self.version,
            "quantity": self.quantity,
            "unit_low": self.unit_low,
            "unit_high": self.unit_high,
            "low": self.low,
            "high": self.high,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> QuoteLine:
        return cls(
            d["item"], d["label"], d["version"], d["quantity"], d["unit_low"], d["unit_high"]
        )


@dataclass(frozen=True)
class Quote:
    """A quote as given to the customer; stored as is and never recomputed."""

    currency: str
    model: GroupModel
    party: int
    lines: tuple[QuoteLine, ...]
    deposit_minor: int
    notices: tuple[str, ...]
    departure_date: date
    settlement: Mapping[str, int] = field(default_factory=dict)

    @property
    def low_minor(self) -> int:
        return sum(line.low or 0 for line in self.lines)

    @property
    def known_high_minor(self) -> int:
        """Upper bound over the items that have a price (the deposit's base)."""
        return sum(line.high or 0 for line in self.lines)

    @property
    def high_minor(self) -> int | None:
        """Upper bound, or None when some item has no price yet."""
        return None if self.unknown_items else self.known_high_minor

    @property
    def unknown_items(self) -> tuple[str, ...]:
        return tuple(line.item for line in self.lines if line.unit_low is None)

    @property
    def confirmed(self) -> bool:
        return all(line.version == "v1" for line in self.lines)

    @property
    def total_minor(self) -> int:
        """The confirmed total (only once every item is v1)."""
        if not self.confirmed:
            raise BusinessRuleError("a quote with v0 items has a range, not a total")
        return self.low_minor

    def display_range(self) -> str:
        low = Money(self.low_minor, self.currency).format()
        if self.confirmed:
            return low
        high = Money(self.known_high_minor, self.currency).format()
        suffix = " + 미정 항목" if self.unknown_items else ""
        return f"{low} ~ {high}{suffix}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "model": self.model,
            "party": self.party,
            "lines": [line.as_dict() for line in self.lines],
            "deposit_minor": self.deposit_minor,
            "notices": list(self.notices),
            "departure_date": self.departure_date.isoformat(),
            "settlement": dict(self.settlement),
            "low_minor": self.low_minor,
            "high_minor": self.high_minor,
            "confirmed": self.confirmed,
            "display": self.display_range(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Quote:
        return cls(
            currency=d["currency"],
            model=d["model"],
            party=d["party"],
            lines=tuple(QuoteLine.from_dict(x) for x in d["lines"]),
            deposit_minor=d["deposit_minor"],
            notices=tuple(d["notices"]),
            departure_date=date.fromisoformat(d["departure_date"]),
            settlement=dict(d.get("settlement", {})),
        )


def deposit_for(upper_bound: Money, percent: Decimal, step_major: int) -> Money:
    """Deposit = `percent` % of the upper bound, floored to `step_major` (20 %, 1,000 KRW)."""
    return upper_bound.percent(percent, Rounding.FLOOR).floor_to(step_major)


def _line(item: str, label: str, price: Price | None, quantity: int) -> QuoteLine:
    if price is None:
        return QuoteLine(item, label, "v0", quantity, None, None)
    return QuoteLine(item, label, price.version, quantity, price.low, price.high)


def quote_group(req: GroupOrderRequest, catalog: Catalog) -> Quote:
    """Price every item at its current version; a range with the notice while any item is v0."""
    product = catalog.products.get(req.product_code)
    if product is None:
        raise InvalidInput("product_code", req.product_code, "unknown product")
    lines: list[QuoteLine] = []
    for kind, label in (("adult", "성인"), ("child", "아동")):
        n = req.count(kind)
        if n:
            item = f"product:{product.code}:{kind}"
            lines.append(_line(item, f"{product.name} ({label})", catalog.price(item), n))
    for code in req.options:
        opt = catalog.options[code]
        qty = req.party if opt.per == "person" else 1
        lines.append(_line(f"option:{code}", opt.name, catalog.price(f"option:{code}"), qty))
    if req.model in ("A", "B"):
        charge = catalog.agency_charge_minor
        lines.append(QuoteLine("agency_charge", "여행사 차지", "v1", req.party, charge, charge))
    return _finish(req.model, req.party, req.departure_date, tuple(lines), product, catalog)


def _finish(
    model: GroupModel,
    party: int,
    departure: date,
    lines: tuple[QuoteLine, ...],
    product: Product,
    catalog: Catalog,
) -> Quote:
    draft = Quote(catalog.currency, model, party, lines, 0, (), departure)
    upper = Money(draft.known_high_minor, catalog.currency)
    deposit = deposit_for(upper, product.deposit_percent, product.deposit_step)
    notices: list[str] = []
    if not draft.confirmed:
        notices.append(NOTICE_ESTIMATE)
    if draft.unknown_items:
        notices.append(NOTICE_UNKNOWN)
    notices.append(NOTICE_MODEL[model])
    settlement = _settlement(model, party, draft, catalog)
    if model == "C":
        notices.append(NOTICE_MICE)
    return replace(
        draft, deposit_minor=deposit.amount_minor, notices=tuple(notices), settlement=settlement
    )


def _settlement(model: GroupModel, party: int, draft: Quote, catalog: Catalog) -> dict[str, int]:
    """What we keep and what is owed to a partner, on the upper bound (A: all; B; C)."""
    upper = Money(draft.known_high_minor, catalog.currency)
    if model == "A":
        return {"we_keep": upper.amount_minor, "partner_payable": 0}
    if model == "B":
        keep = catalog.agency_charge_minor * party
        return {"we_keep": keep, "partner_payable": upper.amount_minor - keep}
    commission = upper.percent(catalog.commission_percent, Rounding.FLOOR)
    return {
        "we_keep": commission.amount_minor,
        "partner_payable": upper.amount_minor - commission.amount_minor,
        "mice_subsidy_estimate": catalog.mice_estimate_minor * party,
    }


def confirm_quote(
    quote: Quote,
    catalog: Catalog,
    final_prices: Mapping[str, int] | None = None,
) -> Quote:
    """The v1 quote replacing a range: catalog v1 prices, then ops' final prices for the rest.

    The deposit already taken stays what it was (it was paid on the range's upper bound).
    """
    finals = dict(final_prices or {})
    lines = []
    for line in quote.lines:
        if line.version == "v1":
            lines.append(line)
            continue
        if line.item in finals:
            amount = finals.pop(line.item)
            if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
                raise InvalidInput(f"final_prices[{line.item}]", amount, "a non-negative amount")
        else:
            current = catalog.price(line.item)
            if current is None or current.version != "v1":
                raise InvalidInput("final_prices", line.item, "no confirmed (v1) price given")
            amount = current.low or 0
        lines.append(replace(line, version="v1", unit_low=amount, unit_high=amount))
    if finals:
        raise InvalidInput("final_prices", sorted(finals), "not items of this quote")
    notices = tuple(n for n in quote.notices if n not in (NOTICE_ESTIMATE, NOTICE_UNKNOWN))
    confirmed = replace(quote, lines=tuple(lines), notices=notices)
    settlement = _settlement(confirmed.model, confirmed.party, confirmed, catalog)
    return replace(confirmed, settlement=settlement)


# --------------------------------------------------------------------------------------------
# Balance
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Balance:
    amount: Money
    due_on: date


def balance_for(quote: Quote, deposit_paid: Money, today: date, days_before: int = 14) -> Balance:
    """Balance = confirmed total − deposit, due `days_before` departure (at once if nearer)."""
    total = Money(quote.total_minor, quote.currency)
    amount = total - deposit_paid
    if amount.is_negative():
        amount = Money.zero(quote.currency)  # the overpaid part is refunded, never charged
    due = max(quote.departure_date - timedelta(days=days_before), today)
    return Balance(amount, due)


# --------------------------------------------------------------------------------------------
# Traffic light
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Routing:
    light: Light
    reasons: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{LIGHT_EMOJI[self.light]} {self.light}"


def rooms_needed(party: int) -> int:
    """Twin share: ceil(party / 2) rooms."""
    return math.ceil(party / 2)


def route_order(req: GroupOrderRequest, quote: Quote, catalog: Catalog, today: date) -> Routing:
    """🔴 blocked / 🟢 auto-confirm / 🟡 ops confirm, with every reason that decided it."""
    product = catalog.products.get(req.product_code)
    if product is None:
        return Routing("red", (f"product {req.product_code} is unknown",))
    red: list[str] = []
    if not product.active:
        red.append(f"product {product.code} is not on sale")
    bad = [o for o in req.options if o not in product.options]
    if bad:
        red.append(f"options not offered for {product.code}: {', '.join(bad)}")
    if req.party > product.max_party:
        red.append(f"party {req.party} is over the maximum {product.max_party}")
    if (req.departure_date - today).days < product.lead_days:
        red.append(f"departure is closer than the {product.lead_days}-day lead time")
    supply = catalog.supply_on(product.code, req.departure_date)
    need_rooms = rooms_needed(req.party)
    if supply.vehicle_seats < req.party:
        red.append(f"vehicle seats {supply.vehicle_seats} < party {req.party}")
    if supply.rooms < need_rooms:
        red.append(f"rooms {supply.rooms} < {need_rooms} needed (twin share)")
    if supply.guides < product.guides_needed:
        red.append(f"guides {supply.guides} < {product.guides_needed} needed")
    if red:
        return Routing("red", tuple(red))
    yellow: list[str] = []
    if not product.template:
        yellow.append("custom course (not a template)")
    nonstandard = [o for o in req.options if not catalog.options[o].standard]
    if nonstandard:
        yellow.append(f"non-standard options: {', '.join(nonstandard)}")
    if not quote.confirmed:
        v0 = [line.item for line in quote.lines if line.version != "v1"]
        yellow.append(f"tentative (v0) prices: {', '.join(v0)}")
    if req.party > product.auto_confirm_limit:
        yellow.append(
            f"party {req.party} is over the auto-confirm limit {product.auto_confirm_limit}"
        )
    b = product.buffer
    if supply.vehicle_seats - req.party < b.vehicle_seats:
        yellow.append(f"vehicle seats leave less than the buffer of {b.vehicle_seats}")
    if supply.rooms - need_rooms < b.rooms:
        yellow.append(f"rooms leave less than the buffer of {b.rooms}")
    if supply.guides - product.guides_needed < b.guides:
        yellow.append(f"guides leave less than the buffer of {b.guides}")
    if yellow:
        return Routing("yellow", tuple(yellow))
    return Routing("green", ("template course, standard options, v1 prices, supply with buffer",))


# --------------------------------------------------------------------------------------------
# SLA
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SlaPlan:
    deadline: datetime
    reminders: tuple[datetime, ...]  # at 50 % and 90 % of the SLA


def sla_plan(
    paid_at: datetime, sla: timedelta, reminder_points: Sequence[int] = (50, 90)
) -> SlaPlan:
    if paid_at.tzinfo is None:
        raise InvalidInput("paid_at", paid_at.isoformat(), "must be timezone-aware")
    if sla <= timedelta(0):
        raise InvalidInput("sla", str(sla), "must be positive")
    return SlaPlan(paid_at + sla, tuple(paid_at + sla * p / 100 for p in reminder_points))


def deadline_run_lead(sla: timedelta) -> timedelta:
    """How early the deadline run is scheduled (it then waits for the exact deadline), so a slow
    worker start does not delay the refund: a quarter of the SLA, at most 30 seconds."""
    return min(timedelta(seconds=30), sla / 4)


def countdown(now: datetime, deadline: datetime) -> str:
    """The customer's and ops' countdown: "확정 마감까지 23시간 59분 12초 남음"."""
    left = int((deadline - now).total_seconds())
    if left <= 0:
        return "확정 마감 시간이 지났습니다"
    hours, rest = divmod(left, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"확정 마감까지 {hours}시간 {minutes}분 {seconds}초 남음"


# --------------------------------------------------------------------------------------------
# Refunds
# --------------------------------------------------------------------------------------------
class RefundExceedsPaid(BusinessRuleError):
    """A refund larger than what is still refundable was asked for."""


def refundable(paid: Money, refunded: Money) -> Money:
    """What may still be refunded: paid − refunded, never negative."""
    left = paid - refunded
    return left if not left.is_negative() else Money.zero(paid.currency)


def check_refund(paid: Money, refunded: Money, amount: Money) -> Money:
    """Allow `amount` only if it fits in what is still refundable."""
    if amount.is_negative() or not amount:
        raise InvalidInput("refund_amount", amount.format(), "must be positive")
    left = refundable(paid, refunded)
    if amount > left:
        raise RefundExceedsPaid(
            f"refund_amount={amount.format()} exceeds the refundable {left.format()}"
        )
    return amount


# --------------------------------------------------------------------------------------------
# Gift vouchers
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VoucherPlan:
    traveller_index: int
    mobile: str
    name: str
    amount: Money
    trigger: str
    due_on: date
    message: str


def voucher_due_on(
    rule: VoucherRule, product: Product, departure: date, confirmed_on: date
) -> date:
    if rule.trigger == "confirmation":
        return confirmed_on
    if rule.trigger == "departure":
        return departure
    return departure + timedelta(days=product.nights)  # event end


def plan_vouchers(
    product: Product,
    travellers: Iterable[Traveller],
    departure: date,
    confirmed_on: date,
    currency: str = "KRW",
) -> list[VoucherPlan]:
    """One voucher per traveller on the product's trigger (none if the product gives none)."""
    rule = product.voucher
    if rule is None:
        return []
    due = voucher_due_on(rule, product, departure, confirmed_on)
    return [
        VoucherPlan(
            i,
            t.mobile,
            t.name,
            Money(rule.amount_minor, currency),
            rule.trigger,
            due,
            f"[{product.region}] {t.name}님, {rule.message}",
        )
        for i, t in enumerate(travellers)
    ]
