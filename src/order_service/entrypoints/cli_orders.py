"""``order-service orders …``: the day's orders from the shell, as a user of the service.

Each command acts as the user named by ``--user``, with that user's access: another user's
account or order is ``NOT_FOUND`` here as in the API.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from order_service.bootstrap import Services
from order_service.domain.ids import AccountId, OrderId, UserId
from order_service.domain.order import Order
from order_service.domain.status import OrderStatus
from order_service.entrypoints.cli_support import console, settings, with_services
from order_service.services.cancellations import CancelOutcome
from order_service.services.ports import OrderFilter

orders_app = typer.Typer(help="List and cancel orders.")
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

    console.print(_table(with_services(settings(), job)))


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


def _table(orders: list[Order]) -> Table:
    table = Table()
    table.add_column("order_id", no_wrap=True, min_width=26)  # whole, to be copied
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
