"""``order-service orders watch``: a live table of the user's orders, kept by the event feed.

The watcher notes the feed's last sequence, lists the orders, then reads the feed after that
sequence on each wake-up (a NOTIFY on PostgreSQL, else every ``--interval`` seconds) and shows
each order an event names as it is now. It reads the stored events through the services, as
the API's feed does, so it needs no running API and works on SQLite as on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field

from rich.table import Table

from order_service.bootstrap import Services
from order_service.domain.account import Principal
from order_service.domain.ids import AccountId, OrderId
from order_service.domain.order import Order
from order_service.domain.status import OrderStatus
from order_service.errors import NotFound
from order_service.services.order_feed import FeedFilter
from order_service.services.ports import OrderFilter

FEED_PAGE = 500
Wait = Callable[[], Awaitable[None]]
Show = Callable[[list[Order]], None]


@dataclass(frozen=True, slots=True)
class WatchFilter:
    """Which orders the table holds: one account or all the user's, some statuses or all."""

    account_id: AccountId | None = None
    statuses: frozenset[OrderStatus] = frozenset()  # empty: every status
    limit: int = 50

    def admits(self, order: Order) -> bool:
        return not self.statuses or order.status in self.statuses


@dataclass
class OrderBoard:
    """The orders on show, newest first, at most ``wanted.limit`` of them."""

    wanted: WatchFilter
    orders: dict[OrderId, Order] = field(default_factory=dict)

    def put(self, order: Order) -> None:
        """Show the order as it is now; one that left the statuses watched leaves the table."""
        if not self.wanted.admits(order):
            self.drop(order.order_id)
            return
        self.orders[order.order_id] = order
        for stale in self.newest()[self.wanted.limit :]:
            self.drop(stale.order_id)

    def drop(self, order_id: OrderId) -> None:
        self.orders.pop(order_id, None)

    def newest(self) -> list[Order]:
        return sorted(self.orders.values(), key=lambda o: (o.created_at, o.order_id), reverse=True)


def signal_wait(services: Services, seconds: float) -> Wait:
    """Wait for the next commit of order events, ``seconds`` at most (then read anyway)."""
    seen = 0

    async def wait() -> None:
        nonlocal seen
        seen = await services.event_signal.wait(seen, seconds)

    return wait


async def watch_orders(
    services: Services,
    principal: Principal,
    wanted: WatchFilter,
    show: Show,
    wait: Wait,
    rounds: int | None = None,
) -> OrderBoard:
    """Show the orders, then after each ``wait`` what the feed changed; ``rounds`` waits at
    most (None: until cancelled). Return the board as last shown."""
    if wanted.account_id is not None:  # another user's account is NOT_FOUND, not an empty table
        await services.accounts.get_account(principal, wanted.account_id)
    after = await services.feed.last_sequence()  # first: what commits while listing is re-read
    board = OrderBoard(wanted)
    for order in await _listed(services, principal, wanted):
        board.put(order)
    show(board.newest())
    done = 0
    while rounds is None or done < rounds:
        await wait()
        changed, after = await _changed_since(services, principal, wanted.account_id, after)
        for order_id in changed:
            await _refresh(services, principal, board, order_id)
        if changed:
            show(board.newest())
        done += 1
    return board


async def _listed(services: Services, principal: Principal, wanted: WatchFilter) -> list[Order]:
    statuses: Collection[OrderStatus | None] = wanted.statuses or (None,)
    found: list[Order] = []
    for status in statuses:
        query = OrderFilter(account_id=wanted.account_id, status=status, limit=wanted.limit)
        found.extend(await services.orders.list_orders(principal, query))
    return found


async def _changed_since(
    services: Services, principal: Principal, account_id: AccountId | None, after: int
) -> tuple[list[OrderId], int]:
    """Return the orders the feed's events after ``after`` name (in order), and the new cursor."""
    changed: dict[OrderId, None] = {}
    while True:
        wanted = FeedFilter(after=after, limit=FEED_PAGE, account_id=account_id)
        page = await services.feed.page(principal, wanted)
        changed.update((event.order_id, None) for event in page)
        if page:
            after = page[-1].sequence
        if len(page) < FEED_PAGE:
            return list(changed), after


async def _refresh(
    services: Services, principal: Principal, board: OrderBoard, order_id: OrderId
) -> None:
    try:
        board.put(await services.orders.get_order(principal, order_id))
    except NotFound:  # its account was removed, or taken from the user, meanwhile
        board.drop(order_id)


def orders_table(orders: list[Order], title: str | None = None) -> Table:
    """The orders as a table, each id whole (to be copied)."""
    table = Table(title=title)
    table.add_column("order_id", no_wrap=True, min_width=26)
    for name in ("account", "symbol", "side", "qty", "filled", "status", "placed"):
        table.add_column(name)
    for order in orders:
        request = order.request
        table.add_row(
            order.order_id,
            order.account_id,
            f"{request.exchange.value}:{request.tradingsymbol}",
            request.transaction_type.value,
            str(request.quantity),
            str(order.filled_quantity),
            order.status.value,
            order.created_at.isoformat(timespec="seconds"),
        )
    return table
