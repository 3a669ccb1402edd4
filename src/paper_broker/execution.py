"""Working live orders: the status sequence from validation to fills, a trigger or a cancel.

Every method takes the simulated `second` it acts at and reads prices at that second only, so
that it can run inside a price walk's step (when a resting order fires) without advancing the
walk it is called from.
"""

from __future__ import annotations

from decimal import Decimal

from .clock import second_to_datetime
from .kite_enums import MARKET_TYPES, STOP_TYPES, Validity, Variety
from .legs import cover_leg, next_iceberg_leg
from .matching import Book, Watched, is_marketable, is_triggered
from .orders import (
    CANCELLED,
    COMPLETE,
    MODIFIED,
    OPEN,
    OPEN_PENDING,
    REJECTED,
    TRIGGER_PENDING,
    UPDATE,
    VALIDATION_PENDING,
    Order,
    OrderListener,
    Trade,
)
from .prices import Market
from .registry import Registry
from .rms import CIRCUIT_RULE, circuit_rejection

DAY_EXPIRED = "Order expired at the end of the trading day."


class Execution:
    """Moves orders through Kite's statuses against the simulated market."""

    def __init__(
        self, registry: Registry, market: Market, listener: OrderListener | None = None
    ) -> None:
        self.registry = registry
        self.market = market
        self.listener = listener
        self.books: dict[int, Book] = {}
        self.amo_queue: dict[str, Order] = {}
        # Triggers the walk crossed; placing their orders must wait until the walk is done.
        self.crossed: list[Watched] = []
        # TTL orders that went live, for the exchange's expiry schedule.
        self.went_live: list[Order] = []

    def notify(self, order: Order, event: str) -> None:
        if self.listener is not None:
            self.listener(order, event)

    def submit(self, order: Order, second: int, reject: str | None = None) -> None:
        """Validate and send to the exchange, or reject as the RMS would after acceptance."""
        order.move(status=VALIDATION_PENDING)
        if reject is not None:
            self.reject(order, second, reject, reject)
            return
        message = circuit_rejection(order, self.market.walk(order.instrument, second))
        if message is not None:
            self.reject(order, second, message, CIRCUIT_RULE)
            return
        self.go_live(order, second)

    def reject(self, order: Order, second: int, message: str, raw: str) -> None:
        when = second_to_datetime(second)
        order.move(
            status=REJECTED,
            status_message=message,
            status_message_raw=raw,
            exchange_update_timestamp=when,
        )
        self.release(order)
        self.notify(order, REJECTED)

    def go_live(self, order: Order, second: int) -> None:
        when = second_to_datetime(second)
        order.move(status=OPEN_PENDING, exchange_order_id=self.registry.ids.exchange_order_id())
        status = TRIGGER_PENDING if order.state.order_type in STOP_TYPES else OPEN
        order.move(status=status, exchange_timestamp=when, exchange_update_timestamp=when)
        if order.state.validity == Validity.TTL:
            self.went_live.append(order)
        self.work(order, second)

    def work(self, order: Order, second: int) -> None:
        """Work an order that just went live or changed: trade, trigger, rest or (IOC) cancel."""
        if order.state.status == MODIFIED:
            order.move(status=_status_after_modify(order))
        ticks = self.market.walk(order.instrument, second).ticks
        if order.state.status == TRIGGER_PENDING:
            if is_triggered(order, ticks):
                self._trigger(order, ticks, second)
            else:
                self.rest(order)
        elif is_marketable(order, ticks):
            self.trade(order, ticks, second)
            self._after_trade(order, second)
        elif order.state.validity == Validity.IOC:
            self.cancel(order, second)
        else:
            self.rest(order)

    def _after_trade(self, order: Order, second: int) -> None:
        """What is left of an order after its first trade: IOC cancels it, others rest."""
        if order.state.status == OPEN:
            if order.state.validity == Validity.IOC:
                self.cancel(order, second)
            else:
                self.rest(order)

    def trade(self, order: Order, ticks: int, second: int) -> None:
        """Fill as much as the second's volume allows at `ticks`; the rest stays OPEN."""
        state = order.state
        left = state.quantity - state.filled_quantity
        quantity = min(left, self.market.volume(order.instrument, second))
        price = ticks * order.instrument.tick_size
        filled = state.filled_quantity + quantity
        average = (state.average_price * state.filled_quantity + price * quantity) / filled
        self._release_share(order, quantity)
        done = filled == state.quantity
        when = second_to_datetime(second)
        order.move(
            status=COMPLETE if done else OPEN,
            filled_quantity=filled,
            average_price=average.quantize(Decimal("0.0001")),
            exchange_update_timestamp=when,
        )
        self.registry.add_trade(_trade(self.registry, order, quantity, price, second))
        self.registry.accounts[order.user_id].apply_fill(
            order.instrument, order.product, order.is_buy, quantity, price
        )
        self.notify(order, COMPLETE if done else UPDATE)
        if done:
            self._after_complete(order, second)

    def _after_complete(self, order: Order, second: int) -> None:
        when = second_to_datetime(second)
        if order.variety == Variety.CO and order.parent_order_id is None:
            leg = cover_leg(order, self.registry.ids, when)
            self.registry.add_order(leg)
            self.rest(leg)
            return
        following = next_iceberg_leg(order, self.registry.ids, when)
        if following is not None:
            self.registry.add_order(following)
            self.submit(following, second)

    def cancel(self, order: Order, second: int, message: str | None = None) -> None:
        self.unrest(order)
        cancelled = order.state.quantity - order.state.filled_quantity
        order.move(
            status=CANCELLED,
            cancelled_quantity=cancelled,
            status_message=message,
            status_message_raw=message,
            exchange_update_timestamp=second_to_datetime(second),
        )
        self.release(order)
        self.notify(order, CANCELLED)

    def expire_day(self, second: int) -> None:
        """The exchange expires every order working on its books when the trading day ends."""
        live = [order for book in self.books.values() for order in book.orders.values()]
        for order in live:
            self.cancel(order, second, DAY_EXPIRED)

    def release(self, order: Order) -> None:
        self.registry.accounts[order.user_id].release(order.blocked_margin)
        order.blocked_margin = Decimal(0)

    def _release_share(self, order: Order, quantity: int) -> None:
        """Free the margin blocked for `quantity` units of what the order may still trade."""
        share = order.blocked_margin * quantity / order.outstanding_quantity
        self.registry.accounts[order.user_id].release(share)
        order.blocked_margin -= share

    def _trigger(self, order: Order, ticks: int, second: int) -> None:
        order.move(status=OPEN, exchange_update_timestamp=second_to_datetime(second))
        if is_marketable(order, ticks):
            self.trade(order, ticks, second)
            self._after_trade(order, second)
        else:
            self.rest(order)

    # -- resting orders -----------------------------------------------------------------------

    def on_fire(self, book: Book, ticks: int, second: int) -> None:
        """A price step reached resting orders: trigger stops, trade limits at their own price."""
        for order in book.due(ticks):
            del book.orders[order.order_id]
            if order.state.status == TRIGGER_PENDING:
                self._trigger(order, ticks, second)
                continue
            at = ticks if order.state.order_type in MARKET_TYPES else _limit_ticks(order)
            self.trade(order, at, second)
            if order.state.status == OPEN:
                book.orders[order.order_id] = order
        for item in book.due_triggers(ticks):
            del book.triggers[item.watch_id]
            self.crossed.append(item)
        book.refresh()
        if book.is_empty:
            self._drop_book(book.token)

    def book(self, token: int) -> Book:
        book = self.books.get(token)
        if book is None:
            book = self.books[token] = Book(token, self.on_fire)
            self.market.watchers[token] = book
        return book

    def rest(self, order: Order) -> None:
        self.book(order.instrument.instrument_token).add(order)

    def unrest(self, order: Order) -> None:
        self.amo_queue.pop(order.order_id, None)
        book = self.books.get(order.instrument.instrument_token)
        if book is not None:
            book.remove(order.order_id)
            if book.is_empty:
                self._drop_book(book.token)

    def unwatch(self, token: int, watch_id: int) -> None:
        book = self.books.get(token)
        if book is not None:
            book.unwatch(watch_id)
            if book.is_empty:
                self._drop_book(token)

    def _drop_book(self, token: int) -> None:
        self.books.pop(token, None)
        self.market.watchers.pop(token, None)


def _limit_ticks(order: Order) -> int:
    return int(order.state.price / order.instrument.tick_size)


def _status_after_modify(order: Order) -> str:
    # history: ..., <live status>, MODIFY VALIDATION PENDING, MODIFY PENDING, MODIFIED
    before = order.history[-4]
    was_triggered = before.status == OPEN and before.order_type in STOP_TYPES
    is_stop = order.state.order_type in STOP_TYPES
    return TRIGGER_PENDING if is_stop and not was_triggered else OPEN


def _trade(registry: Registry, order: Order, quantity: int, price: Decimal, second: int) -> Trade:
    when = second_to_datetime(second)
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
