"""``order-service orders …``: the day's orders from the shell, as a user of the service.

Each command acts as the user named by ``--user``, with that user's access: another user's
account or order is ``NOT_FOUND`` here as in the API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer
from rich.live import Live

from order_service.bootstrap import Services
from order_service.domain.ids import AccountId, OrderId, UserId
from order_service.domain.order import Order
from order_service.domain.status import OrderStatus
from order_service.entrypoints.cli_support import console, settings, with_services
from order_service.entrypoints.cli_watch import (
    WatchFilter,
    orders_table,
    signal_wait,
    watch_orders,
)
from order_service.services.cancellations import CancelOutcome
from order_service.services.ports import OrderFilter

orders_app = typer.Typer(help="List, watch and cancel orders.")
User = Annotated[str, typer.Option("--user", help="act as this user (their accounts only)")]


@orders_app.command("list")
def list_orders(
    user_id: User,
    account: Annotated[str | None, typer.Option(help="one account only")] = None,
    status: Annotated[OrderStatus | None, typer.Option(help="one status only")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="at most this many")] = 50,
) -> None:
    """The newest orders the user may see, as a table."""
    wanted = OrderFilter(
        account_id=AccountId(account.upper()) if account else None, status=status, limit=limit
    )

    async def job(services: Services) -> list[Order]:
        principal = await services.users.get_user(UserId(user_id))
        return await services.orders.list_orders(principal, wanted)

    console.print(orders_table(with_services(settings(), job)))


@orders_app.command("cancel")
def cancel_order(order_id: str, user_id: User) -> None:
    """Cancel one order at the broker and print the state it is left in."""

    async def job(services: Services) -> Order:
        principal = await services.users.get_user(UserId(user_id))
        return await services.amendments.cancel_order(principal, OrderId(order_id))

    order = with_services(settings(), job)
    console.print(f"{order.order_id}  {order.status.value}")


@orders_app.command("cancel-all")
def cancel_all(
    user_id: User,
    account: Annotated[str, typer.Option(help="the account whose working orders to cancel")],
) -> None:
    """Cancel every working order of the account at the broker; exit 1 if any cancel failed."""

    async def job(services: Services) -> tuple[CancelOutcome, ...]:
        principal = await services.users.get_user(UserId(user_id))
        account_id = AccountId(account.upper())
        return await services.cancellations.cancel_working(principal, account_id)

    outcomes = with_services(settings(), job)
    for outcome in outcomes:
        failed = f"  cancel failed: {outcome.error_code}" if outcome.error_code else ""
        console.print(f"{outcome.order.order_id}  {outcome.status.value}{failed}")
    console.print(f"{len(outcomes)} working orders")
    if any(outcome.error_code for outcome in outcomes):
        raise typer.Exit(1)


@orders_app.command("watch")
def watch(
    user_id: User,
    account: Annotated[str | None, typer.Option(help="one account only")] = None,
    status: Annotated[
        list[OrderStatus] | None, typer.Option(help="these statuses only (repeatable)")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="at most this many")] = 50,
    interval: Annotated[
        float, typer.Option(min=0.1, max=60, help="read the feed at least this often (s)")
    ] = 1.0,
    once: Annotated[bool, typer.Option(help="print the table once and exit")] = False,
    iterations: Annotated[
        int | None, typer.Option(min=0, help="stop after this many reads of the feed")
    ] = None,
) -> None:
    """A live table of the user's orders, updated from the event feed; Ctrl-C ends it."""
    wanted = WatchFilter(
        account_id=AccountId(account.upper()) if account else None,
        statuses=frozenset(status or ()),
        limit=limit,
    )
    loaded = settings()

    async def job(services: Services, show: Callable[[list[Order]], None]) -> None:
        principal = await services.users.get_user(UserId(user_id))
        wait = signal_wait(services, interval)
        await watch_orders(services, principal, wanted, show, wait, 0 if once else iterations)

    if once:
        with_services(loaded, lambda s: job(s, lambda orders: console.print(orders_table(orders))))
        return
    with Live(console=console, auto_refresh=False) as live:
        try:
            with_services(loaded, lambda s: job(s, lambda orders: _update(live, orders)))
        except KeyboardInterrupt:
            return  # Ctrl-C is how a watch ends: not a failure


def _update(live: Live, orders: list[Order]) -> None:
    live.update(orders_table(orders, title="orders (Ctrl-C to stop)"), refresh=True)
