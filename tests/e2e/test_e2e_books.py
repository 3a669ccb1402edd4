"""Our books equal the paper broker's for the same fills: positions field by field, charges by name.

Orders go through our API to the paper broker (its own process state, the real SDK on both
sides); the broker's position book and virtual contract notes are then read with the SDK as
the account's user, and compared with our ``/positions`` and ``/pnl``. Fields that depend on
the moment's price (the broker's price walks between two reads) are compared through the
broker's own last price: our value plus our quantity at its last price must be its P&L.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
from kiteconnect import KiteConnect

from order_service.bootstrap import bootstrap
from order_service.domain.ids import AccountId
from order_service.domain.position import IST
from tests.e2e.harness import ServiceThread, add_paper_account, wait_for

PAISA = Decimal("0.01")
# Fields of Kite's position that do not move with the market price.
STILL_FIELDS = (
    "quantity",
    "overnight_quantity",
    "multiplier",
    "average_price",
    "value",
    "realised",
    "buy_quantity",
    "buy_price",
    "buy_value",
    "sell_quantity",
    "sell_price",
    "sell_value",
    "day_buy_quantity",
    "day_buy_value",
    "day_sell_quantity",
    "day_sell_value",
)
CHARGE_NAMES = {
    "transaction_tax": "stt",
    "exchange_turnover_charge": "exchange_transaction",
    "sebi_turnover_charge": "sebi_fee",
    "brokerage": "brokerage",
    "stamp_duty": "stamp_duty",
}


def kite_of(service: ServiceThread, paper: str, account: str) -> KiteConnect:
    """The SDK as the account's own user, with the session our service holds for it."""

    async def read() -> tuple[str, str]:
        services = bootstrap(service.settings)
        try:
            async with services.accounts._uow() as uow:
                stored = await uow.accounts.get(AccountId(account))
        finally:
            await services.close()
        assert stored is not None
        assert stored.access_token is not None
        return stored.api_key, stored.access_token

    api_key, token = asyncio.run(read())
    return KiteConnect(api_key=api_key, access_token=token, root=paper)


def place(api: httpx.Client, account: str, **order: Any) -> dict[str, Any]:
    body = {"account_id": account, "order_type": "MARKET", **order}
    placed = api.post("/api/v1/orders", json=body)
    assert placed.status_code == 201, placed.text
    done = wait_for(lambda: _complete(api, placed.json()["order_id"]), timeout=20)
    assert isinstance(done, dict)
    return done


def _complete(api: httpx.Client, order_id: str) -> dict[str, Any] | None:
    body: dict[str, Any] = api.get(f"/api/v1/orders/{order_id}").json()
    return body if body["status"] == "COMPLETE" else None


def nfo_symbols(kite: KiteConnect) -> tuple[str, str]:
    """The nearest NIFTY future and a NIFTY call of the paper broker's catalogue."""
    nifty = [row for row in kite.instruments("NFO") if row["name"] == "NIFTY"]
    future = min((r for r in nifty if r["instrument_type"] == "FUT"), key=lambda r: r["expiry"])
    expiry = future["expiry"]
    call = next(r for r in nifty if r["instrument_type"] == "CE" and r["expiry"] == expiry)
    return str(future["tradingsymbol"]), str(call["tradingsymbol"])


def trade_day(api: httpx.Client, account: str, fills: int) -> str:
    """The trading day (IST, as the books date fills) of the account's fills, once the ledger
    holds all of them: not the UTC date of the instant, which differs after 18:30 UTC."""
    found = wait_for(lambda: _ledger(api, account, fills), timeout=30)
    assert isinstance(found, list)
    executed = datetime.fromisoformat(str(found[0]["exchange_timestamp"]))
    return executed.astimezone(IST).date().isoformat()


def _ledger(api: httpx.Client, account: str, fills: int) -> list[dict[str, Any]] | None:
    page = api.get("/api/v1/trades", params={"account_id": account, "limit": 1000})
    items: list[dict[str, Any]] = page.json()["items"] if page.status_code == 200 else []
    return items if len(items) >= fills else None


def test_positions_and_charges_equal_the_paper_brokers(
    api: httpx.Client, admin: httpx.Client, service: ServiceThread, paper: str
) -> None:
    account = add_paper_account(api, admin)
    kite = kite_of(service, paper, account)
    future, call = nfo_symbols(kite)
    orders = [
        place(
            api,
            account,
            exchange="NSE",
            tradingsymbol="INFY",
            transaction_type="BUY",
            quantity=10,
            product="MIS",
        ),
        place(
            api,
            account,
            exchange="NSE",
            tradingsymbol="INFY",
            transaction_type="BUY",
            quantity=5,
            product="MIS",
        ),
        place(
            api,
            account,
            exchange="NSE",
            tradingsymbol="INFY",
            transaction_type="SELL",
            quantity=12,
            product="MIS",
        ),
        place(
            api,
            account,
            exchange="NSE",
            tradingsymbol="TCS",
            transaction_type="BUY",
            quantity=3,
            product="CNC",
        ),
        place(
            api,
            account,
            exchange="NFO",
            tradingsymbol=future,
            transaction_type="SELL",
            quantity=75,
            product="NRML",
        ),
        place(
            api,
            account,
            exchange="NFO",
            tradingsymbol=call,
            transaction_type="BUY",
            quantity=75,
            product="NRML",
        ),
        place(
            api,
            account,
            exchange="NFO",
            tradingsymbol=call,
            transaction_type="SELL",
            quantity=75,
            product="NRML",
        ),
    ]
    day = trade_day(api, account, len(orders))

    ours = _positions(api, account, day)
    theirs = {(p["exchange"], p["tradingsymbol"], p["product"]): p for p in kite.positions()["net"]}
    assert set(ours) == set(theirs)
    for key, broker in theirs.items():
        mine = ours[key]
        for name in STILL_FIELDS:
            assert _paisa(mine[name]) == _paisa(broker[name]), (key, name)
        marked = Decimal(mine["value"]) + mine["quantity"] * _exact(broker["last_price"])
        assert _paisa(marked) == _paisa(broker["pnl"]), key

    pnl = api.get("/api/v1/pnl", params={"account_id": account, "from": day, "to": day})
    assert pnl.status_code == 200, pnl.text
    (line,) = pnl.json()["items"]
    notes = kite.get_virtual_contract_note([_note_params(order) for order in orders])
    expected: defaultdict[str, Decimal] = defaultdict(Decimal)
    for note in notes:
        charges = note["charges"]
        for theirs_name, our_name in CHARGE_NAMES.items():
            expected[our_name] += _exact(charges[theirs_name])
        expected["gst"] += _exact(charges["gst"]["total"])
    for name, amount in expected.items():
        assert _paisa(line["charges"][name]) == _paisa(amount), name
    assert Decimal(line["charges"]["dp"]) == 0  # no delivery sale today


def _positions(api: httpx.Client, account: str, day: str) -> dict[tuple[str, str, str], Any]:
    answer = api.get("/api/v1/positions", params={"account_id": account, "day": day})
    assert answer.status_code == 200, answer.text
    return {
        (p["net"]["exchange"], p["net"]["tradingsymbol"], p["net"]["product"]): p["net"]
        for p in answer.json()
    }


def _note_params(order: dict[str, Any]) -> dict[str, Any]:
    return {
        "order_id": order["broker_order_id"],
        "exchange": order["exchange"],
        "tradingsymbol": order["tradingsymbol"],
        "transaction_type": order["transaction_type"],
        "variety": "regular",
        "product": order["product"],
        "order_type": order["order_type"],
        "quantity": order["filled_quantity"],
        "average_price": float(order["average_price"]),
    }


def _exact(value: object) -> Decimal:
    return Decimal(str(value))


def _paisa(value: object) -> Decimal:
    return _exact(value).quantize(PAISA)
