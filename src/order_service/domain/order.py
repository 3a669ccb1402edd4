"""The order aggregate: the caller's intent, our record of the broker order, and its events."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from order_service.domain.events import ORDER_TERMS_OUTSIDE_RULES, OrderEvent
from order_service.domain.ids import (
    AccountId,
    BrokerOrderId,
    ClientOrderId,
    OrderId,
    StrategyId,
    UserId,
)
from order_service.domain.reports import OrderStatusReport
from order_service.domain.status import (
    REPORT_TRIGGERS,
    REPORTED_STATES,
    WITHDRAWALS,
    OrderStatus,
    OrderTrigger,
    can_move,
    next_status,
)
from order_service.domain.values import (
    Exchange,
    OrderType,
    Product,
    TransactionType,
    Validity,
    Variety,
)
from order_service.errors import ValidationError

MAX_MODIFICATIONS = 25  # Kite's per-order cap (KITE.md 5.3)
MAX_QUANTITY = 100_000_000  # far above any exchange's freeze limit; fits every integer column
_AMENDABLE = frozenset(
    {"quantity", "price", "trigger_price", "order_type", "validity", "disclosed_quantity"}
)
AUTOMATIC_MARKET_PROTECTION = -1


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What the caller asked for, in Kite's terms.

    ``create`` validates a new request; the plain constructor rebuilds a stored one as it was,
    so tightening a rule never makes an order already placed unreadable.
    """

    account_id: AccountId
    exchange: Exchange
    tradingsymbol: str
    transaction_type: TransactionType
    quantity: int
    product: Product
    order_type: OrderType
    variety: Variety = Variety.REGULAR
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    validity: Validity = Validity.DAY
    validity_ttl: int | None = None
    disclosed_quantity: int | None = None
    market_protection: Decimal | None = None
    tag: str | None = None
    strategy_id: StrategyId | None = None
    # Sent with Kite's autoslice when over the freeze quantity; not stored (each slice is
    # recorded as an order of its own quantity).
    autoslice: bool = False
    # The auction an ``auction`` variety order bids in (Kite's ``get_auction_instruments``).
    auction_number: str | None = None

    @classmethod
    def create(cls, **terms: Any) -> OrderRequest:
        """Build a new request and check it against our rules (``ValidationError`` if not)."""
        return cls(**terms).validated()

    def validated(self) -> OrderRequest:
        """Return this request if it satisfies our rules; raise ``ValidationError`` if not."""
        _check_request(self)
        return self

    def fingerprint(self) -> str:
        """Return a stable hash of the request, to tell a repeat from a different request."""
        body = {f.name: _canonical(getattr(self, f.name)) for f in fields(self)}
        for name in ("autoslice", "auction_number"):
            if not body[name]:
                del body[name]  # the fingerprints of orders stored before it stay the same
        encoded = json.dumps(body, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(encoded.encode()).hexdigest()

    @property
    def market_protection_to_send(self) -> Decimal | None:
        """Return the protection to send: MARKET/SL-M default to automatic (Kite rejects 0)."""
        if self.market_protection is None and self.order_type.is_market:
            return Decimal(AUTOMATIC_MARKET_PROTECTION)
        return self.market_protection


def _canonical(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value.normalize())
    return value


def _check_request(request: OrderRequest) -> None:
    _check_positive("quantity", request.quantity)
    if not request.tradingsymbol.strip():
        raise ValidationError("tradingsymbol must not be empty", field="tradingsymbol")
    if request.order_type.needs_price and request.price is None:
        raise ValidationError(f"price is required for {request.order_type} orders", field="price")
    if request.order_type.needs_trigger and request.trigger_price is None:
        raise ValidationError(
            f"trigger_price is required for {request.order_type} orders", field="trigger_price"
        )
    for name in ("price", "trigger_price"):
        value = getattr(request, name)
        if value is not None and value <= 0:
            raise ValidationError(f"{name} must be positive", field=name)
    _check_validity(request.validity, request.validity_ttl)
    _check_market_protection(request.market_protection)
    _check_variety(request)
    if request.disclosed_quantity is not None and not (
        0 <= request.disclosed_quantity <= request.quantity
    ):
        raise ValidationError(
            "disclosed_quantity must be between 0 and quantity", field="disclosed_quantity"
        )


def _check_variety(request: OrderRequest) -> None:
    """An auction bid names its auction, and only it does; an iceberg is refused here, so it
    never reaches the broker: its later legs are orders of their own that we do not follow."""
    if request.variety is Variety.ICEBERG:
        raise ValidationError(
            "iceberg orders are not supported: their later legs would go unfollowed; place the "
            "legs as orders of their own, or use autoslice",
            field="variety",
            details={"variety": request.variety.value},
        )
    if request.variety is Variety.AUCTION and not request.auction_number:
        raise ValidationError("an auction order needs its auction_number", field="auction_number")
    if request.variety is not Variety.AUCTION and request.auction_number is not None:
        raise ValidationError(
            "auction_number is only for the auction variety", field="auction_number"
        )


def _check_positive(name: str, value: int) -> None:
    if not 0 < value <= MAX_QUANTITY:
        raise ValidationError(f"{name} must be a positive integer up to {MAX_QUANTITY}", field=name)


def _check_validity(validity: Validity, ttl: int | None) -> None:
    if validity is Validity.TTL and (ttl is None or ttl <= 0):
        raise ValidationError("validity TTL needs validity_ttl in minutes", field="validity_ttl")
    if validity is not Validity.TTL and ttl is not None:
        raise ValidationError("validity_ttl is only for validity TTL", field="validity_ttl")


def _check_market_protection(value: Decimal | None) -> None:
    if value is None or value == AUTOMATIC_MARKET_PROTECTION:
        return
    if not 0 < value <= 100:
        raise ValidationError(
            "market_protection is -1 (automatic) or a percentage in (0, 100]",
            field="market_protection",
        )


@dataclass(frozen=True, slots=True)
class OrderChanges:
    """A modification: only the fields given change."""

    quantity: int | None = None
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    order_type: OrderType | None = None
    validity: Validity | None = None
    disclosed_quantity: int | None = None

    def __post_init__(self) -> None:
        if all(value is None for value in asdict(self).values()):
            raise ValidationError("a modification must change at least one field")
        if self.quantity is not None:
            _check_positive("quantity", self.quantity)
        for name in ("price", "trigger_price"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValidationError(f"{name} must be positive", field=name)

    def as_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value is not None}


class OrderSource(StrEnum):
    """Who placed the order: we did (``api``), or someone at the broker did (``external``)."""

    API = "api"
    EXTERNAL = "external"


class OrderOrigin(StrEnum):
    """Who decided the order: a person (a user's own key or JWT, or the broker's app for an
    external order) or a script (an API key bound to a strategy)."""

    MANUAL = "manual"
    SCRIPT = "script"


@dataclass(slots=True)
class Order:
    """Our record of one broker order; changes only through its methods, each emitting events.

    ``tag`` is the tag we sent the broker, by which we recognise our own orders in its books;
    an external order has none (the tag its placer chose, if any, is ``request.tag``).
    ``placed_by`` is the instance id of the process that placed the order (None if unknown).
    """

    order_id: OrderId
    client_order_id: ClientOrderId
    request: OrderRequest
    request_fingerprint: str
    tag: str | None
    strategy_id: StrategyId
    user_id: UserId | None  # None for an external order: no user of ours placed it
    created_at: datetime
    updated_at: datetime
    status: OrderStatus = OrderStatus.NEW
    broker_order_id: BrokerOrderId | None = None
    broker_status: str | None = None
    status_message: str | None = None
    exchange_order_id: str | None = None
    filled_quantity: int = 0
    average_price: Decimal | None = None
    modification_count: int = 0
    version: int = 0
    source: OrderSource = OrderSource.API
    placed_by: str | None = None
    origin: OrderOrigin = OrderOrigin.MANUAL
    pending_events: list[OrderEvent] = field(default_factory=list)

    @property
    def account_id(self) -> AccountId:
        return self.request.account_id

    @property
    def is_external(self) -> bool:
        return self.source is OrderSource.EXTERNAL

    @property
    def broker_tag(self) -> str:
        """Return the tag to send the broker; only an order placed through us has one."""
        if self.tag is None:
            raise ValidationError("an order placed outside the service has no tag of ours")
        return self.tag

    @property
    def is_terminal(self) -> bool:
        return self.status.is_terminal

    @property
    def can_be_modified(self) -> bool:
        return self.modification_count < MAX_MODIFICATIONS

    def move(self, trigger: OrderTrigger, at: datetime, **data: Any) -> None:
        """Apply ``trigger`` (raising ``InvalidTransition`` if forbidden) and record the event."""
        before = self.status
        self.status = next_status(before, trigger)
        self.updated_at = at
        self.pending_events.append(
            OrderEvent.of(self.order_id, trigger, before, self.status, at, data)
        )

    def record(self, name: str, at: datetime, **data: Any) -> None:
        """Record an event that does not change the state (a modification accepted, say)."""
        self.updated_at = at
        self.pending_events.append(
            OrderEvent(self.order_id, name, at, self.status, self.status, data)
        )

    def accept(self, broker_order_id: BrokerOrderId, at: datetime) -> None:
        """Record the broker's acceptance, unless a broker report got here first."""
        if self._outcome_overtaken(OrderTrigger.ACCEPT):
            self.broker_order_id = self.broker_order_id or broker_order_id
            return
        self.broker_order_id = broker_order_id
        self.move(OrderTrigger.ACCEPT, at, broker_order_id=broker_order_id)

    def lose_track(self, at: datetime, **data: Any) -> None:
        """Record that the send's outcome is unknown, unless a broker report already settled it."""
        if not self._outcome_overtaken(OrderTrigger.LOSE_TRACK):
            self.move(OrderTrigger.LOSE_TRACK, at, **data)

    def _outcome_overtaken(self, trigger: OrderTrigger) -> bool:
        # A postback or a sync can land before the placing request hears back; the broker's
        # report is the later truth, so the send's own outcome is absorbed, never a conflict.
        return not can_move(self.status, trigger) and self.status in REPORTED_STATES

    def would_accept(self, report: OrderStatusReport) -> bool:
        """Return True if ``report`` is news: a forward move or a new fill in the same state."""
        status = self._status_of(report)
        if status is None or report.filled_quantity > (report.quantity or self.request.quantity):
            return False  # unmapped, or more filled than the order holds: never applied
        if status == self.status:
            return report.filled_quantity > self.filled_quantity
        return can_move(self.status, REPORT_TRIGGERS[status])

    def withdraw_amendment(
        self, pending: OrderStatus, previous: OrderStatus, at: datetime, **data: Any
    ) -> None:
        """Return from ``pending`` to ``previous``: the modify or cancel was refused unsent.

        If a broker report moved the order meanwhile, that report is the truth and stays.
        """
        if self.status is pending:
            self.move(WITHDRAWALS[previous], at, **data)

    def is_reported_by(self, report: OrderStatusReport) -> bool:
        """Return True if ``report`` is about this order: its broker id once known, and our tag.

        Broker ids alone are not enough: a broker that reused an id (a paper broker restarted
        without its books) would make one order adopt another's fills. An external order is
        known by its broker id and the tag its placer gave it (none, usually).
        """
        if self.broker_order_id is not None and report.broker_order_id != self.broker_order_id:
            return False
        if self.tag is None:
            return self.broker_order_id is not None and report.tag == self.request.tag
        return report.tag == self.tag

    def may_be_found_by_tag(self, report: OrderStatusReport) -> bool:
        """True if ``report``, found by our tag alone (we hold no broker id yet), may be this
        order's own row: not one slice of an autoslice of it (Kite tags every slice alike),
        whose quantity is a slice's, not the order's (none can be modified before it has a
        broker id)."""
        return self.broker_order_id is None and report.quantity in (0, self.request.quantity)

    def adopt(self, report: OrderStatusReport, at: datetime, **context: Any) -> bool:
        """Take the broker's report of this order, and its broker id if we lacked it."""
        self.broker_order_id = self.broker_order_id or report.broker_order_id
        return self.apply_report(report, at, **context)

    def apply_report(self, report: OrderStatusReport, at: datetime, **context: Any) -> bool:
        """Move toward the broker's reported state; return False if the report is stale.

        ``context`` is added to the events the move records (what found the report, say).
        """
        status = self._status_of(report)
        if not self.would_accept(report) or status is None:
            return False
        self._take_report_fields(report, at)
        if status == self.status:
            self._record_fill(at, context)
        else:
            self.move(REPORT_TRIGGERS[status], at, **_report_data(report), **context)
        return True

    def _status_of(self, report: OrderStatusReport) -> OrderStatus | None:
        return self.status if report.is_update else report.status

    def _take_report_fields(self, report: OrderStatusReport, at: datetime) -> None:
        self.broker_order_id = self.broker_order_id or report.broker_order_id
        if not report.is_update:
            self.broker_status = report.raw_status
        self.status_message = report.status_message or self.status_message
        self.exchange_order_id = report.exchange_order_id or self.exchange_order_id
        self.filled_quantity = max(self.filled_quantity, report.filled_quantity)
        self.average_price = report.average_price or self.average_price
        terms = {
            "price": report.price,
            "trigger_price": report.trigger_price,
            "quantity": report.quantity or None,
            "disclosed_quantity": report.disclosed_quantity,
        }
        # Kite reports 0 for a price that is not set; only real values are terms.
        self.amend_terms({key: value for key, value in terms.items() if value}, at)

    def amend_terms(self, terms: dict[str, Any], at: datetime | None = None) -> None:
        """Take the working terms the broker holds (after a modify, or as reported).

        Broker truth is not ours to refuse: terms our rules would reject are kept all the same,
        and an ``OrderTermsOutsideRules`` event says which rule they break.
        """
        fields = {key: value for key, value in terms.items() if key in _AMENDABLE}
        # Most reports restate the terms held: compared field by field (as the dataclass's
        # equality would), they cost no copy of the request.
        if all(getattr(self.request, key) == value for key, value in fields.items()):
            return
        amended = replace(self.request, **fields)
        self.request = amended
        try:
            amended.validated()
        except ValidationError as exc:
            self.record(
                ORDER_TERMS_OUTSIDE_RULES,
                at or self.updated_at,
                reason=exc.message,
                **{key: str(value) for key, value in fields.items()},
            )

    def _record_fill(self, at: datetime, context: dict[str, Any]) -> None:
        self.updated_at = at
        event = OrderEvent.fill_update(
            self.order_id, self.status, self.filled_quantity, self.average_price, at
        )
        self.pending_events.append(replace(event, data={**event.data, **context}))


def _report_data(report: OrderStatusReport) -> dict[str, Any]:
    data: dict[str, Any] = {"broker_status": report.raw_status}
    if report.filled_quantity:
        data["filled_quantity"] = report.filled_quantity
    if report.average_price is not None:
        data["average_price"] = str(report.average_price)
    if report.status_message:
        data["status_message"] = report.status_message
    return data
