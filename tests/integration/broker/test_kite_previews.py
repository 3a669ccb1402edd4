"""Kite's margin calculators and virtual contract note through ``KiteBroker`` and the official
SDK against the paper broker: every amount an exact Decimal, equal to what the broker sent."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from order_service.adapters.broker.kite import KiteBroker
from order_service.adapters.broker.preview_parsing import margin_order, priced_order
from order_service.domain.order import OrderRequest
from order_service.domain.previews import PricedOrder
from order_service.domain.values import Exchange, OrderType, Product, TransactionType
from order_service.services.ports import BrokerSession
from tests.factories import make_limit_request

pytestmark = pytest.mark.asyncio
PRICE = Decimal("1520.35")


async def sent_directly(
    paper: str, session: BrokerSession, path: str, body: list[dict[str, Any]]
) -> Any:
    """The paper broker's own answer to ``body``, every number read as the exact Decimal sent."""
    headers = {
        "X-Kite-Version": "3",
        "Authorization": f"token {session.api_key}:{session.access_token}",
    }
    async with httpx.AsyncClient(base_url=paper, headers=headers) as client:
        reply = await client.post(path, json=body)
    reply.raise_for_status()
    return json.loads(reply.text, parse_float=Decimal, parse_int=Decimal)["data"]


def kite_shaped(value: Any) -> Any:
    """Our value as Kite's JSON shape: ``pnl`` nested again, tuples as lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        body = {key: kite_shaped(item) for key, item in value.items()}
        if "pnl_realised" in body:
            body["pnl"] = {
                "realised": body.pop("pnl_realised"),
                "unrealised": body.pop("pnl_unrealised"),
            }
        return body
    if isinstance(value, list | tuple):
        return [kite_shaped(item) for item in value]
    return value


def amounts(value: Any) -> list[object]:
    """Every number in a Kite-shaped value (text left out)."""
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in amounts(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in amounts(item)]
    return [] if isinstance(value, str) else [value]


async def nifty_future(broker: KiteBroker, session: BrokerSession) -> tuple[str, int]:
    listed = await broker.instruments(session)
    future = next(i for i in listed if i.instrument_type == "FUT" and i.name == "NIFTY")
    return future.tradingsymbol, future.lot_size


def future_order(symbol: str, lots: int, side: TransactionType) -> OrderRequest:
    return make_limit_request(
        exchange=Exchange.NFO,
        tradingsymbol=symbol,
        transaction_type=side,
        quantity=lots,
        product=Product.NRML,
        price=Decimal("22150.05"),
    )


async def test_the_order_margins_of_a_limit_buy_are_the_brokers_exactly(
    kite: tuple[KiteBroker, BrokerSession], paper: str
) -> None:
    broker, session = kite
    buy = make_limit_request(price=PRICE)

    (margin,) = await broker.order_margins(session, [buy])

    (sent,) = await sent_directly(paper, session, "/margins/orders", [margin_order(buy)])
    assert kite_shaped(margin) == sent
    assert all(type(amount) is Decimal for amount in amounts(kite_shaped(margin)))
    assert (margin.exchange, margin.tradingsymbol, margin.type) == ("NSE", "INFY", "equity")
    assert margin.total == margin.var == Decimal("15203.5")  # CNC blocks the whole value
    assert margin.charges is not None
    assert margin.charges.stamp_duty == Decimal("2.28")  # 0.015 % of ₹15,203.50, to the paisa


async def test_a_hedged_basket_reads_its_benefit_exactly(
    kite: tuple[KiteBroker, BrokerSession], paper: str
) -> None:
    broker, session = kite
    symbol, lot = await nifty_future(broker, session)
    orders = [
        future_order(symbol, lot, TransactionType.SELL),
        future_order(symbol, lot, TransactionType.BUY),
    ]

    basket = await broker.basket_margins(session, orders, consider_positions=True)

    body = [margin_order(order) for order in orders]
    sent = await sent_directly(paper, session, "/margins/basket?consider_positions=True", body)
    assert kite_shaped(basket) == sent
    assert all(type(amount) is Decimal for amount in amounts(kite_shaped(basket)))
    assert basket.hedge_benefit == sent["initial"]["total"] - sent["final"]["total"]
    assert basket.hedge_benefit > 0
    assert basket.initial.total == sum((order.total for order in basket.orders), Decimal(0))


async def test_the_contract_note_of_a_sale_at_a_price_is_the_brokers_exactly(
    kite: tuple[KiteBroker, BrokerSession], paper: str
) -> None:
    broker, session = kite
    sale = PricedOrder(make_limit_request(transaction_type=TransactionType.SELL), PRICE)

    (line,) = await broker.contract_note(session, [sale])

    (sent,) = await sent_directly(paper, session, "/charges/orders", [priced_order(sale, 1)])
    assert kite_shaped(line) == sent
    assert all(type(amount) is Decimal for amount in amounts(kite_shaped(line.charges)))
    assert (line.transaction_type, line.order_type, line.quantity) == ("SELL", "LIMIT", 10)
    assert line.price == PRICE
    # On ₹15,203.50 of delivery sold: STT ₹15 (to the rupee), exchange ₹0.45, SEBI ₹0.02, GST
    # 18 % of those two, no brokerage and no stamp duty on a sale.
    charges = line.charges
    assert (charges.transaction_tax, charges.exchange_turnover_charge) == (
        Decimal(15),
        Decimal("0.45"),
    )
    assert (charges.sebi_turnover_charge, charges.gst.total) == (Decimal("0.02"), Decimal("0.08"))
    zero = Decimal(0)
    assert (charges.brokerage, charges.stamp_duty, charges.total) == (zero, zero, Decimal("15.55"))


async def test_a_market_order_is_valued_by_the_broker_at_its_last_price(
    kite: tuple[KiteBroker, BrokerSession],
) -> None:
    broker, session = kite
    market = dataclasses.replace(make_limit_request(), order_type=OrderType.MARKET, price=None)

    (margin,) = await broker.order_margins(session, [market])

    assert type(margin.total) is Decimal
    assert margin.total > 0
    assert (margin.total / market.quantity) % Decimal("0.05") == 0  # ten shares at a tick price
