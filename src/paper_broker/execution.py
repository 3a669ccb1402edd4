"""Working live orders: the status sequence from validation to a fill, trigger or cancel."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from .clock import Clock, second_to_datetime
from .matching import Book, is_marketable, is_triggered
from .orders import (
    CANCELLED,
    COMPLETE,
    MODIFIED,
    OPEN,
    OPEN_PENDING,
    REJECTED,
    STOP_TYPES,
    TRIGGER_PENDING,
    VALIDATION_PENDING,
    Order,
    OrderState,
    Trade,
)
from .prices import Market
from .registry import Registry


class Execution:
    """Moves orders through Kite's statuses against the simulated market."""

    def __init__(self, registry: Registry, market: Market, clock: Clock) -> None:
        self.registry = registry
        self.market = market
        self.clock = clock
        self.books: dict[int, Book] = {}
        self.amo_queue: dict[str, Order] = {}

    def submit(self, order: Order, now: datetime, reject: str | None) -> None:
        """Validate and send to the exchange, or reject as the RMS would after acceptance."""
        order.move(status=VALIDATION_PENDING)
        if reject is not None:
            order.move(status=REJECTED, status_message=reject, exchange_update_timestamp=now)
            self.release(order)
            return
        self.go_live(order, now)

    def go_live(self, order: Order, now: datetime) -> None:
        order.move(status=OPEN_PENDING)
        status = TRIGGER_PENDING if order.state.order_type in STOP_TYPES else OPEN
        order.move(
            status=status,
            exchange_order_id=self.registry.ids.exchange_order_id(),
            exchange_timestamp=now,
            exchange_update_timestamp=now,
        )
        self.work(order, now)

    def work(self, order: Order, now: datetime) -> None:
        """Work an order that just went live: trade, trigger, rest or (IOC) cancel."""
        if order.state.status == MODIFIED:
            order.move(status=_status_after_modify(order))
        ticks = self.ticks(order)
        if order.state.status == TRIGGER_PENDING:
            if is_triggered(order, ticks):
                self._trigger(order, ticks, now)
            else:
                self.rest(order)
        elif is_marketable(order, ticks):
            self.fill(order, ticks, now)
        elif order.state.validity == "IOC":
            self.cancel(order, now)
        else:
            self.rest(order)

    def fill(self, order: Order, ticks: int, when: datetime) -> None:
        """Fill the whole remaining quantity at `ticks`."""
        price = ticks * order.instrument.tick_size
        quantity = order.state.quantity - order.state.filled_quantity
        self.release(order)
        order.move(
            status=COMPLETE,
            filled_quantity=order.state.quantity,
            average_price=price,
            exchange_update_timestamp=when,
        )
        self.registry.add_trade(_trade(self.registry, order, quantity, price, when))
        self.registry.accounts[order.user_id].apply_fill(
            order.instrument, order.product, order.is_buy, quantity, price
        )
        if order.variety == "co" and order.parent_order_id is None:
            self._open_cover_leg(order, when)

    def cancel(self, order: Order, now: datetime) -> None:
        self.unrest(order)
        cancelled = order.state.quantity - order.state.filled_quantity
        order.move(status=CANCELLED, cancelled_quantity=cancelled, exchange_update_timestamp=now)
        self.release(order)

    def release(self, order: Order) -> None:
        self.registry.accounts[order.user_id].release(order.blocked_margin)
        order.blocked_margin = Decimal(0)

    def ticks(self, order: Order) -> int:
        return self.market.walk(order.instrument, self.clock.second()).ticks

    def _trigger(self, order: Order, ticks: int, when: datetime) -> None:
        order.move(status=OPEN, exchange_update_timestamp=when)
        if is_marketable(order, ticks):
            self.fill(order, ticks, when)
        else:
            self.rest(order)

    def _open_cover_leg(self, entry: Order, now: datetime) -> None:
        """The system-placed stop-loss leg of a filled cover order."""
        ids = self.registry.ids
        state = _cover_leg_state(entry, ids.exchange_order_id(), now)
        leg = Order(
            order_id=ids.order_id(now),
            user_id=entry.user_id,
            variety="co",
            instrument=entry.instrument,
            transaction_type="SELL" if entry.is_buy else "BUY",
            product="CO",
            state=state,
            guid=ids.guid(entry.user_id),
            tag=entry.tag,
            parent_order_id=entry.order_id,
            history=[state],
        )
        self.registry.add_order(leg)
        self.rest(leg)

    # -- resting orders -----------------------------------------------------------------------

    def on_fire(self, book: Book, ticks: int, second: int) -> None:
        """A price step reached resting orders: trigger stops, fill limits at their own price."""
        when = second_to_datetime(second)
        for order in book.due(ticks):
            del book.orders[order.order_id]
            if order.state.status == TRIGGER_PENDING:
                self._trigger(order, ticks, when)
            else:
                self.fill(order, int(order.state.price / order.instrument.tick_size), when)
        book.refresh()
        if not book.orders:
            self._drop_book(book.token)

    def rest(self, order: Order) -> None:
        token = order.instrument.instrument_token
        book = self.books.get(token)
        if book is None:
            book = self.books[token] = Book(token, self.on_fire)
            self.market.watchers[token] = book
        book.add(order)

    def unrest(self, order: Order) -> None:
        self.amo_queue.pop(order.order_id, None)
        book = self.books.get(order.instrument.instrument_token)
        if book is not None:
            book.remove(order.order_id)
            if not book.orders:
                self._drop_book(book.token)

    def _drop_book(self, token: int) -> None:
        self.books.pop(token, None)
        self.market.watchers.pop(token, None)


def _cover_leg_state(entry: Order, exchange_order_id: str, now: datetime) -> OrderState:
    return OrderState(
        status=TRIGGER_PENDING,
        order_type="SL-M",
        quantity=entry.state.quantity,
        price=Decimal(0),
        trigger_price=entry.state.trigger_price,
        validity="DAY",
        disclosed_quantity=0,
        # A limit entry may carry no protection; the system's stop leg uses the automatic one.
        market_protection=entry.state.market_protection or Decimal(-1),
        order_timestamp=now,
        exchange_order_id=exchange_order_id,
        exchange_timestamp=now,
        exchange_update_timestamp=now,
    )


def _status_after_modify(order: Order) -> str:
    # history: ..., <live status>, MODIFY VALIDATION PENDING, MODIFY PENDING, MODIFIED
    before = order.history[-4]
    was_triggered = before.status == OPEN and before.order_type in STOP_TYPES
    is_stop = order.state.order_type in STOP_TYPES
    return TRIGGER_PENDING if is_stop and not was_triggered else OPEN


def _trade(
    registry: Registry, order: Order, quantity: int, price: Decimal, when: datetime
) -> Trade:
    return Trade(
        trade_id=registry.ids.trade_id(),
        order_id=order.order_id,
        user_id=order.user_id,
        instrument=order.instrument,
        product=order.product,
        transaction_type=order.transaction_type,
        quantity=quantity,
        price=price,
        exchange_order_id=order.state.exchange_order_id or "",
        filled_at=when,
        order_timestamp=order.state.order_timestamp,
    )
