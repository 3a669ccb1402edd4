"""The paper exchange's client-facing operations: place, modify, cancel, and catching up."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from .clock import Clock
from .errors import InputError, OrderError
from .execution import Execution
from .gtt import Gtts
from .ids import IdFactory
from .instruments import Catalogue
from .kite_enums import OrderType, Product, TransactionType, Validity, Variety
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
    REJECTED,
    UPDATE,
    WORKING,
    Order,
    OrderListener,
)
from .placement import (
    changes,
    current_terms,
    first_leg,
    initial_state,
    is_buy,
    meta,
    slices,
    tag_slices,
)
from .prices import Market
from .registry import Registry
from .rms import check_holdings, circuit_breach
from .schedule import Schedule
from .validation import Form, PlaceRequest, Terms, check_terms, parse_modify

MARKET_CLOSED = "Markets are closed right now. Use GTT for placing long standing orders instead."
PAST_TENSE = {COMPLETE: "completed", CANCELLED: "cancelled", REJECTED: "rejected"}
TTL_EXPIRED = "Order expired: its validity (TTL) ran out."


class Exchange:
    """Every user's orders; every request touches only the orders it names."""

    def __init__(
        self,
        catalogue: Catalogue,
        market: Market,
        clock: Clock,
        listener: OrderListener | None = None,
        ids: IdFactory | None = None,
    ) -> None:
        self.catalogue = catalogue
        self.market = market
        self.clock = clock
        self.registry = Registry() if ids is None else Registry(ids=ids)
        self.execution = Execution(self.registry, market, listener)
        self.gtts = Gtts(self.registry, self.execution, clock, market, self.place)
        self.schedule = Schedule(clock.second())

    def place(self, user_id: str, request: PlaceRequest, reject: str | None = None) -> list[str]:
        """Accept an order (several when autosliced); refusals leave no order behind."""
        if request.variety != Variety.AMO and not self.clock.is_market_open():
            raise InputError(MARKET_CLOSED)
        account = self.registry.accounts[user_id]
        if request.product == Product.CNC and request.transaction_type == TransactionType.SELL:
            self._check_holdings(user_id, request)
        price = self._reference_price(request)
        item, product, buying = request.instrument, request.product, is_buy(request)
        parts = [
            (quantity, account.required_margin(item, product, buying, quantity, price))
            for quantity in slices(request)
        ]
        account.block(sum((margin for _, margin in parts), Decimal(0)))
        now, second = self.clock.now(), self.clock.second()
        orders = [self._create(user_id, request, q, margin, now) for q, margin in parts]
        if request.autoslice:
            tag_slices(orders)
        for order in orders:
            self._submit(order, second, reject)
        return [order.order_id for order in orders]

    def modify(self, user_id: str, order_id: str, form: Form) -> Order:
        order = self._working(user_id, order_id, "modified")
        if order.modifications >= MAX_MODIFICATIONS:
            raise OrderError("Maximum allowed order modifications exceeded.")
        terms = parse_modify(form, current_terms(order))
        check_terms(order.instrument, order.transaction_type, terms)
        if terms.quantity <= order.state.filled_quantity:
            raise InputError("Quantity should be greater than the filled quantity.")
        walk = self.market.walk(order.instrument, self.clock.second())
        breach = circuit_breach(terms.order_type, terms.price, terms.trigger_price, walk)
        if breach is not None:
            raise OrderError(breach)
        units = terms.quantity - order.state.filled_quantity + order.unplaced_quantity
        account = self.registry.accounts[user_id]
        needed = account.required_margin(
            order.instrument, order.product, order.is_buy, units, terms.price or walk.price
        )
        account.reblock(order.blocked_margin, needed)
        order.blocked_margin = needed
        self._apply_modification(order, terms)
        return order

    def cancel(self, user_id: str, order_id: str, parent_order_id: str | None = None) -> Order:
        order = self._working(user_id, order_id, "cancelled")
        second = self.clock.second()
        self.execution.unrest(order)
        if parent_order_id and order.parent_order_id == parent_order_id:
            # Exiting a cover order's stop leg squares the position off at market.
            order.move(
                status=OPEN, order_type=OrderType.MARKET, exchange_update_timestamp=self.clock.now()
            )
            self.execution.work(order, second)
            return order
        order.move(status=CANCEL_PENDING)
        self.execution.cancel(order, second)
        return order

    def sync(self) -> None:
        """Bring the exchange up to the clock: timed events, resting orders, AMOs, triggers."""
        second = self.clock.second()
        execution = self.execution
        if execution.went_live:
            self._schedule_expiries()
        if second >= self.schedule.next_at:
            self._run_events(second)
        self._walk_books(second)
        if execution.amo_queue and self.clock.is_market_open():
            for order in list(execution.amo_queue.values()):
                del execution.amo_queue[order.order_id]
                execution.submit(order, second)
        if execution.crossed:
            crossed, execution.crossed = execution.crossed, []
            self.gtts.fire(crossed)

    def _walk_books(self, second: int) -> None:
        for token in list(self.execution.books):
            instrument = self.catalogue.by_token(token)
            if instrument is not None:
                self.market.walk(instrument, second)

    def _schedule_expiries(self) -> None:
        for order in self.execution.went_live:
            deadline = order.state.order_timestamp.timestamp() + (order.validity_ttl or 0) * 60
            self.schedule.expire_at(int(deadline), order.order_id)
        self.execution.went_live.clear()

    def _run_events(self, second: int) -> None:
        while (event := self.schedule.pop_due(second)) is not None:
            at, order_id = event
            self._walk_books(at)
            if order_id is None:
                self._roll_over(at)
                continue
            order = self.registry.orders.get(order_id)
            if (
                order is not None
                and order.status in WORKING
                and order.state.validity == Validity.TTL
            ):
                self.execution.cancel(order, at, TTL_EXPIRED)

    def _roll_over(self, second: int) -> None:
        """Close the trading day ending at `second` (midnight IST) and open the next.

        Kite's order book and trade book hold one day: every working DAY/TTL order expires,
        then finished orders and the day's trades are forgotten. AMOs waiting for the next
        session survive, and so do GTT triggers, unless their lifetime is over.
        """
        self.execution.expire_day(second)
        self.registry.roll_over()
        self.gtts.expire(second)

    def _check_holdings(self, user_id: str, request: PlaceRequest) -> None:
        book = self.execution.books.get(request.instrument.instrument_token)
        waiting = [*(book.orders.values() if book else ()), *self.execution.amo_queue.values()]
        check_holdings(self.registry.accounts[user_id], request, waiting)

    def _create(
        self, user_id: str, request: PlaceRequest, quantity: int, margin: Decimal, now: datetime
    ) -> Order:
        leg_quantity = first_leg(request, quantity)
        state = initial_state(request, leg_quantity, now)
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
            meta=meta(request, leg_quantity),
            blocked_margin=margin,
            history=[state],
        )
        self.registry.add_order(order)
        return order

    def _submit(self, order: Order, second: int, reject: str | None) -> None:
        if order.status == AMO_REQ_RECEIVED and not self.clock.is_market_open():
            self.execution.amo_queue[order.order_id] = order
            return
        self.execution.submit(order, second, reject)

    def _apply_modification(self, order: Order, terms: Terms) -> None:
        was_queued = order.status == AMO_REQ_RECEIVED
        self.execution.unrest(order)
        order.modifications += 1
        now, second = self.clock.now(), self.clock.second()
        order.move(status=MODIFY_VALIDATION_PENDING, order_timestamp=now)
        order.move(status=MODIFY_PENDING)
        order.move(status=MODIFIED, modified=True, exchange_update_timestamp=now, **changes(terms))
        self.execution.notify(order, UPDATE)
        if was_queued:
            order.move(status=AMO_REQ_RECEIVED)
            self._submit(order, second, None)
        else:
            self.execution.work(order, second)

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
