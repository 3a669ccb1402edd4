"""The paper exchange's client-facing operations: place, modify, cancel, and catching up."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from .clock import Clock
from .errors import InputError, OrderError
from .execution import Execution
from .instruments import Catalogue
from .orders import (
    AMO_REQ_RECEIVED,
    CANCEL_PENDING,
    CANCELLED,
    COMPLETE,
    MAX_MODIFICATIONS,
    MODIFIED,
    MODIFY_PENDING,
    MODIFY_VALIDATION_PENDING,
    OPEN,
    PUT_ORDER_REQ_RECEIVED,
    REJECTED,
    VALIDATION_PENDING,
    WORKING,
    Order,
    OrderState,
)
from .prices import Market
from .registry import Registry
from .validation import Form, PlaceRequest, Terms, check_terms, parse_modify

MARKET_CLOSED = "Markets are closed right now. Use GTT for placing long standing orders instead."
PAST_TENSE = {COMPLETE: "completed", CANCELLED: "cancelled", REJECTED: "rejected"}


class Exchange:
    """Every user's orders; every request touches only the orders it names."""

    def __init__(self, catalogue: Catalogue, market: Market, clock: Clock) -> None:
        self.catalogue = catalogue
        self.market = market
        self.clock = clock
        self.registry = Registry()
        self.execution = Execution(self.registry, market, clock)

    def place(self, user_id: str, request: PlaceRequest, reject: str | None = None) -> list[str]:
        """Accept an order (several when autosliced); refusals leave no order behind."""
        if request.variety != "amo" and not self.clock.is_market_open():
            raise InputError(MARKET_CLOSED)
        account = self.registry.accounts[user_id]
        price = self._reference_price(request)
        is_buy = request.transaction_type == "BUY"
        slices = [
            (
                quantity,
                account.required_margin(
                    request.instrument, request.product, is_buy, quantity, price
                ),
            )
            for quantity in _slices(request)
        ]
        account.block(sum((margin for _, margin in slices), Decimal(0)))
        now = self.clock.now()
        orders = [self._create(user_id, request, q, margin, now) for q, margin in slices]
        if request.autoslice:
            _tag_slices(orders)
        for order in orders:
            self._submit(order, now, reject)
        return [order.order_id for order in orders]

    def modify(self, user_id: str, order_id: str, form: Form) -> Order:
        order = self._working(user_id, order_id, "modified")
        if order.modifications >= MAX_MODIFICATIONS:
            raise OrderError("Maximum allowed order modifications exceeded.")
        terms = parse_modify(form, _terms(order))
        check_terms(order.instrument, order.transaction_type, terms)
        price = terms.price or self.execution.ticks(order) * order.instrument.tick_size
        needed = self.registry.accounts[user_id].required_margin(
            order.instrument, order.product, order.is_buy, terms.quantity, price
        )
        self.registry.accounts[user_id].reblock(order.blocked_margin, needed)
        order.blocked_margin = needed
        self._apply_modification(order, terms)
        return order

    def cancel(self, user_id: str, order_id: str, parent_order_id: str | None = None) -> Order:
        order = self._working(user_id, order_id, "cancelled")
        now = self.clock.now()
        self.execution.unrest(order)
        if parent_order_id and order.parent_order_id == parent_order_id:
            # Exiting a cover order's stop leg squares the position off at market.
            order.move(status=OPEN, order_type="MARKET", exchange_update_timestamp=now)
            self.execution.fill(order, self.execution.ticks(order), now)
            return order
        order.move(status=CANCEL_PENDING)
        self.execution.cancel(order, now)
        return order

    def sync(self) -> None:
        """Bring instruments with working orders up to the clock; release AMOs in session."""
        second = self.clock.second()
        for token in list(self.execution.books):
            instrument = self.catalogue.by_token(token)
            if instrument is not None:
                self.market.walk(instrument, second)
        queue = self.execution.amo_queue
        if queue and self.clock.is_market_open():
            now = self.clock.now()
            for order in list(queue.values()):
                del queue[order.order_id]
                order.move(status=VALIDATION_PENDING)
                self.execution.go_live(order, now)

    def _create(
        self, user_id: str, request: PlaceRequest, quantity: int, margin: Decimal, now: datetime
    ) -> Order:
        state = _initial_state(request, quantity, now)
        ids = self.registry.ids
        order = Order(
            order_id=ids.order_id(now),
            user_id=user_id,
            variety=request.variety,
            instrument=request.instrument,
            transaction_type=request.transaction_type,
            product=request.product,
            state=state,
            guid=ids.guid(user_id),
            validity_ttl=request.terms.validity_ttl,
            tag=request.tag,
            auction_number=request.auction_number,
            meta=_meta(request),
            blocked_margin=margin,
            history=[state],
        )
        self.registry.add_order(order)
        return order

    def _submit(self, order: Order, now: datetime, reject: str | None) -> None:
        if order.status == AMO_REQ_RECEIVED and not self.clock.is_market_open():
            self.execution.amo_queue[order.order_id] = order
            return
        self.execution.submit(order, now, reject)

    def _apply_modification(self, order: Order, terms: Terms) -> None:
        was_queued = order.status == AMO_REQ_RECEIVED
        self.execution.unrest(order)
        order.modifications += 1
        now = self.clock.now()
        order.move(status=MODIFY_VALIDATION_PENDING, order_timestamp=now)
        order.move(status=MODIFY_PENDING)
        order.move(status=MODIFIED, modified=True, exchange_update_timestamp=now, **_changes(terms))
        if was_queued:
            order.move(status=AMO_REQ_RECEIVED)
            self._submit(order, now, None)
        else:
            self.execution.work(order, now)

    def _working(self, user_id: str, order_id: str, verb: str) -> Order:
        order = self.registry.order(user_id, order_id)
        status = order.state.status
        if status not in WORKING:
            reason = PAST_TENSE.get(status, "being processed")
            raise OrderError(f"Order cannot be {verb} as it is {reason}.")
        return order

    def _reference_price(self, request: PlaceRequest) -> Decimal:
        if request.terms.price:
            return request.terms.price
        return self.market.price(request.instrument, self.clock.second())


def _initial_state(request: PlaceRequest, quantity: int, now: datetime) -> OrderState:
    terms = request.terms
    return OrderState(
        status=AMO_REQ_RECEIVED if request.variety == "amo" else PUT_ORDER_REQ_RECEIVED,
        order_type=terms.order_type,
        quantity=quantity,
        price=terms.price,
        trigger_price=terms.trigger_price,
        validity=terms.validity,
        disclosed_quantity=terms.disclosed_quantity,
        market_protection=terms.market_protection,
        order_timestamp=now,
    )


def _slices(request: PlaceRequest) -> list[int]:
    """Autoslice splits at the freeze quantity; otherwise one order."""
    quantity, freeze = request.terms.quantity, request.instrument.freeze_quantity
    if not request.autoslice or not freeze or quantity <= freeze:
        return [quantity]
    return [freeze] * (quantity // freeze) + ([quantity % freeze] if quantity % freeze else [])


def _tag_slices(orders: list[Order]) -> None:
    parent = orders[0].order_id
    for order in orders:
        order.system_tags = ["autoslice", f"autoslice:{parent}"]


def _meta(request: PlaceRequest) -> dict[str, Any]:
    if request.variety != "iceberg" or not request.iceberg_legs or not request.iceberg_quantity:
        return {}
    quantity = request.terms.quantity
    leg = {
        "leg": 1,
        "legs": request.iceberg_legs,
        "leg_quantity": request.iceberg_quantity,
        "total_quantity": quantity,
        "remaining_quantity": quantity,
    }
    return {"iceberg": leg}


def _terms(order: Order) -> Terms:
    state = order.state
    return Terms(
        order_type=state.order_type,
        quantity=state.quantity,
        price=state.price,
        trigger_price=state.trigger_price,
        validity=state.validity,
        disclosed_quantity=state.disclosed_quantity,
        market_protection=state.market_protection,
        validity_ttl=order.validity_ttl,
    )


def _changes(terms: Terms) -> dict[str, Any]:
    return {
        "order_type": terms.order_type,
        "quantity": terms.quantity,
        "price": terms.price,
        "trigger_price": terms.trigger_price,
        "validity": terms.validity,
        "disclosed_quantity": terms.disclosed_quantity,
        "market_protection": terms.market_protection,
    }
