"""Previews over HTTP against the paper broker through the SDK: what the service answers is
what the broker's own calculators answer when asked directly, to the paisa."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
from kiteconnect import KiteConnect

from order_service.client import OrderServiceClient
from tests.e2e.harness import ServiceThread, add_paper_account, wait_for
from tests.e2e.test_e2e_books import kite_of

LIMIT: dict[str, Any] = {
    "exchange": "NSE",
    "tradingsymbol": "INFY",
    "transaction_type": "BUY",
    "quantity": 10,
    "product": "MIS",
    "order_type": "LIMIT",
    "price": "1500.00",
}
SELL = {**LIMIT, "transaction_type": "SELL", "quantity": 4, "price": "1510.00"}


def kite_order(order: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The same order as a program calling the SDK would send it."""
    return {
        **order,
        "variety": "regular",
        "price": float(order["price"]),
        "trigger_price": 0,
        **extra,
    }


def exact(value: object) -> Decimal:
    """A number as the SDK's JSON gives it (a float), read back as the decimal it was sent as."""
    return Decimal(str(value))


def test_order_margins_are_the_brokers_to_the_paisa(
    api: httpx.Client, admin: httpx.Client, service: ServiceThread, paper: str
) -> None:
    account = add_paper_account(api, admin)
    kite: KiteConnect = kite_of(service, paper, account)

    answer = api.post("/api/v1/margins/orders", json={"account_id": account, "orders": [LIMIT]})

    assert answer.status_code == 200, answer.text
    (ours,) = answer.json()["orders"]
    (theirs,) = kite.order_margins([kite_order(LIMIT)])
    for field in ("span", "exposure", "var", "total"):
        assert Decimal(ours[field]) == exact(theirs[field]), field
    assert Decimal(ours["total"]) > 0
    assert Decimal(ours["charges"]["total"]) == exact(theirs["charges"]["total"])
    orders = api.get("/api/v1/orders", params={"account_id": account}).json()["items"]
    assert orders == []  # nothing was placed


def test_a_basket_shows_the_brokers_hedge_benefit(
    api: httpx.Client, admin: httpx.Client, service: ServiceThread, paper: str
) -> None:
    account = add_paper_account(api, admin)
    kite: KiteConnect = kite_of(service, paper, account)
    body = {"account_id": account, "orders": [LIMIT, SELL], "consider_positions": False}

    answer = api.post("/api/v1/margins/basket", json=body)

    assert answer.status_code == 200, answer.text
    ours = answer.json()
    theirs = kite.basket_order_margins(
        [kite_order(LIMIT), kite_order(SELL)], consider_positions=False
    )
    assert Decimal(ours["initial"]["total"]) == exact(theirs["initial"]["total"])
    assert Decimal(ours["final"]["total"]) == exact(theirs["final"]["total"])
    benefit = Decimal(ours["initial"]["total"]) - Decimal(ours["final"]["total"])
    assert Decimal(ours["hedge_benefit"]) == benefit
    assert len(ours["orders"]) == 2


def test_the_contract_note_is_the_brokers_and_the_client_reads_it_as_decimals(
    api: httpx.Client, admin: httpx.Client, service: ServiceThread, paper: str
) -> None:
    account = add_paper_account(api, admin)
    kite: KiteConnect = kite_of(service, paper, account)
    priced = {**LIMIT, "average_price": "1500.00"}

    with OrderServiceClient(service.url, service.api_key) as client:
        note = client.order_charges(account, [priced])

    (line,) = note["orders"]
    (theirs,) = kite.get_virtual_contract_note(
        [kite_order(LIMIT, order_id="1", average_price=1500.0)]
    )
    assert isinstance(line["charges"]["total"], Decimal)
    assert line["charges"]["total"] == exact(theirs["charges"]["total"]) == note["total"]
    assert line["charges"]["brokerage"] == exact(theirs["charges"]["brokerage"])
    assert line["charges"]["transaction_tax_type"] == "stt"


def test_the_paper_brokers_instruments_are_searched_through_the_client(
    service: ServiceThread,
) -> None:
    with OrderServiceClient(service.url, service.api_key) as client:
        page = wait_for(
            lambda: _loaded(client.search_instruments("NIFTY", segment="NFO-FUT", limit=5))
        )
        assert isinstance(page, dict)
        futures = page["items"]
        assert futures
        assert all(i["segment"] == "NFO-FUT" for i in futures)
        assert {i["lot_size"] for i in futures} == {75}
        assert all(i["tradingsymbol"].startswith("NIFTY") for i in futures)
        infosys = client.search_instruments("infy", exchange="NSE")["items"]
    assert [i["tradingsymbol"] for i in infosys] == ["INFY"]
    assert infosys[0]["tick_size"] == Decimal("0.05")


def _loaded(page: dict[str, Any]) -> dict[str, Any] | None:
    return page if page["items"] else None


def test_quotes_come_from_the_paper_broker_through_one_shared_read(service: ServiceThread) -> None:
    with OrderServiceClient(service.url, service.api_key) as client:
        first = client.quotes("PAPER1", ["NSE:INFY", "NSE:TCS"])
        again = client.quotes("PAPER1", ["NSE:INFY"])

    infy = first["items"]["NSE:INFY"]
    assert isinstance(infy["last_price"], Decimal)
    assert infy["last_price"] > 0
    assert infy["lower_circuit"] < infy["last_price"] < infy["upper_circuit"]
    assert first["missing"] == []
    # Within the cache's time the second answer is the first read, as old as it says.
    assert again["items"]["NSE:INFY"]["as_of"] == infy["as_of"]
