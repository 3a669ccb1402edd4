"""``order-service positions …``: closing positions from the shell, as a user of the service.

Each command acts as the user named by ``--user``, with that user's access, through the same
service as ``POST /api/v1/positions/close``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer

from order_service.bootstrap import Services
from order_service.domain.ids import AccountId, StrategyId, UserId
from order_service.domain.order import AUTOMATIC_MARKET_PROTECTION
from order_service.domain.values import Exchange, Product
from order_service.entrypoints.cli_support import console, settings, with_services
from order_service.errors import ValidationError
from order_service.services.position_close import Close, CloseScope, CloseTerms

positions_app = typer.Typer(help="Close positions.")
User = Annotated[str, typer.Option("--user", help="act as this user (their accounts only)")]


@positions_app.command("close")
def close(
    account: str,
    user_id: User,
    strategy: Annotated[str | None, typer.Option(help="this strategy's positions only")] = None,
    instrument: Annotated[
        str | None, typer.Option(help="this instrument only, as EXCHANGE:TRADINGSYMBOL")
    ] = None,
    product: Annotated[Product | None, typer.Option(help="this product only")] = None,
    limit: Annotated[
        str | None, typer.Option(help="a LIMIT close at this price (one instrument)")
    ] = None,
    key: Annotated[
        str | None, typer.Option(help="an idempotency key: running again repeats, never doubles")
    ] = None,
    force: Annotated[bool, typer.Option(help="step into a scope under script control")] = False,
) -> None:
    """Close the account's open positions (narrowed by the options) with one order each;
    exit 1 if any position was left open."""

    async def job(services: Services) -> list[Close]:
        exchange, tradingsymbol = _instrument(instrument)  # refused as every error is
        scope = CloseScope(
            AccountId(account.upper()),
            StrategyId(strategy) if strategy else None,
            exchange,
            tradingsymbol,
            product,
        )
        terms = CloseTerms(_price(limit), Decimal(AUTOMATIC_MARKET_PROTECTION), force)
        principal = await services.users.get_user(UserId(user_id))
        return await services.position_closes.close(principal, scope, terms, key)

    closes = with_services(settings(), job)
    for each in closes:
        console.print(_line(each))
    console.print(f"{len(closes)} positions")
    if any(each.error is not None for each in closes):
        raise typer.Exit(1)


def _line(close: Close) -> str:
    where = (
        f"{close.account_id} {close.strategy_id} {close.exchange}:{close.tradingsymbol}"
        f" {close.product} {close.net_quantity}"
    )
    if close.error is not None:
        return f"{where}  not closed: {close.error.error_code}: {close.error.message}"
    assert close.placement is not None
    order = close.placement.order
    repeat = "" if close.placement.created else "  (repeat)"
    return f"{where}  {order.order_id} {order.status.value}{repeat}"


def _instrument(value: str | None) -> tuple[str | None, str | None]:
    if value is None:
        return None, None
    exchange, _, tradingsymbol = value.partition(":")
    if exchange.upper() not in Exchange.__members__ or not tradingsymbol:
        raise ValidationError(
            f"--instrument {value!r}: give EXCHANGE:TRADINGSYMBOL, such as NSE:INFY",
            field="instrument",
        )
    return exchange.upper(), tradingsymbol.upper()


def _price(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        price = Decimal(value)
    except InvalidOperation:
        price = Decimal("NaN")
    if not price.is_finite() or price <= 0:
        raise ValidationError(f"--limit {value!r}: a positive price", field="limit")
    return price
